//! The one HTTP client every Patchbay request to a provider goes through.
//!
//! It is built once ([`HttpClient::new`]) and shared: the rustls crypto
//! provider, the root store and its verifier are made once, along with the
//! timeouts and the body cap. Requests go through a [`Session`], which does
//! each step itself rather than through a general-purpose client, because
//! the connection test must report them truthfully and the egress policy must
//! decide every address that is connected to:
//!
//! 1. **URL policy** — [`policy::judge_url`] (no I/O).
//! 2. **DNS** — [`policy::judge_url_resolved`] with the injected [`Lookup`]: it
//!    judges *every* address of the answer, and one forbidden address denies
//!    the URL. IP-literal hosts never reach the lookup.
//! 3. **TCP connect** — only to the addresses step 2 judged, in order, each
//!    bounded by the connect timeout. Connecting to exactly what was checked
//!    is what defeats DNS rebinding: there is no second resolution.
//! 4. **TLS** — tokio-rustls with the host name as SNI, the webpki (Mozilla)
//!    roots, and per provider an optional trusted certificate fingerprint
//!    for self-signed local servers (see [`FingerprintVerifier`]). The
//!    presented certificate's SHA-256 is always recorded, so a TLS failure
//!    can offer "Trust this certificate for this provider".
//! 5. **HTTP/1.1** — hyper's connection-level client over that stream.
//!
//! Decisions:
//!
//! - **Proxies**: system proxy variables (`HTTPS_PROXY`, `ALL_PROXY`, …) are
//!   never read: a proxy resolves names itself and would bypass step 2. A
//!   provider may set its own proxy ([`Target::proxy`]); then, unless the
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
//!   rules. A proxy that refuses the connection, asks for credentials (407)
//!   or refuses the tunnel is a `proxy` failure. Proxy credentials are not
//!   supported.
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
//!   request future ([`Connection::drive`]), so dropping or aborting that
//!   future closes the socket at once; an optional `CancellationToken` ends a
//!   session with a `cancelled` failure instead.
//! - **No cookies**, no compression, user agent `Patchbay/<version>`.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use patchbay_core::{ApiKey, NetworkAllowance};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use url::{Host, Url};

use crate::discovery::{self, DiscoveredModel, DiscoveryError};
use crate::error::{self, NetError, RedirectProblem, Resource, Secrets};
use crate::policy::{self, Lookup};
use crate::probe::Target;

/// Redirect hops followed before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// A `Location` shown to the user is cut to this many characters.
const LOCATION_LIMIT: usize = 200;

/// A proxy's answer to `CONNECT` longer than this is not a proxy's answer.
const CONNECT_HEAD_LIMIT: usize = 16 * 1024;

/// Headers the client sets itself (or that frame the message). Core's
/// validation already refuses them as custom headers; the client refuses
/// them again because a config file can be edited by hand.
const RESERVED_HEADERS: [&str; 9] = [
    "authorization",
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "accept",
    "cookie",
];

/// The stages of a request, in order. Serialised in snake_case; shown to
/// people through `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    UrlPolicy,
    Dns,
    TcpConnect,
    Tls,
    Models,
    Chat,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::UrlPolicy,
        Stage::Dns,
        Stage::TcpConnect,
        Stage::Tls,
        Stage::Models,
        Stage::Chat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UrlPolicy => "url_policy",
            Self::Dns => "dns",
            Self::TcpConnect => "tcp_connect",
            Self::Tls => "tls",
            Self::Models => "models",
            Self::Chat => "chat",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::UrlPolicy => "URL policy",
            Self::Dns => "DNS",
            Self::TcpConnect => "TCP connect",
            Self::Tls => "TLS",
            Self::Models => "model list",
            Self::Chat => "chat",
        })
    }
}

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
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            overall_timeout: Duration::from_secs(20),
            body_limit: 16 * 1024 * 1024,
            user_agent: format!("Patchbay/{}", env!("CARGO_PKG_VERSION")),
            extra_root_certificates: Vec::new(),
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
}

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
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.shared.options
    }

    /// A session for requests to one target. `cancel` ends it early with a
    /// `cancelled` failure.
    pub(crate) fn session<'a>(
        &'a self,
        target: &'a Target,
        lookup: &'a dyn Lookup,
        cancel: Option<CancellationToken>,
    ) -> Session<'a> {
        let timeout = target
            .timeout
            .unwrap_or(self.shared.options.overall_timeout);
        let mut secrets: Vec<&ApiKey> = Vec::new();
        if let Some(key) = &target.api_key {
            secrets.push(key);
        }
        secrets.extend(target.headers.iter().map(|(_name, value)| value));
        Session {
            client: self,
            target,
            lookup,
            cancel,
            secrets: Secrets::new(secrets),
            timeout,
            deadline: Instant::now() + timeout,
            connection: None,
            certificate_sha256: None,
            origin_kept: true,
            redirects: Vec::new(),
        }
    }

    /// The rustls configuration for one connection: the shared verifier
    /// wrapped so that it records the presented certificate and accepts the
    /// provider's trusted fingerprint.
    fn tls_config(
        &self,
        trusted: Option<[u8; 32]>,
        presented: Arc<Mutex<Option<String>>>,
    ) -> Result<Arc<ClientConfig>, NetError> {
        let verifier = FingerprintVerifier {
            inner: self.shared.verifier.clone(),
            trusted,
            presented,
        };
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
}

/// Verifies normally, except that a leaf whose SHA-256 equals the provider's
/// trusted fingerprint is accepted as is (the user compared and chose to
/// trust exactly that certificate, for that provider only). Records the
/// presented leaf's fingerprint either way.
#[derive(Debug)]
struct FingerprintVerifier {
    inner: Arc<WebPkiServerVerifier>,
    trusted: Option<[u8; 32]>,
    presented: Arc<Mutex<Option<String>>>,
}

