//! What a request goes to: one provider's endpoint and credentials.

use std::time::Duration;

use patchbay_core::model::Api;
use patchbay_core::model::Auth;
use patchbay_core::{ApiKey, NetworkAllowance, Provider};
use url::Url;

/// What to test: one provider's endpoint and credentials.
#[derive(Debug, Clone)]
pub struct Target {
    /// The normalised base URL (`https://api.openai.com/v1`).
    pub base_url: Url,
    pub network: NetworkAllowance,
    /// Sent as `Authorization: Bearer …`; `None` sends no `Authorization`
    /// header at all.
    pub api_key: Option<ApiKey>,
    /// Custom headers with their values (secret or not: all are treated as
    /// secrets for redaction).
    pub headers: Vec<(String, ApiKey)>,
    /// The overall timeout of one request; `None` uses the client's.
    pub timeout: Option<Duration>,
    /// A self-signed certificate's SHA-256 the user chose to trust.
    pub trusted_cert_sha256: Option<String>,
    /// The preset's name (`Ollama`), for hints like "is Ollama running?".
    pub display_name: Option<String>,
    /// The provider's own proxy (`http://proxy.corp:3128`); `None` connects
    /// directly. System proxy variables are never used. Loopback
    /// destinations never go through it. See [`crate::client`].
    pub proxy: Option<Url>,
    /// The proxy's user name and password (HTTP Basic), sent to the proxy
    /// only: on `CONNECT`, or on requests an http target sends through it.
    pub proxy_credentials: Option<(String, ApiKey)>,
    /// CA certificates (DER) trusted for this provider besides the system's
    /// and the bundled roots.
    pub ca_certificates: Vec<Vec<u8>>,
    /// The API it speaks: Azure OpenAI sends the key as `api-key` and, with
    /// `api_version`, addresses deployments (see
    /// [`patchbay_core::azure`]).
    pub api: Api,
    pub api_version: Option<String>,
}

impl Target {
    pub fn new(base_url: Url, network: NetworkAllowance) -> Self {
        Self {
            base_url,
            network,
            api_key: None,
            headers: Vec::new(),
            timeout: None,
            trusted_cert_sha256: None,
            display_name: None,
            proxy: None,
            proxy_credentials: None,
            ca_certificates: Vec::new(),
            api: Api::Openai,
            api_version: None,
        }
    }

    /// The target for a saved provider (without proxy credentials: the
    /// caller reads those from the keychain). The key is dropped when the provider
    /// has no authentication, so no `Authorization` header can be sent.
    pub fn from_provider(
        provider: &Provider,
        api_key: Option<ApiKey>,
        headers: Vec<(String, ApiKey)>,
        preset_name: Option<&str>,
    ) -> Self {
        Self {
            base_url: provider.base_url.clone(),
            network: provider.network,
            api_key: match provider.auth {
                Auth::ApiKey => api_key,
                Auth::None => None,
            },
            headers,
            timeout: provider
                .timeout_secs
                .map(|seconds| Duration::from_secs(u64::from(seconds))),
            trusted_cert_sha256: provider.trusted_cert_sha256.clone(),
            display_name: preset_name.map(str::to_owned),
            proxy: provider.proxy.clone(),
            proxy_credentials: None,
            ca_certificates: provider
                .ca_certificate
                .as_deref()
                .map(patchbay_core::certificates::stored_ca_blocks)
                .unwrap_or_default(),
            api: provider.api,
            api_version: provider.api_version.clone(),
        }
    }

    /// The header the key goes in: `api-key` (Azure), `x-api-key`
    /// (Anthropic) or `Authorization: Bearer`.
    pub fn key_header(&self) -> &'static str {
        match self.api {
            Api::Openai => "authorization",
            Api::AzureOpenai => "api-key",
            Api::Anthropic => "x-api-key",
        }
    }

    /// The URL of `path` (`models`, `chat/completions`; may carry a
    /// `?query`) for `model`: under the base URL, or for Azure's classic API
    /// under the model's deployment, with the `api-version`.
    pub fn request_url(&self, path: &str, model: Option<&str>) -> Url {
        let (path_only, query) = match path.split_once('?') {
            Some((path_only, query)) => (path_only, Some(query)),
            None => (path, None),
        };
        let mut url = match (&self.api, &self.api_version) {
            (Api::AzureOpenai, Some(version)) => {
                patchbay_core::azure::request_url(&self.base_url, path_only, model, version)
            }
            _ => patchbay_core::base_url::endpoint(&self.base_url, path_only),
        };
        if self.api == Api::Anthropic && path_only.trim_matches('/') == "models" {
            // Anthropic pages its list, 20 by default; 1000 is its maximum.
            url.set_query(Some("limit=1000"));
        }
        if let Some(query) = query {
            let joined = match url.query() {
                Some(existing) => format!("{existing}&{query}"),
                None => query.to_owned(),
            };
            url.set_query(Some(&joined));
        }
        url
    }
}
