//! The one HTTP client every Patchbay request to a provider goes through.
//!
//! It is built once ([`HttpClient::new`]) and shared: the rustls crypto
//! provider, the root store and its verifier are made once, along with the
//! timeouts and the body cap. Requests go through a `Session` (`session.rs`), which does
//! each step itself rather than through a general-purpose client, because
//! the connection test must report them truthfully and the egress policy must
//! decide every address that is connected to:
//!
//! 1. **URL policy** — `policy::judge_url` (no I/O).
//! 2. **DNS** — [`crate::policy::judge_url_resolved`] with the injected [`crate::policy::Lookup`]: it
//!    judges *every* address of the answer, and one forbidden address denies
//!    the URL. IP-literal hosts never reach the lookup.
//! 3. **TCP connect** — only to the addresses step 2 judged, in order, each
//!    bounded by the connect timeout. Connecting to exactly what was checked
//!    is what defeats DNS rebinding: there is no second resolution.
//! 4. **TLS** — tokio-rustls with the host name as SNI. Trusted roots: the
//!    operating system's trust store (where an organisation installs its
//!    CA; read once per process with `rustls-native-certs`, which honours
//!    `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus the bundled webpki (Mozilla)
//!    roots; per provider, its own CA certificates (tried when the shared
//!    roots do not know the issuer) and an optional trusted certificate
//!    fingerprint for self-signed local servers (see `tls.rs`). The
//!    presented certificate is always recorded, so a TLS failure can name
//!    the problem (unknown issuer, self-signed, expired, wrong host), show
//!    the certificate and offer the right fix.
//! 5. **HTTP/1.1** — hyper's connection-level client over that stream.
//!
//! Decisions:
//!
//! - **Proxies**: system proxy variables (`HTTPS_PROXY`, `ALL_PROXY`, …) are
//!   never read: a proxy resolves names itself and would bypass step 2. A
//!   provider may set its own proxy ([`crate::Target::proxy`]); then, unless the
//!   destination is loopback (127/8, `::1`, `localhost`, `*.localhost`: never
//!   proxied), the *proxy's* URL goes through steps 1–2 under the provider's
//!   allowance (a proxy on this computer or the LAN needs Local/Private
//!   access like any destination; it is judged as https when the traffic
//!   through it is TLS, because the proxy then never sees plain text), the
//!   connection is pinned to the proxy's checked addresses, and the target
//!   URL is judged without DNS — its name is resolved by the proxy, which the
//!   stage details say. An https target is reached through an HTTP `CONNECT
//!   host:port` tunnel (a 2xx answer, then TLS with the target's name as SNI
//!   and the target's certificate checks); an http target gets absolute-form
//!   requests sent to the proxy. An `https://` proxy is itself reached over
//!   TLS (webpki roots, no fingerprint trust). Redirect hops follow the same
//!   rules. The proxy's user name and password, when the provider has them,
//!   go to the proxy only, as `Proxy-Authorization: Basic` on the `CONNECT`
//!   (or on each absolute-form request of an http target); the target never
//!   sees them. A proxy that refuses the connection, asks for credentials
//!   (407, explained by whether credentials were sent and which schemes it
//!   offers) or refuses the tunnel is a `proxy` failure.
//! - **Redirects** are followed for at most [`MAX_REDIRECTS`] hops. Every hop
//!   goes through steps 1–5 again (full policy, including DNS). Once a hop
//!   leaves the base URL's origin, `Authorization` and the custom headers are
//!   no longer sent, for the rest of the chain: the key is bound to the origin
//!   the user typed. A 301/302/303 answer to a POST is not followed (it would
//!   turn the chat probe into a GET) and is reported instead.
//! - **Body cap**: bodies are counted while streaming and reading stops past
//!   [`ClientOptions::body_limit`]; `Content-Length` is never trusted.
//! - **Timeouts**: DNS, TCP connect (per address) and the TLS handshake are
//!   each bounded by the connect timeout; everything of one request, redirects
//!   included, by the overall timeout (per provider, default 20 s). A timeout
//!   names the stage it hit.
//! - **Cancellation**: nothing is spawned. The connection is driven inside the
//!   request future (`session/exchange.rs`), so dropping or aborting that
//!   future closes the socket at once; an optional `CancellationToken` ends a
//!   session with a `cancelled` failure instead.
//! - **No cookies**, no compression, user agent `Patchbay/<version>`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use sha2::{Digest, Sha256};