impl ServerCertVerifier for FingerprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        match self.presented.lock() {
            Ok(mut slot) => *slot = Some(hex::encode(fingerprint)),
            Err(_poisoned) => {
                tracing::warn!("certificate fingerprint slot poisoned; the report will lack it")
            }
        }
        if self.trusted == Some(fingerprint) {
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Parses a stored fingerprint: 64 hex digits, separators (`:`, spaces) and
/// case ignored.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    if digits.len() != 64
        || text.chars().any(|character| {
            !(character.is_ascii_hexdigit() || character == ':' || character.is_whitespace())
        })
    {
        return None;
    }
    let bytes = hex::decode(digits.to_ascii_lowercase()).ok()?;
    bytes.try_into().ok()
}

/// A URL as shown to a person: no userinfo, query or fragment.
pub(crate) use patchbay_core::egress::display_form as display_url;

/// Where a connection goes, after the policy looked at the URL.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    url: Url,
    /// The host as written in the URL (a name, or an address without
    /// brackets), for SNI and the lookup.
    host: String,
    port: u16,
    https: bool,
    /// Every address a connection may use; empty until resolved.
    addresses: Vec<IpAddr>,
    literal: bool,
    /// The provider's proxy, when this destination is reached through it:
    /// then the connection goes to the proxy's (checked) addresses and this
    /// destination's own `addresses` stay empty (the proxy resolves it).
    proxy: Option<Box<Destination>>,
}

impl Destination {
    pub(crate) fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host the connection goes to (the proxy, when there is
    /// one) is an IP literal, so no lookup is needed.
    pub(crate) fn is_literal(&self) -> bool {
        self.hop().literal
    }

    /// The DNS stage's sentence when no lookup is needed.
    pub(crate) fn literal_detail(&self) -> String {
        match &self.proxy {
            Some(proxy) => format!(
                "the proxy {} is an IP address; no lookup needed ({} is resolved by the proxy)",
                proxy.authority(),
                self.host
            ),
            None => format!("{} is an IP address; no lookup needed", self.host),
        }
    }

    /// Where the TCP connection goes: the proxy, or the destination itself.
    fn hop(&self) -> &Destination {
        self.proxy.as_deref().unwrap_or(self)
    }

    /// `host:port` as written in a `CONNECT` line or shown to a person
    /// (IPv6 in brackets).
    fn authority(&self) -> String {
        format!(
            "{}:{}",
            self.url.host_str().unwrap_or(&self.host),
            self.port
        )
    }
}

/// Loopback destinations never go through a proxy: 127/8, `::1`,
/// `localhost` and `*.localhost`.
fn is_loopback_destination(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// The byte stream under HTTP: plain TCP or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

type Driver = http1::Connection<TokioIo<Box<dyn Stream>>, Full<Bytes>>;

/// An open HTTP/1.1 connection to one origin.
pub(crate) struct Connection {
    origin: url::Origin,
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Pin<Box<Driver>>,
    finished: bool,
    peer: SocketAddr,
    /// Requests go to an http proxy for an http target: absolute-form
    /// request targets (`GET http://host/v1/models`).
    absolute_form: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Connection")
            .field("peer", &self.peer)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn usable_for(&self, origin: &url::Origin) -> bool {
        !self.finished && !self.sender.is_closed() && &self.origin == origin
    }

    /// Runs `work` while driving the connection, in this task: no spawned
    /// driver can outlive a cancelled request.
    async fn drive<F: Future>(
        driver: &mut Pin<Box<Driver>>,
        finished: &mut bool,
        work: F,
    ) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return output,
                ended = driver.as_mut(), if !*finished => {
                    *finished = true;
                    if let Err(error) = ended {
                        tracing::debug!(%error, "provider connection ended with an error");
                    }
                }
            }
        }
    }
}

/// How much of a response body to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// All of it (up to the cap).
    Whole,
    /// For a 2xx `text/event-stream`: up to the first `data:` event, then
    /// stop (the chat probe's time to first token).
    FirstEvent,
}

/// A response, read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body, or for [`ReadMode::FirstEvent`] the first event's data.
    pub(crate) body: Bytes,
    /// When the response headers arrived.
    pub(crate) headers_at: Instant,
    /// When the first server-sent event arrived.
    pub(crate) first_event_at: Option<Instant>,
    /// The URL that answered (after redirects).
    pub(crate) url: Url,
}

impl Reply {
    pub(crate) fn content_type(&self) -> Option<String> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(100).collect())
    }

    pub(crate) fn is_event_stream(&self) -> bool {
        self.content_type()
            .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"))
    }

    /// HTML by content type or by its first byte.
    pub(crate) fn looks_like_html(&self) -> bool {
        let by_type = self.content_type().is_some_and(|kind| {
            let lower = kind.to_ascii_lowercase();
            lower.starts_with("text/html") || lower.starts_with("application/xhtml")
        });
        by_type || self.body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'<')
    }
}

/// Requests to one [`Target`]: the policy, the pinned connection, redirects,
/// redaction and the per-request deadline.
pub(crate) struct Session<'a> {
    client: &'a HttpClient,
    target: &'a Target,
    lookup: &'a dyn Lookup,
    cancel: Option<CancellationToken>,
    secrets: Secrets<'a>,
    timeout: Duration,
    deadline: Instant,
    connection: Option<Connection>,
    certificate_sha256: Option<String>,
    /// False once a redirect left the base URL's origin: credentials are
    /// not sent again in this session.
    origin_kept: bool,
    /// Where redirects went, for the report.
    redirects: Vec<String>,
}

