//! The validated domain types. Everything here has passed
//! [`crate::validation`]; the on-disk DTOs live in [`crate::config`] and the
//! form drafts in [`crate::validation`].
//!
//! None of these types holds a secret: keys and secret header values live in
//! the keychain, and only their masked hints are kept here.

use time::OffsetDateTime;
use url::Url;

pub use patchbay_protocol::config::{
    Api, Auth, CustomHeader, LastTest, ModelEntry, ModelMetadata, NetworkAllowance, UntestedChange,
    UntestedSince,
};

pub use patchbay_protocol::config::Catalog;

pub use patchbay_protocol::capabilities::{
    capabilities_of, Capabilities, Capability, Known, ProbeOutcome, ProbedCapabilities, Source,
    PROBED,
};

use crate::id::ProviderId;

/// A validated provider. Constructed only through [`crate::validation`] or by
/// loading the config file (which validates).
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub id: ProviderId,
    pub label: String,
    /// The preset it was created from (`openrouter`, `ollama`, `custom`, …).
    pub preset: Option<String>,
    /// Normalised: no trailing slash, no query/fragment/userinfo.
    pub base_url: Url,
    pub auth: Auth,
    /// Masked key hint (`sk-or-…9f3a`) when a key is stored.
    pub key_hint: Option<String>,
    /// The origin (`https://host[:port]`) the stored secrets were given
    /// for, as a copy for display; the keychain item's own record decides
    /// (see [`crate::store::Destination`]).
    pub key_origin: Option<String>,
    /// At least one; the first is the default.
    pub models: Vec<ModelEntry>,
    pub enabled: bool,
    pub network: NetworkAllowance,
    pub headers: Vec<CustomHeader>,
    /// Overall request timeout for this provider (slow local models).
    pub timeout_secs: Option<u32>,
    /// SHA-256 fingerprint (lowercase hex, no separators) of a self-signed
    /// certificate the user chose to trust for this provider only.
    pub trusted_cert_sha256: Option<String>,
    /// An http(s) proxy for this provider only; loopback destinations never
    /// use it. See [`crate::validation::validate_proxy`].
    pub proxy: Option<Url>,
    /// The proxy's user name (HTTP Basic). `Some` means a password is stored
    /// in the keychain ([`crate::keychain::proxy_account`]), bound to the
    /// proxy's origin.
    pub proxy_username: Option<String>,
    /// CA certificates trusted for this provider (checked PEM, see
    /// [`crate::certificates`]).
    pub ca_certificate: Option<String>,
    /// The API the provider speaks.
    pub api: Api,
    /// Azure's classic deployments API version; `None`: the v1 API (or not
    /// Azure).
    pub api_version: Option<String>,
    pub last_test: Option<LastTest>,
    /// Why there is no `last_test`: the key or the connection changed since
    /// the last test (cleared by the next one).
    pub untested_since: Option<UntestedSince>,
    /// The model list discovery last fetched (kept, marked stale, when a
    /// refresh fails).
    pub catalog: Option<Catalog>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Provider {
    /// The first model offered to host apps (hidden ones are skipped; the
    /// first model when a hand edit hid them all).
    pub fn default_model(&self) -> &str {
        self.models
            .iter()
            .find(|model| !model.hidden)
            .or(self.models.first())
            .map(|model| model.id.as_str())
            .unwrap_or("")
    }
    pub fn host(&self) -> &str {
        self.base_url.host_str().unwrap_or("")
    }
}