use crate::error::NetError;
use crate::tls::{PresentedSlot, ProviderVerifier};

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// How the shared client behaves. `Default` is what the app uses.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// DNS, each TCP connect attempt and the TLS handshake (default 5 s).
    pub connect_timeout: Duration,
    /// One whole request, unless the provider sets its own (default 20 s).
    pub overall_timeout: Duration,
    /// Response bodies are cut off past this many bytes (default 16 MiB).
    pub body_limit: u64,
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// Extra trust anchors (DER certificates) besides the webpki roots, e.g.
    /// an organisation's CA.
    pub extra_root_certificates: Vec<Vec<u8>>,
    /// Also trust the operating system's trust store (default true).
    pub system_roots: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            overall_timeout: Duration::from_secs(20),
            body_limit: 16 * 1024 * 1024,
            user_agent: format!("Patchbay/{}", env!("CARGO_PKG_VERSION")),
            extra_root_certificates: Vec::new(),
            system_roots: true,
        }
    }
}

/// The shared client. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct HttpClient {
    shared: Arc<Shared>,
}

struct Shared {
    options: ClientOptions,
    crypto: Arc<rustls::crypto::CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    /// Verifiers of providers' own CA sets, by the SHA-256 of the set.
    provider_verifiers: Mutex<HashMap<[u8; 32], Arc<WebPkiServerVerifier>>>,
    system_roots: usize,
}

/// Provider CA sets kept built at most; past it the cache starts over.
const PROVIDER_VERIFIERS_KEPT: usize = 64;

impl fmt::Debug for HttpClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("HttpClient")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client. Fails only when an extra root certificate is not a
    /// usable certificate.
    pub fn new(options: ClientOptions) -> Result<Self, NetError> {
        let crypto = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut system_roots = 0;
        if options.system_roots {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "part of the system trust store could not be read");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            if ignored > 0 {
                tracing::debug!(ignored, "system trust store entries rustls cannot use");
            }
            system_roots = added;
        }
        for der in &options.extra_root_certificates {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|error| NetError::InvalidRequest {
                    detail: format!("an extra root certificate is not usable ({error})"),
                })?;
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto.clone())
            .build()
            .map_err(|error| NetError::InvalidRequest {
                detail: format!("the TLS verifier could not be built ({error})"),
            })?;
        Ok(Self {
            shared: Arc::new(Shared {
                options,
                crypto,
                verifier,
                provider_verifiers: Mutex::new(HashMap::new()),
                system_roots,
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// How many roots of the operating system's trust store are trusted
    /// (0 when it is not used or empty).
    pub fn system_roots(&self) -> usize {
        self.shared.system_roots
    }

    /// The rustls configuration for one connection: the shared verifier
    /// wrapped so that it records the presented certificate, falls back to
    /// the provider's own CA certificates and accepts its trusted
    /// fingerprint.
    pub(crate) fn tls_config(
        &self,
        trusted: Option<[u8; 32]>,
        provider_cas: &[Vec<u8>],
        presented: PresentedSlot,
    ) -> Result<Arc<ClientConfig>, NetError> {
        let provider_roots = self.provider_verifier(provider_cas)?;
        let verifier = ProviderVerifier::new(
            self.shared.verifier.clone(),
            provider_roots,
            trusted,
            presented,
        );
        let mut config = ClientConfig::builder_with_provider(self.shared.crypto.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| NetError::InvalidRequest {
                detail: format!("the TLS configuration could not be built ({error})"),
            })?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The verifier of a provider's own CA set (`None` for none), built
    /// once per set.
    fn provider_verifier(
        &self,
        cas: &[Vec<u8>],
    ) -> Result<Option<Arc<WebPkiServerVerifier>>, NetError> {
        if cas.is_empty() {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        for der in cas {
            hasher.update((der.len() as u64).to_be_bytes());
            hasher.update(der);
        }
        let key: [u8; 32] = hasher.finalize().into();
        if let Some(found) = self
            .shared
            .provider_verifiers
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned())
        {
            return Ok(Some(found));
        }
        let mut roots = RootCertStore::empty();
        for der in cas {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|error| NetError::InvalidRequest {
                    detail: format!("the provider's CA certificate is not usable ({error})"),
                })?;
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            self.shared.crypto.clone(),
        )
        .build()
        .map_err(|error| NetError::InvalidRequest {
            detail: format!("the provider's CA certificate is not usable ({error})"),
        })?;
        if let Ok(mut cache) = self.shared.provider_verifiers.lock() {
            if cache.len() >= PROVIDER_VERIFIERS_KEPT {
                cache.clear();
            }
            cache.insert(key, verifier.clone());
        }
        Ok(Some(verifier))
    }
}