impl fmt::Debug for Session<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Session")
            .field("target", &self.target.base_url.as_str())
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    pub(crate) fn secrets(&self) -> &Secrets<'a> {
        &self.secrets
    }

    pub(crate) fn certificate_sha256(&self) -> Option<&str> {
        self.certificate_sha256.as_deref()
    }

    pub(crate) fn redirects(&self) -> &[String] {
        &self.redirects
    }

    /// Starts the clock for a new request (the chat probe gets its own).
    pub(crate) fn restart_deadline(&mut self) {
        self.deadline = Instant::now() + self.timeout;
    }

    /// Runs one step under the session's deadline (and `cap`, if shorter)
    /// and its cancellation token. A timeout names `stage`.
    async fn bounded<T>(
        &self,
        stage: Stage,
        cap: Option<Duration>,
        work: impl Future<Output = Result<T, NetError>>,
    ) -> Result<T, NetError> {
        let now = Instant::now();
        let (deadline, limit) = match cap {
            Some(cap) if now + cap < self.deadline => (now + cap, cap),
            _ => (self.deadline, self.timeout),
        };
        let timed = tokio::time::timeout_at(deadline.into(), work);
        let outcome = match &self.cancel {
            Some(token) => tokio::select! {
                biased;
                () = token.cancelled() => return Err(NetError::Cancelled),
                outcome = timed => outcome,
            },
            None => timed.await,
        };
        match outcome {
            Ok(result) => result,
            Err(_elapsed) => Err(NetError::Timeout {
                stage,
                after: limit,
            }),
        }
    }

    /// Step 1: the policy without DNS. With a provider proxy (and a
    /// destination that is not loopback) the proxy's URL is judged too, and
    /// the target's name is left to the proxy.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(Destination, String), NetError> {
        let verdict = policy::judge_url(url.as_str(), self.target.network);
        if !verdict.allowed {
            return Err(NetError::PolicyDenied {
                reason: verdict.reason.as_str().to_owned(),
                message: verdict.message,
            });
        }
        let (host, literal) = match url.host() {
            Some(Host::Domain(name)) => (name.to_owned(), false),
            Some(Host::Ipv4(address)) => (address.to_string(), true),
            Some(Host::Ipv6(address)) => (address.to_string(), true),
            None => {
                return Err(NetError::PolicyDenied {
                    reason: "no_host".to_owned(),
                    message: "The URL has no host.".to_owned(),
                })
            }
        };
        let https = url.scheme() == "https";
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let mut destination = Destination {
            url: url.clone(),
            host,
            port,
            https,
            addresses: if verdict.resolved {
                verdict.addresses
            } else {
                Vec::new()
            },
            literal,
            proxy: None,
        };
        let mut message = verdict.message;
        let proxy_url = self
            .target
            .proxy
            .as_ref()
            .filter(|_proxy| !is_loopback_destination(url));
        if let Some(proxy_url) = proxy_url {
            let proxy = self.check_proxy(proxy_url, https)?;
            let shown = proxy.authority();
            message = if literal {
                format!("{message} Requests go through the proxy {shown}.")
            } else {
                format!(
                    "{} passes every check that needs no DNS; it is resolved by the proxy {shown}, so its addresses cannot be checked (the proxy's are).",
                    destination.host.trim_end_matches('.')
                )
            };
            destination.addresses = Vec::new();
            destination.proxy = Some(Box::new(proxy));
        }
        Ok((destination, message))
    }

    /// The proxy as a destination, judged without DNS under the provider's
    /// allowance. Judged as https when the traffic through it is TLS (an
    /// https target's tunnel, or an https proxy): the proxy then never sees
    /// plain text, so an http proxy on the internet is acceptable for it.
    fn check_proxy(&self, proxy_url: &Url, target_https: bool) -> Result<Destination, NetError> {
        let tls_to_proxy = proxy_url.scheme() == "https";
        let scheme = if target_https || tls_to_proxy {
            "https"
        } else {
            "http"
        };
        let host_text = proxy_url.host_str().unwrap_or("");
        let port = proxy_url
            .port_or_known_default()
            .unwrap_or(if tls_to_proxy { 443 } else { 80 });
        let shown = format!("{host_text}:{port}");
        let invalid = || NetError::Proxy {
            proxy: shown.clone(),
            detail: "its URL is not usable".to_owned(),
            status: None,
        };
        let judged = Url::parse(&format!("{scheme}://{host_text}:{port}/"))
            .map_err(|_unparsable| invalid())?;
        let verdict = policy::judge_url(judged.as_str(), self.target.network);
        if !verdict.allowed {
            return Err(NetError::PolicyDenied {
                reason: verdict.reason.as_str().to_owned(),
                message: format!("The proxy {shown} is refused: {}", verdict.message),
            });
        }
        let (host, literal) = match judged.host() {
            Some(Host::Domain(name)) => (name.to_owned(), false),
            Some(Host::Ipv4(address)) => (address.to_string(), true),
            Some(Host::Ipv6(address)) => (address.to_string(), true),
            None => return Err(invalid()),
        };
        Ok(Destination {
            url: judged,
            host,
            port,
            https: tls_to_proxy,
            addresses: if verdict.resolved {
                verdict.addresses
            } else {
                Vec::new()
            },
            literal,
            proxy: None,
        })
    }

    /// Step 2: resolve (names only) and judge every address — of the proxy,
    /// when the destination is reached through one.
    pub(crate) async fn resolve(&self, destination: &mut Destination) -> Result<String, NetError> {
        let target_host = destination.host.clone();
        if let Some(proxy) = destination.proxy.as_deref_mut() {
            let shown = proxy.authority();
            return match self.resolve_hop(proxy).await {
                Ok(detail) => Ok(format!(
                    "proxy {detail} ({target_host} is resolved by the proxy {shown})"
                )),
                Err(NetError::PolicyDenied { reason, message }) => Err(NetError::PolicyDenied {
                    reason,
                    message: format!("The proxy {shown} is refused: {message}"),
                }),
                Err(other) => Err(other),
            };
        }
        self.resolve_hop(destination).await
    }

    async fn resolve_hop(&self, destination: &mut Destination) -> Result<String, NetError> {
        if destination.literal {
            return Ok(format!(
                "{} is an IP address; no lookup needed",
                destination.host
            ));
        }
        let connect_timeout = self.client.options().connect_timeout;
        let network: NetworkAllowance = self.target.network;
        let raw = destination.url.as_str().to_owned();
        let verdict = self
            .bounded(Stage::Dns, Some(connect_timeout), async {
                Ok(policy::judge_url_resolved(&raw, network, self.lookup).await)
            })
            .await?;
        if !verdict.allowed {
            return Err(match verdict.reason {
                policy::Reason::DnsFailed | policy::Reason::NoAddresses => NetError::DnsFailed {
                    host: destination.host.clone(),
                    detail: dns_detail(&verdict.message, &destination.host),
                },
                reason => NetError::PolicyDenied {
                    reason: reason.as_str().to_owned(),
                    message: verdict.message,
                },
            });
        }
        destination.addresses = verdict.addresses;
        let listed: Vec<String> = destination
            .addresses
            .iter()
            .map(IpAddr::to_string)
            .collect();
        Ok(format!("{} → {}", destination.host, listed.join(", ")))
    }

    /// Step 3: connect to the first checked address that answers (the
    /// proxy's, when there is one: its failures are `proxy` failures).
    pub(crate) async fn connect_tcp(
        &self,
        destination: &Destination,
    ) -> Result<(TcpStream, SocketAddr), NetError> {
        let hop = destination.hop();
        let outcome = self.connect_hop(hop).await;
        match (&destination.proxy, outcome) {
            (Some(proxy), Err(error)) => Err(match error {
                NetError::ConnectRefused { address, .. } => NetError::Proxy {
                    proxy: proxy.authority(),
                    detail: format!("nothing is listening on {address}"),
                    status: None,
                },
                NetError::ConnectTimeout { address, after } => NetError::Proxy {
                    proxy: proxy.authority(),
                    detail: format!(
                        "{address} did not accept a connection within {} s",
                        after.as_secs_f32()
                    ),
                    status: None,
                },
                NetError::ConnectFailed { detail, .. } => NetError::Proxy {
                    proxy: proxy.authority(),
                    detail: format!("the connection failed ({detail})"),
                    status: None,
                },
                other => other,
            }),
            (_, outcome) => outcome,
        }
    }

    async fn connect_hop(
        &self,
        destination: &Destination,
    ) -> Result<(TcpStream, SocketAddr), NetError> {
        if destination.addresses.is_empty() {
            return Err(NetError::DnsFailed {
                host: destination.host.clone(),
                detail: "no checked address to connect to".to_owned(),
            });
        }
        let connect_timeout = self.client.options().connect_timeout;
        let service = self.target.display_name.clone();
        self.bounded(Stage::TcpConnect, None, async move {
            let mut last_failure = None;
            for &ip in &destination.addresses {
                let address = SocketAddr::new(ip, destination.port);
                match tokio::time::timeout(connect_timeout, TcpStream::connect(address)).await {
                    Ok(Ok(stream)) => {
                        if let Err(error) = stream.set_nodelay(true) {
                            tracing::debug!(%error, "could not disable Nagle's algorithm");
                        }
                        return Ok((stream, address));
                    }
                    Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                        last_failure = Some(NetError::ConnectRefused {
                            address,
                            service: service.clone(),
                            loopback: ip.is_loopback(),
                        });
                    }
                    Ok(Err(error)) => {
                        last_failure = Some(NetError::ConnectFailed {
                            address: address.to_string(),
                            detail: error.to_string(),
                        })
                    }
                    Err(_elapsed) => {
                        last_failure = Some(NetError::ConnectTimeout {
                            address,
                            after: connect_timeout,
                        })
                    }
                }
            }
            Err(last_failure.unwrap_or(NetError::ConnectFailed {
                address: destination.host.clone(),
                detail: "no address to try".to_owned(),
            }))
        })
        .await
    }

    /// Step 3½, with a proxy only: TLS to an https proxy, then for an https
    /// target the `CONNECT` tunnel. Returns the stream to run the target's
    /// TLS (or plain HTTP) over, and a sentence for the TCP stage when a
    /// proxy was used.
    pub(crate) async fn through_proxy(
        &self,
        destination: &Destination,
        tcp: TcpStream,
    ) -> Result<(Box<dyn Stream>, Option<String>), NetError> {
        let Some(proxy) = destination.proxy.as_deref() else {
            return Ok((Box::new(tcp), None));
        };
        let shown = proxy.authority();
        let mut stream: Box<dyn Stream> = if proxy.https {
            let presented = Arc::new(Mutex::new(None));
            match self
                .tls_over(proxy, Box::new(tcp), None, presented, Stage::TcpConnect)
                .await
            {
                Ok(tls) => Box::new(tls),
                Err(error @ (NetError::Timeout { .. } | NetError::Cancelled)) => return Err(error),
                Err(error) => {
                    return Err(NetError::Proxy {
                        proxy: shown,
                        detail: format!("the TLS connection to it failed ({error})"),
                        status: None,
                    })
                }
            }
        } else {
            Box::new(tcp)
        };
        if !destination.https {
            return Ok((
                stream,
                Some(format!(
                    "through the proxy {shown} (http: requests go to the proxy)"
                )),
            ));
        }
        let authority = destination.authority();
        let request = format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {}\r\n\r\n",
            self.client.options().user_agent
        );
        let connect_timeout = self.client.options().connect_timeout;
        let proxy_failure = |detail: String, status: Option<u16>| NetError::Proxy {
            proxy: shown.clone(),
            detail,
            status,
        };
        self.bounded(Stage::TcpConnect, Some(connect_timeout), async {
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|error| {
                    proxy_failure(
                        format!("the connection broke while asking for a tunnel ({error})"),
                        None,
                    )
                })?;
            stream.flush().await.map_err(|error| {
                proxy_failure(
                    format!("the connection broke while asking for a tunnel ({error})"),
                    None,
                )
            })?;
            let head = read_connect_head(&mut stream)
                .await
                .map_err(|detail| proxy_failure(detail, None))?;
            match connect_status(&head) {
                Some(status) if (200..300).contains(&status) => Ok(()),
                Some(407) => Err(proxy_failure(
                    "it asks for credentials (HTTP 407 Proxy Authentication Required)".to_owned(),
                    Some(407),
                )),
                Some(status) => Err(proxy_failure(
                    format!("it refused the tunnel to {authority} (HTTP {status})"),
                    Some(status),
                )),
                None => Err(proxy_failure(
                    "its answer to CONNECT is not HTTP".to_owned(),
                    None,
                )),
            }
        })
        .await?;
        Ok((
            stream,
            Some(format!("tunnel to {authority} through the proxy {shown}")),
        ))
    }

    /// Step 4 (https only): the TLS handshake, SNI = the URL's host (also
    /// through a proxy's tunnel: the proxy only relays bytes).
    pub(crate) async fn handshake_tls(
        &mut self,
        destination: &Destination,
        stream: Box<dyn Stream>,
    ) -> Result<(tokio_rustls::client::TlsStream<Box<dyn Stream>>, String), NetError> {
        let presented = Arc::new(Mutex::new(None));
        let trusted = self
            .target
            .trusted_cert_sha256
            .as_deref()
            .and_then(parse_fingerprint);
        let outcome = self
            .tls_over(destination, stream, trusted, presented.clone(), Stage::Tls)
            .await;
        let fingerprint = presented.lock().ok().and_then(|slot| slot.clone());
        if fingerprint.is_some() {
            self.certificate_sha256 = fingerprint.clone();
        }
        match outcome {
            Ok(stream) => {
                let (_io, state) = stream.get_ref();
                let version = state
                    .protocol_version()
                    .map(|version| format!("{version:?}").replace('_', "."))
                    .unwrap_or_else(|| "TLS".to_owned());
                let pinned = trusted.is_some() && trusted.map(hex::encode) == fingerprint;
                let how = if pinned {
                    "certificate trusted by its fingerprint"
                } else {
                    "certificate verified"
                };
                Ok((stream, format!("{version}, {how}")))
            }
            Err(NetError::Tls { host, detail, .. }) => Err(NetError::Tls {
                host,
                detail,
                certificate_sha256: fingerprint,
            }),
            Err(NetError::TlsUntrusted { host, detail, .. }) => Err(NetError::TlsUntrusted {
                host,
                detail,
                certificate_sha256: fingerprint,
            }),
            Err(other) => Err(other),
        }
    }

    /// A TLS client handshake with `destination`'s host as SNI over
    /// `stream`, bounded by the connect timeout (a timeout names `stage`).
    async fn tls_over(
        &self,
        destination: &Destination,
        stream: Box<dyn Stream>,
        trusted: Option<[u8; 32]>,
        presented: Arc<Mutex<Option<String>>>,
        stage: Stage,
    ) -> Result<tokio_rustls::client::TlsStream<Box<dyn Stream>>, NetError> {
        let config = self.client.tls_config(trusted, presented)?;
        let server_name = match destination.url.host() {
            Some(Host::Ipv4(address)) => ServerName::IpAddress(IpAddr::V4(address).into()),
            Some(Host::Ipv6(address)) => ServerName::IpAddress(IpAddr::V6(address).into()),
            _ => ServerName::try_from(destination.host.trim_end_matches('.').to_owned()).map_err(
                |error| NetError::Tls {
                    host: destination.host.clone(),
                    detail: format!("the host name cannot be used for TLS ({error})"),
                    certificate_sha256: None,
                },
            )?,
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let connect_timeout = self.client.options().connect_timeout;
        self.bounded(stage, Some(connect_timeout), async {
            connector
                .connect(server_name, stream)
                .await
                .map_err(|error| tls_failure(&destination.host, &error, None))
        })
        .await
    }

    /// Step 5: HTTP/1.1 over the stream; the session keeps the connection.
    pub(crate) async fn attach(
        &mut self,
        destination: &Destination,
        stream: Box<dyn Stream>,
        peer: SocketAddr,
    ) -> Result<(), NetError> {
        let stage = Stage::Models;
        let (sender, driver) = self
            .bounded(stage, None, async {
                http1::Builder::new()
                    .handshake(TokioIo::new(stream))
                    .await
                    .map_err(|error| NetError::BadResponse {
                        detail: format!("the HTTP connection could not start ({error})"),
                    })
            })
            .await?;
        self.connection = Some(Connection {
            origin: destination.url.origin(),
            sender,
            driver: Box::pin(driver),
            finished: false,
            peer,
            absolute_form: destination.proxy.is_some() && !destination.https,
        });
        Ok(())
    }

    /// Steps 1–5 for a URL with no usable connection yet (the first request
    /// of `fetch_models`, a redirect hop, a reconnect).
    async fn open(&mut self, url: &Url) -> Result<(), NetError> {
        let (mut destination, _) = self.check_url(url)?;
        self.resolve(&mut destination).await?;
        let (tcp, peer) = self.connect_tcp(&destination).await?;
        let (stream, _) = self.through_proxy(&destination, tcp).await?;
        let stream: Box<dyn Stream> = if destination.https {
            let (tls, _) = self.handshake_tls(&destination, stream).await?;
            Box::new(tls)
        } else {
            stream
        };
        self.attach(&destination, stream, peer).await
    }

    /// `GET url`, following redirects.
    pub(crate) async fn get(&mut self, url: &Url, resource: Resource) -> Result<Reply, NetError> {
        self.send(Method::GET, url, None, resource, ReadMode::Whole)
            .await
    }

    /// One request and its redirects. Non-2xx statuses are returned as
    /// replies; the caller classifies them.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        url: &Url,
        body: Option<Bytes>,
        resource: Resource,
        mode: ReadMode,
    ) -> Result<Reply, NetError> {
        let stage = match resource {
            Resource::Models => Stage::Models,
            Resource::Chat => Stage::Chat,
        };
        let base_origin = self.target.base_url.origin();
        let mut current = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            if current.origin() != base_origin {
                self.origin_kept = false;
            }
            let reply = match self
                .send_once(&method, &current, body.clone(), stage, mode)
                .await
            {
                Ok(reply) => reply,
                Err(NetError::PolicyDenied { reason, message }) if hop > 0 => {
                    let shown = display_url(&current);
                    return Err(NetError::PolicyDenied {
                        reason,
                        message: format!(
                            "The endpoint redirected to {shown}, which Patchbay refuses: {message}"
                        ),
                    });
                }
                Err(other) => return Err(other),
            };
            if !is_redirect(reply.status) {
                return Ok(reply);
            }
            let location = reply
                .headers
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| current.join(value).ok());
            let Some(next) = location else {
                return Err(NetError::Redirect {
                    location: None,
                    problem: RedirectProblem::NoLocation,
                });
            };
            let shown = error::sanitize_text(&display_url(&next), &self.secrets, LOCATION_LIMIT);
            if method == Method::POST && matches!(reply.status.as_u16(), 301..=303) {
                return Err(NetError::Redirect {
                    location: Some(shown),
                    problem: RedirectProblem::ChangesMethod,
                });
            }
            if hop == MAX_REDIRECTS {
                return Err(NetError::Redirect {
                    location: Some(shown),
                    problem: RedirectProblem::TooMany,
                });
            }
            tracing::debug!(to = %shown, "following a redirect");
            self.redirects.push(shown);
            current = next;
        }
        Err(NetError::Redirect {
            location: None,
            problem: RedirectProblem::TooMany,
        })
    }

    async fn send_once(
        &mut self,
        method: &Method,
        url: &Url,
        body: Option<Bytes>,
        stage: Stage,
        mode: ReadMode,
    ) -> Result<Reply, NetError> {
        let origin = url.origin();
        let reused = self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.usable_for(&origin));
        if !reused {
            self.connection = None;
            self.open(url).await?;
        }
        let absolute_form = self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.absolute_form);
        let request = self.build_request(method, url, body, absolute_form)?;
        match self.exchange(request, url, stage, mode).await {
            Ok(reply) => Ok(reply),
            // A kept-alive connection the server closed while idle: the
            // request was never written, so sending it on a fresh connection
            // (through the full policy again) is safe.
            Err(Attempt::NotSent(request)) if reused => {
                tracing::debug!("the kept-alive connection was closed; reconnecting");
                self.open(url).await?;
                match self.exchange(*request, url, stage, mode).await {
                    Ok(reply) => Ok(reply),
                    Err(Attempt::Failed(error)) => Err(error),
                    Err(Attempt::NotSent(_)) => Err(NetError::BadResponse {
                        detail: "the server closed the connection before the request was sent"
                            .to_owned(),
                    }),
                }
            }
            Err(Attempt::NotSent(_)) => Err(NetError::BadResponse {
                detail: "the server closed the connection before the request was sent".to_owned(),
            }),
            Err(Attempt::Failed(error)) => Err(error),
        }
    }

    /// One request on the current connection, driven to a read reply.
    async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        url: &Url,
        stage: Stage,
        mode: ReadMode,
    ) -> Result<Reply, Attempt> {
        let limit = self.client.options().body_limit;
        let (deadline, timeout, cancel) = (self.deadline, self.timeout, self.cancel.clone());
        let resource = match stage {
            Stage::Chat => Resource::Chat,
            _ => Resource::Models,
        };
        let Some(connection) = self.connection.as_mut() else {
            return Err(Attempt::NotSent(Box::new(request)));
        };
        let Connection {
            sender,
            driver,
            finished,
            ..
        } = connection;
        let exchange = Connection::drive(driver, finished, async {
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(mut failure) => {
                    return Err(match failure.take_message() {
                        Some(unsent) => Attempt::NotSent(Box::new(unsent)),
                        None => Attempt::Failed(exchange_failure(failure.error(), resource)),
                    });
                }
            };
            let headers_at = Instant::now();
            let (parts, incoming) = response.into_parts();
            let event_stream = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"));
            let read = if mode == ReadMode::FirstEvent && parts.status.is_success() && event_stream
            {
                read_first_event(incoming, limit).await
            } else {
                read_capped(incoming, limit).await.map(|body| (body, None))
            };
            let (body, first_event_at) = read.map_err(Attempt::Failed)?;
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
                headers_at,
                first_event_at,
                url: url.clone(),
            })
        });
        let outcome = bounded_exchange(deadline, timeout, cancel.as_ref(), stage, exchange).await;
        let closing = outcome.as_ref().map_or(true, |reply| {
            reply
                .headers
                .get(header::CONNECTION)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.eq_ignore_ascii_case("close"))
        });
        // A stream read only up to its first event cannot carry another
        // request, and neither can a connection the server is closing.
        if mode == ReadMode::FirstEvent || closing {
            self.connection = None;
        }
        outcome
    }

    fn build_request(
        &self,
        method: &Method,
        url: &Url,
        body: Option<Bytes>,
        absolute_form: bool,
    ) -> Result<Request<Full<Bytes>>, NetError> {
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        if absolute_form {
            // RFC 9112 §3.2.2: a request to a proxy names the whole URL.
            let port = url
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default();
            path = format!(
                "{}://{}{port}{path}",
                url.scheme(),
                url.host_str().unwrap_or("")
            );
        }
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_owned(),
        };
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, host)
            .header(
                header::USER_AGENT,
                self.client.options().user_agent.as_str(),
            );
        let json = body.is_some();
        builder = builder.header(
            header::ACCEPT,
            if json {
                "text/event-stream, application/json"
            } else {
                "application/json"
            },
        );
        if json {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let mut request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|error| NetError::InvalidRequest {
                detail: format!("the request could not be built ({error})"),
            })?;
        if self.origin_kept {
            let headers = request.headers_mut();
            for (name, value) in &self.target.headers {
                if RESERVED_HEADERS
                    .iter()
                    .any(|reserved| reserved.eq_ignore_ascii_case(name))
                {
                    return Err(NetError::InvalidRequest {
                        detail: format!(
                            "`{name}` is set by Patchbay and cannot be a custom header"
                        ),
                    });
                }
                let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_invalid| {
                    NetError::InvalidRequest {
                        detail: format!("`{name}` is not a valid header name"),
                    }
                })?;
                let mut header_value = HeaderValue::from_str(value.expose()).map_err(|_invalid| NetError::InvalidRequest { detail: format!("the value of header `{name}` contains characters a header cannot carry") })?;
                header_value.set_sensitive(true);
                headers.insert(header_name, header_value);
            }
            if let Some(key) = &self.target.api_key {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                    .map_err(|_invalid| NetError::InvalidRequest {
                        detail: "the API key contains characters a header cannot carry".to_owned(),
                    })?;
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
        }
        Ok(request)
    }

    /// Parses a successful `/models` reply into models, classifying any
    /// failure (status, HTML, envelope, shape).
    pub(crate) fn models_from(&self, reply: &Reply) -> Result<Vec<DiscoveredModel>, NetError> {
        self.check_status(reply, Resource::Models)?;
        if reply.looks_like_html() {
            return Err(NetError::NotJson {
                resource: Resource::Models,
                content_type: reply.content_type(),
                web_page: true,
            });
        }
        discovery::parse_models(&reply.body).map_err(|error| self.discovery_failure(reply, error))
    }

    pub(crate) fn discovery_failure(&self, reply: &Reply, error: DiscoveryError) -> NetError {
        match error {
            DiscoveryError::Html => NetError::NotJson {
                resource: Resource::Models,
                content_type: reply.content_type(),
                web_page: true,
            },
            DiscoveryError::NotJson { .. } => NetError::NotJson {
                resource: Resource::Models,
                content_type: reply.content_type(),
                web_page: false,
            },
            DiscoveryError::ErrorEnvelope { provider_text } => NetError::ErrorEnvelope {
                status: reply.status.as_u16(),
                provider_message: provider_text
                    .map(|text| error::sanitize_text(&text, &self.secrets, 300))
                    .filter(|text| !text.is_empty()),
            },
            other => NetError::BadResponse {
                detail: other.to_string(),
            },
        }
    }

    /// Maps a non-2xx status to its failure.
    pub(crate) fn check_status(&self, reply: &Reply, resource: Resource) -> Result<(), NetError> {
        let status = reply.status;
        if status.is_success() {
            return Ok(());
        }
        let provider_message = error::provider_message(&reply.body, &self.secrets);
        let url = display_url(&reply.url);
        Err(match status.as_u16() {
            407 if self.target.proxy.is_some() => NetError::Proxy {
                proxy: self
                    .target
                    .proxy
                    .as_ref()
                    .map(|proxy| {
                        format!(
                            "{}:{}",
                            proxy.host_str().unwrap_or(""),
                            proxy.port_or_known_default().unwrap_or(80)
                        )
                    })
                    .unwrap_or_default(),
                detail: "it asks for credentials (HTTP 407 Proxy Authentication Required)"
                    .to_owned(),
                status: Some(407),
            },
            401 => NetError::Unauthorized { provider_message },
            403 => NetError::Forbidden { provider_message },
            404 => NetError::NotFound {
                resource,
                url,
                provider_message,
            },
            405 => NetError::MethodNotAllowed { resource, url },
            429 => NetError::RateLimited {
                retry_after: reply
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(|value| retry_after_text(value, &self.secrets)),
                provider_message,
            },
            500..=599 => NetError::ServerError {
                status: status.as_u16(),
                provider_message,
            },
            400..=499 => NetError::BadRequest {
                status: status.as_u16(),
                provider_message,
            },
            other => NetError::BadResponse {
                detail: format!("unexpected HTTP status {other}"),
            },
        })
    }
}

/// The exchange of one request under the request's deadline and the
/// session's cancellation token (a free function: the exchange borrows the
/// session's connection mutably).
async fn bounded_exchange<F: Future<Output = Result<Reply, Attempt>>>(
    deadline: Instant,
    timeout: Duration,
    cancel: Option<&CancellationToken>,
    stage: Stage,
    exchange: F,
) -> Result<Reply, Attempt> {
    let timed = tokio::time::timeout_at(deadline.into(), exchange);
    let outcome = match cancel {
        Some(token) => tokio::select! {
            biased;
            () = token.cancelled() => return Err(Attempt::Failed(NetError::Cancelled)),
            outcome = timed => outcome,
        },
        None => timed.await,
    };
    outcome.unwrap_or(Err(Attempt::Failed(NetError::Timeout {
        stage,
        after: timeout,
    })))
}

/// How one exchange ended when it produced no reply.
enum Attempt {
    Failed(NetError),
    /// The connection was gone before the request was written; it comes
    /// back for a retry.
    NotSent(Box<Request<Full<Bytes>>>),
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `Retry-After` is seconds or an HTTP date; shown as "N s" or the date.
fn retry_after_text(value: &str, secrets: &Secrets<'_>) -> String {
    match value.trim().parse::<u64>() {
        Ok(seconds) => format!("{seconds} s"),
        Err(_not_seconds) => error::sanitize_text(value.trim(), secrets, 64),
    }
}

fn dns_detail(policy_message: &str, host: &str) -> String {
    if policy_message.contains("no addresses") {
        return "the name has no addresses".to_owned();
    }
    // The policy's sentence is "Patchbay could not look up HOST (ERROR); …";
    // keep the resolver's own words.
    match (policy_message.find('('), policy_message.rfind(')')) {
        (Some(open), Some(close)) if close > open => policy_message[open + 1..close].to_owned(),
        _ => format!("the lookup of {host} failed"),
    }
}

fn exchange_failure(error: &hyper::Error, resource: Resource) -> NetError {
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        NetError::BadResponse {
            detail: "the server closed the connection without a complete answer".to_owned(),
        }
    } else if error.is_parse() || error.is_parse_status() {
        NetError::NotJson {
            resource,
            content_type: None,
            web_page: false,
        }
    } else {
        NetError::BadResponse {
            detail: format!("the HTTP exchange failed ({error})"),
        }
    }
}

/// Reads a body, stopping as soon as it passes `limit` bytes.
async fn read_capped(mut body: Incoming, limit: u64) -> Result<Bytes, NetError> {
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_failure(&error))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > limit {
                return Err(NetError::TooLarge { limit });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

fn body_failure(error: &hyper::Error) -> NetError {
    NetError::BadResponse {
        detail: format!("the answer broke off while being read ({error})"),
    }
}

/// Reads a server-sent event stream up to its first `data:` line that is
/// not `[DONE]`; returns that line's payload and when it arrived.
async fn read_first_event(
    mut body: Incoming,
    limit: u64,
) -> Result<(Bytes, Option<Instant>), NetError> {
    let mut buffer = BytesMut::new();
    let mut scanned = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_failure(&error))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if (buffer.len() + data.len()) as u64 > limit {
            return Err(NetError::TooLarge { limit });
        }
        buffer.extend_from_slice(&data);
        while let Some(offset) = buffer[scanned..].iter().position(|byte| *byte == b'\n') {
            let line = &buffer[scanned..scanned + offset];
            scanned += offset + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(payload) = line.strip_prefix(b"data:") {
                let payload = payload.strip_prefix(b" ").unwrap_or(payload);
                if !payload.is_empty() && payload != b"[DONE]" {
                    return Ok((Bytes::copy_from_slice(payload), Some(Instant::now())));
                }
            }
        }
    }
    Ok((buffer.freeze(), None))
}

/// Reads a proxy's answer to `CONNECT` up to the blank line, one byte at a
/// time: the bytes after it belong to the tunnel (the TLS handshake) and
/// must not be consumed here.
async fn read_connect_head(stream: &mut Box<dyn Stream>) -> Result<Vec<u8>, String> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= CONNECT_HEAD_LIMIT {
            return Err("its answer to CONNECT is too long".to_owned());
        }
        match stream.read_u8().await {
            Ok(byte) => head.push(byte),
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err("it closed the connection without answering CONNECT".to_owned())
            }
            Err(error) => {
                return Err(format!(
                    "the connection broke while waiting for it ({error})"
                ))
            }
        }
    }
    Ok(head)
}

/// The status code of `HTTP/1.x NNN …`.
fn connect_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|byte| *byte == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// Maps a failed handshake to `tls` or `tls_untrusted`.
fn tls_failure(host: &str, error: &std::io::Error, certificate_sha256: Option<String>) -> NetError {
    let inner = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let host = host.to_owned();
    let detail = match inner {
        Some(rustls::Error::InvalidCertificate(problem)) => match problem {
            CertificateError::UnknownIssuer => {
                return NetError::TlsUntrusted {
                    host,
                    detail: "self-signed or signed by an unknown authority".to_owned(),
                    certificate_sha256,
                };
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the certificate is not valid yet (check this computer's clock)".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the certificate is not issued for {host}")
            }
            CertificateError::Revoked => "the certificate was revoked".to_owned(),
            CertificateError::BadSignature => "the certificate's signature is invalid".to_owned(),
            other => format!("the certificate is not valid ({other:?})"),
        },
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => {
            "the server does not speak TLS on this port (is it plain http?)".to_owned()
        }
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server refused the handshake ({alert:?})")
        }
        Some(rustls::Error::NoCertificatesPresented) => {
            "the server presented no certificate".to_owned()
        }
        Some(other) => format!("{other}"),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_owned()
        }
        None => error.to_string(),
    };
    NetError::Tls {
        host,
        detail,
        certificate_sha256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_forms_people_paste() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&plain), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&colons), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&"ab".repeat(31)), None, "too short");
        assert_eq!(parse_fingerprint(&format!("{plain}zz")), None, "not hex");
        assert_eq!(parse_fingerprint(""), None);
    }

    #[test]
    fn display_urls_drop_queries_and_userinfo() {
        let url = Url::parse("https://user:pass@host.example:8443/v1/models?key=secret#frag");
        assert_eq!(
            url.map(|url| display_url(&url)).as_deref(),
            Ok("https://host.example:8443/v1/models")
        );
    }
}
