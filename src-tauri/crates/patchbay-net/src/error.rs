//! The network boundary's one error type, [`NetError`], and what a person sees
//! of it: a machine-readable [`Kind`] (snake_case on the wire), a
//! message saying what happened, and a hint saying what to do about it.
//!
//! This module also owns the rule for provider error bodies: they are never
//! shown as they are. [`provider_message`] takes the human part of a JSON
//! error (`error.message` and the other known shapes), drops non-JSON bodies
//! entirely, redacts every token that contains a secret the request carried
//! (the API key, secret header values) and truncates. Every `provider_message`
//! field in [`NetError`] went through it, so no variant can carry a raw body.

use std::net::SocketAddr;
use std::time::Duration;

use patchbay_core::certificates::CertificateSummary;
use patchbay_core::ApiKey;
use patchbay_core::Kind;
use serde::Serialize;

use crate::stage::Stage;

/// Longest provider message we pass on, in characters. Long enough for the
/// useful sentence of an OpenAI-style error, short enough for a stage row.
const PROVIDER_MESSAGE_LIMIT: usize = 300;

/// Secrets shorter than this are redacted only where a whole token equals
/// them: a 2-character "secret" header value would otherwise blank out most
/// of a message while protecting nothing.
const CONTAINMENT_MINIMUM: usize = 6;

/// A shorter fragment of a secret than this is not treated as an echo of it.
const FRAGMENT_MINIMUM: usize = 12;

/// Which endpoint a request was for; hints differ (a missing `/models` means
/// "type model ids by hand", a missing chat endpoint means a wrong base URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Models,
    Chat,
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectProblem {
    /// More hops than the client follows.
    TooMany,
    /// A 301/302/303 answer to a POST: following it would silently turn the
    /// chat request into a GET.
    ChangesMethod,
    /// A 3xx without a usable `Location`.
    NoLocation,
}

/// A failure of the network layer. `Display` is the message for a person; it
/// never contains a secret or a raw provider body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    #[error("{message}")]
    PolicyDenied { reason: String, message: String },

    #[error("Could not resolve {host}: {detail}.")]
    DnsFailed { host: String, detail: String },

    #[error("Nothing is listening on {address}{}", service_question(.service.as_deref(), *.loopback))]
    ConnectRefused {
        address: SocketAddr,
        service: Option<String>,
        loopback: bool,
    },

    #[error("{address} did not accept a connection within {} s.", .after.as_secs_f32())]
    ConnectTimeout {
        address: SocketAddr,
        after: Duration,
    },

    #[error("Could not connect to {address}: {detail}.")]
    ConnectFailed { address: String, detail: String },

    #[error("The TLS handshake with {host} failed: {detail}.")]
    Tls {
        host: String,
        problem: TlsProblem,
        detail: String,
        certificate: Option<Box<CertificateSummary>>,
    },

    /// The chain leads to no trusted root: `problem` is `UnknownIssuer` or
    /// `SelfSigned`.
    #[error("{}", untrusted_message(.host, *.problem, .certificate.as_deref()))]
    TlsUntrusted {
        host: String,
        problem: TlsProblem,
        certificate: Option<Box<CertificateSummary>>,
    },

    #[error("No answer within {} s during the {stage} stage.", .after.as_secs_f32())]
    Timeout { stage: Stage, after: Duration },

    #[error("The key was rejected (HTTP 401){}.", provider_suffix(.provider_message))]
    Unauthorized { provider_message: Option<String> },

    /// HTTP 401 to a request that carried no key ("No authentication").
    #[error("The server asks for a key (HTTP 401), and none was sent{}.", provider_suffix(.provider_message))]
    AuthenticationRequired { provider_message: Option<String> },

    #[error("The key has no access to this endpoint or model (HTTP 403){}.", provider_suffix(.provider_message))]
    Forbidden { provider_message: Option<String> },

    #[error("{url} does not exist (HTTP 404){}.", provider_suffix(.provider_message))]
    NotFound {
        resource: Resource,
        url: String,
        provider_message: Option<String>,
    },

    #[error("{url} does not accept this request (HTTP 405).")]
    MethodNotAllowed { resource: Resource, url: String },

    #[error("Rate limited (HTTP 429){}{}.", retry_suffix(.retry_after), provider_suffix(.provider_message))]
    RateLimited {
        retry_after: Option<String>,
        provider_message: Option<String>,
    },

    #[error("The provider's server failed (HTTP {status}){}.", provider_suffix(.provider_message))]
    ServerError {
        status: u16,
        provider_message: Option<String>,
    },

    #[error("The provider refused the request (HTTP {status}){}.", provider_suffix(.provider_message))]
    BadRequest {
        status: u16,
        provider_message: Option<String>,
    },

    #[error("{}", not_json_message(*.web_page, .content_type.as_deref()))]
    NotJson {
        resource: Resource,
        content_type: Option<String>,
        web_page: bool,
    },

    #[error("The answer is not what an OpenAI-compatible API sends: {detail}.")]
    BadResponse { detail: String },

    /// `/models` answered in another API's own shape: the base URL is not
    /// the OpenAI-compatible one; `suggested` is.
    #[error("The server answered with {api}'s own model list, not an OpenAI-compatible one; its ids would not work in OpenAI-compatible requests.")]
    NativeApi {
        api: &'static str,
        suggested: String,
    },

    #[error("The server answered with an error (HTTP {status}){}.", provider_suffix(.provider_message))]
    ErrorEnvelope {
        status: u16,
        provider_message: Option<String>,
    },

    #[error("The response is larger than {} MiB; Patchbay stopped reading it.", .limit / (1024 * 1024))]
    TooLarge { limit: u64 },

    #[error("{}", redirect_message(*.problem, .location.as_deref()))]
    Redirect {
        location: Option<String>,
        problem: RedirectProblem,
    },

    #[error("The test was cancelled.")]
    Cancelled,

    #[error("The model `{model}` was not found{}{}.", close_suffix(.close_matches), provider_suffix(.provider_message))]
    ModelNotFound {
        model: String,
        close_matches: Vec<String>,
        provider_message: Option<String>,
    },

    #[error("The request could not be built: {detail}.")]
    InvalidRequest { detail: String },

    /// `proxy` is the proxy's `host:port`; `status` the HTTP status it
    /// answered with, when it answered.
    #[error("The proxy {proxy} failed: {detail}.")]
    Proxy {
        proxy: String,
        detail: String,
        status: Option<u16>,
    },

    /// The proxy answered `407 Proxy Authentication Required`. `sent`: a
    /// user name and password were sent (and refused); `schemes`: what its
    /// `Proxy-Authenticate` headers offer (`Basic`, `Negotiate`, …).
    #[error("{}", proxy_auth_message(.proxy, *.sent, .schemes))]
    ProxyAuth {
        proxy: String,
        sent: bool,
        schemes: Vec<String>,
    },
}

/// What exactly is wrong with a server's certificate (`reason` of a
/// `tls`/`tls_untrusted` failure on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsProblem {
    /// Signed by an authority neither the system nor the provider trusts.
    UnknownIssuer,
    /// Signed by itself, and not trusted.
    SelfSigned,
    Expired,
    NotYetValid,
    /// Not issued for the host name in the URL.
    WrongHost,
    Revoked,
    BadSignature,
    /// The server does not speak TLS there.
    NotTls,
    Other,
}

impl TlsProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownIssuer => "unknown_issuer",
            Self::SelfSigned => "self_signed",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongHost => "wrong_host",
            Self::Revoked => "revoked",
            Self::BadSignature => "bad_signature",
            Self::NotTls => "not_tls",
            Self::Other => "other",
        }
    }
}

fn untrusted_message(
    host: &str,
    problem: TlsProblem,
    certificate: Option<&CertificateSummary>,
) -> String {
    match (problem, certificate) {
        (TlsProblem::SelfSigned, Some(c)) => format!(
            "{host} presented a self-signed certificate (“{}”, valid until {}), which no trusted authority vouches for.",
            c.subject,
            c.valid_until()
        ),
        (_, Some(c)) => format!(
            "{host}'s certificate (“{}”) is issued by “{}”, an authority this computer does not trust.",
            c.subject, c.issuer
        ),
        (_, None) => format!(
            "{host} presented a certificate that is not signed by a trusted authority."
        ),
    }
}

fn proxy_auth_message(proxy: &str, sent: bool, schemes: &[String]) -> String {
    let basic = schemes.is_empty()
        || schemes
            .iter()
            .any(|scheme| scheme.eq_ignore_ascii_case("basic"));
    match (sent, basic) {
        (true, true) => format!("The proxy {proxy} refused the user name and password (HTTP 407 Proxy Authentication Required)."),
        (false, true) => format!("The proxy {proxy} asks for a user name and password (HTTP 407 Proxy Authentication Required)."),
        (_, false) => format!(
            "The proxy {proxy} asks for {} authentication (HTTP 407), which Patchbay does not support; it supports user name and password (Basic).",
            schemes.join(" or ")
        ),
    }
}

impl NetError {
    pub fn kind(&self) -> Kind {
        match self {
            Self::PolicyDenied { .. } => Kind::PolicyDenied,
            Self::DnsFailed { .. } => Kind::DnsFailed,
            Self::ConnectRefused { .. } => Kind::ConnectRefused,
            Self::ConnectTimeout { .. } => Kind::ConnectTimeout,
            Self::ConnectFailed { .. } => Kind::ConnectFailed,
            Self::Tls { .. } => Kind::Tls,
            Self::TlsUntrusted { .. } => Kind::TlsUntrusted,
            Self::Timeout { .. } => Kind::RequestTimeout,
            Self::Unauthorized { .. } => Kind::KeyRejected,
            Self::AuthenticationRequired { .. } => Kind::AuthRequired,
            Self::Forbidden { .. } => Kind::Forbidden,
            Self::NotFound { .. } => Kind::UpstreamNotFound,
            Self::MethodNotAllowed { .. } => Kind::MethodNotAllowed,
            Self::RateLimited { .. } => Kind::RateLimited,
            Self::ServerError { .. } => Kind::ServerError,
            Self::BadRequest { .. } => Kind::BadRequest,
            Self::NotJson { .. } => Kind::NotJson,
            Self::BadResponse { .. } | Self::NativeApi { .. } => Kind::BadResponse,
            Self::ErrorEnvelope { .. } => Kind::ErrorEnvelope,
            Self::TooLarge { .. } => Kind::TooLarge,
            Self::Redirect { .. } => Kind::Redirect,
            Self::Cancelled => Kind::Cancelled,
            Self::ModelNotFound { .. } => Kind::ModelNotFound,
            Self::InvalidRequest { .. } => Kind::RequestUnbuildable,
            Self::Proxy { .. } | Self::ProxyAuth { .. } => Kind::Proxy,
        }
    }

    /// What the person can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::PolicyDenied { reason, .. } => policy_hint(reason),
            Self::DnsFailed { .. } => "Check the host name for typos and that this computer is online (and, for a VPN-only host, that the VPN is connected).".to_owned(),
            Self::ConnectRefused { service, loopback, .. } => match (service, loopback) {
                (Some(name), true) => format!("Start {name} (or check the port in the base URL) and test again."),
                (None, true) => "Start the local server (or check the port in the base URL) and test again.".to_owned(),
                _ => "Check the host and port in the base URL; the server may be down or a firewall may block the port.".to_owned(),
            },
            Self::ConnectTimeout { .. } | Self::ConnectFailed { .. } => "Check the host and port, that the server is running and that no firewall or VPN blocks the connection.".to_owned(),
            Self::Tls { problem, .. } => match problem {
                TlsProblem::Expired => "The server's certificate must be renewed; nothing on this computer can safely work around it. If it is your server, renew its certificate.".to_owned(),
                TlsProblem::NotYetValid => "Check this computer's date and time; if they are right, the server's certificate was issued for a later date.".to_owned(),
                TlsProblem::WrongHost => "Use a host name the certificate is issued for in the base URL, or fix the server's certificate.".to_owned(),
                TlsProblem::NotTls => "If the server speaks plain http, use http:// in the base URL (allowed for servers on this computer or your network).".to_owned(),
                _ => "Check that the base URL uses the server's real host name and that its certificate is valid. If it is your own server, fix its certificate.".to_owned(),
            },
            Self::TlsUntrusted { problem: TlsProblem::SelfSigned, certificate, .. } => match certificate {
                Some(c) => format!("If you set up this server yourself, compare the fingerprint {} with the server's and choose \"Trust this certificate\" (for this provider only), or add the certificate as this provider's CA certificate.", c.sha256),
                None => "If you set up this server yourself, trust its certificate for this provider only.".to_owned(),
            },
            Self::TlsUntrusted { certificate, .. } => match certificate {
                Some(c) => format!("If “{}” is your organisation's authority (a company gateway, or a proxy that inspects TLS), add its CA certificate to this provider (the CA certificate field under Advanced; --ca-cert FILE in the CLI) or to this computer's trust store. \"Trust this certificate\" works too, but stops working when the certificate is renewed.", c.issuer),
                None => "If this is your organisation's gateway, add its CA certificate to this provider or to this computer's trust store.".to_owned(),
            },
            Self::Timeout { stage, .. } => match stage {
                Stage::Chat => "The model did not start answering in time: a local model may still be loading. Raise this provider's timeout or try again.".to_owned(),
                Stage::Models => "The server accepted the connection but did not answer in time. Check that the base URL points at the API, or raise this provider's timeout for slow local servers.".to_owned(),
                _ => "Check the host and port, and that nothing between here and the server drops the connection.".to_owned(),
            },
            Self::Unauthorized { .. } => "Check the API key: replace it with a current key from the provider's dashboard.".to_owned(),
            Self::AuthenticationRequired { .. } => "Choose \"API key\" under Authentication and enter the provider's key.".to_owned(),
            Self::Forbidden { .. } => "The key is valid but lacks permission: check the key's project, scopes or credits, and whether the model is enabled for it.".to_owned(),
            Self::NotFound { resource: Resource::Models, .. } | Self::MethodNotAllowed { resource: Resource::Models, .. } => "This server does not list its models: type the model IDs by hand; a test with a one-token chat request checks the first one.".to_owned(),
            Self::NotFound { resource: Resource::Chat, .. } | Self::MethodNotAllowed { resource: Resource::Chat, .. } => "Check the base URL: it should be the part before /chat/completions.".to_owned(),
            Self::RateLimited { retry_after, .. } => match retry_after {
                Some(wait) => format!("Wait (the provider asks for {wait}) and test again, or check the plan's limits."),
                None => "Wait a moment and test again, or check the plan's limits.".to_owned(),
            },
            Self::ServerError { .. } => "The problem is on the provider's side: try again later or check its status page.".to_owned(),
            Self::BadRequest { .. } => "Check the model id and the provider's documentation for this endpoint.".to_owned(),
            Self::NotJson { .. } => "Check the base URL: it should point at the API (often ending in /v1), not at a website or dashboard.".to_owned(),
            Self::BadResponse { .. } => "Check that the base URL points at an OpenAI-compatible API.".to_owned(),
            Self::NativeApi { api, suggested } => format!("{api}'s OpenAI-compatible endpoint is {suggested}: use that as the base URL."),
            Self::ErrorEnvelope { .. } => "Read the provider's message above; the key, account or base URL may need attention.".to_owned(),
            Self::TooLarge { .. } => "Check that the base URL points at the API and not at a file or stream.".to_owned(),
            Self::Redirect { .. } => "Use the address the server redirects to as the base URL, if you trust it.".to_owned(),
            Self::Cancelled => "Run the test again when you are ready.".to_owned(),
            Self::ModelNotFound { close_matches, .. } => match close_matches.first() {
                Some(best) => format!("Check the model id; did you mean `{best}`?"),
                None => "Check the model id against the provider's model list.".to_owned(),
            },
            Self::InvalidRequest { .. } => "Check the custom headers of this provider.".to_owned(),
            Self::Proxy { status: Some(407), .. } | Self::ProxyAuth { sent: false, .. } => "Enter the proxy's user name and password under Proxy in this provider's settings (--proxy-user and the password on standard input in the CLI).".to_owned(),
            Self::ProxyAuth { schemes, .. } if !schemes.is_empty() && !schemes.iter().any(|scheme| scheme.eq_ignore_ascii_case("basic")) => "Use a proxy (or proxy port) that accepts a user name and password, or remove the proxy from this provider.".to_owned(),
            Self::ProxyAuth { .. } => "Check the proxy user name and password in this provider's settings (they may have expired or changed).".to_owned(),
            Self::Proxy { status: Some(_), .. } => "The proxy refused to connect to the provider: check that it allows connections to this host and port, or remove the proxy from this provider.".to_owned(),
            Self::Proxy { .. } => "Check the proxy's address and port in this provider's settings and that the proxy is running, or remove the proxy from this provider.".to_owned(),
        }
    }

    /// The SHA-256 fingerprint of the certificate the server presented, when
    /// a TLS failure has one (for "Trust this certificate").
    pub fn certificate_sha256(&self) -> Option<&str> {
        self.certificate()
            .map(|certificate| certificate.sha256.as_str())
    }

    /// The certificate the server presented, when a TLS failure has one.
    pub fn certificate(&self) -> Option<&CertificateSummary> {
        match self {
            Self::Tls { certificate, .. } | Self::TlsUntrusted { certificate, .. } => {
                certificate.as_deref()
            }
            _ => None,
        }
    }

    /// The wire form for stage reports, the CLI's `--json` and IPC.
    pub fn failure(&self) -> Failure {
        let reason = match self {
            Self::PolicyDenied { reason, .. } => Some(reason.clone()),
            Self::Tls { problem, .. } | Self::TlsUntrusted { problem, .. } => {
                Some(problem.as_str().to_owned())
            }
            Self::ProxyAuth { sent: true, .. } => Some("credentials_refused".to_owned()),
            Self::ProxyAuth { sent: false, .. } => Some("credentials_required".to_owned()),
            _ => None,
        };
        Failure {
            kind: self.kind(),
            message: self.to_string(),
            hint: self.hint(),
            reason,
        }
    }
}

/// `{kind, message, hint, reason?}`: what a stage report or a boundary
/// sends on. `reason` is the egress policy's reason (`metadata`,
/// `loopback_not_allowed`, …) for a `policy_denied` failure, the
/// certificate problem ([`TlsProblem`]: `unknown_issuer`, `self_signed`,
/// `expired`, `wrong_host`, …) for `tls`/`tls_untrusted`, and
/// `credentials_required`/`credentials_refused` for a proxy's 407.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn service_question(service: Option<&str>, loopback: bool) -> String {
    match (service, loopback) {
        (Some(name), true) => format!(" — is {name} running?"),
        (None, true) => " — is the local server running?".to_owned(),
        _ => " (the connection was refused).".to_owned(),
    }
}

fn provider_suffix(message: &Option<String>) -> String {
    match message {
        Some(text) => format!(": {text}"),
        None => String::new(),
    }
}

fn retry_suffix(retry_after: &Option<String>) -> String {
    match retry_after {
        Some(wait) => format!("; retry after {wait}"),
        None => String::new(),
    }
}

fn close_suffix(close_matches: &[String]) -> String {
    if close_matches.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = close_matches.iter().map(|id| format!("`{id}`")).collect();
    format!(" (close matches: {})", quoted.join(", "))
}

fn not_json_message(web_page: bool, content_type: Option<&str>) -> String {
    if web_page {
        return "This URL serves a web page, not an OpenAI-compatible API.".to_owned();
    }
    match content_type {
        Some(kind) => format!("The answer is not JSON (content type {kind}), so this is not an OpenAI-compatible API."),
        None => "The answer is not JSON, so this is not an OpenAI-compatible API.".to_owned(),
    }
}

fn redirect_message(problem: RedirectProblem, location: Option<&str>) -> String {
    let target = location.unwrap_or("another address");
    match problem {
        RedirectProblem::TooMany => format!("The endpoint redirected too many times (last to {target})."),
        RedirectProblem::ChangesMethod => format!("The endpoint redirected to {target}, which would turn the request into a different one."),
        RedirectProblem::NoLocation => "The endpoint answered with a redirect but did not say where to.".to_owned(),
    }
}

fn policy_hint(reason: &str) -> String {
    match reason {
        "loopback_not_allowed" => "If this is a server on this computer, set the provider's network to \"Local\".".to_owned(),
        "private_not_allowed" => "If this is a server on your local network, set the provider's network to \"Private network\".".to_owned(),
        "not_https" => "Use https, or set the network to \"Local\"/\"Private network\" for a server on this computer or your LAN.".to_owned(),
        "dns_failed" => "Check the host name for typos and that this computer is online.".to_owned(),
        _ => "Patchbay never sends requests to this kind of address. Use the provider's public API address.".to_owned(),
    }
}

/// The secrets one request carries, for redaction. Holds references only:
/// the values stay in their [`ApiKey`]s.
#[derive(Debug, Default, Clone)]
pub(crate) struct Secrets<'a> {
    values: Vec<&'a ApiKey>,
}

impl<'a> Secrets<'a> {
    pub(crate) fn new(values: impl IntoIterator<Item = &'a ApiKey>) -> Self {
        Self {
            values: values
                .into_iter()
                .filter(|secret| !secret.expose().is_empty())
                .collect(),
        }
    }

    /// True when `token` is, contains, or contains a long fragment of a secret
    /// (providers sometimes echo a key cut short).
    fn matches(&self, token: &str) -> bool {
        self.values.iter().any(|secret| {
            let value = secret.expose();
            if token == value {
                return true;
            }
            if value.chars().count() < CONTAINMENT_MINIMUM {
                return false;
            }
            if token.contains(value) {
                return true;
            }
            fragment_echoed(token, value)
        })
    }

    /// Replaces every whitespace-separated token that matches a secret this
    /// request carries, or looks like any credential
    /// ([`patchbay_core::secret::looks_like_credential`]).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut output = String::with_capacity(text.len());
        for (index, token) in text.split_whitespace().enumerate() {
            if index > 0 {
                output.push(' ');
            }
            if self.matches(token) || patchbay_core::secret::looks_like_credential(token) {
                output.push_str("[redacted]");
            } else {
                output.push_str(token);
            }
        }
        output
    }
}

/// A prefix or suffix of `secret` of at least [`FRAGMENT_MINIMUM`] characters
/// appearing inside `token`.
fn fragment_echoed(token: &str, secret: &str) -> bool {
    let characters: Vec<char> = secret.chars().collect();
    if characters.len() < FRAGMENT_MINIMUM || token.chars().count() < FRAGMENT_MINIMUM {
        return false;
    }
    let head: String = characters[..FRAGMENT_MINIMUM].iter().collect();
    let tail: String = characters[characters.len() - FRAGMENT_MINIMUM..]
        .iter()
        .collect();
    token.contains(&head) || token.contains(&tail)
}

/// The human part of a provider's error body, safe to show: only when the
/// body is JSON (the known shapes: OpenAI/Azure `error.message`, Ollama
/// `error` string, vLLM/others top-level `message`, FastAPI `detail`, a
/// one-element array of those), redacted and truncated. `None` otherwise: a
/// raw body is never shown.
pub(crate) fn provider_message(body: &[u8], secrets: &Secrets<'_>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = message_in(&value)?;
    let cleaned = secrets.redact(&text);
    if cleaned.is_empty() {
        return None;
    }
    Some(truncate(&cleaned, PROVIDER_MESSAGE_LIMIT))
}

/// Redacts and truncates a short piece of text that came from a server but
/// is not a body (a `Location`, a `Retry-After`, an error sentence).
pub(crate) fn sanitize_text(text: &str, secrets: &Secrets<'_>, limit: usize) -> String {
    let printable: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    truncate(&secrets.redact(&printable), limit)
}

fn message_in(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => items.first().and_then(message_in),
        Value::Object(map) => {
            for field in ["error", "message", "detail", "error_message", "msg"] {
                if let Some(inner) = map.get(field) {
                    match inner {
                        Value::String(text) => return Some(text.clone()),
                        Value::Object(_) | Value::Array(_) => {
                            if let Some(text) = message_in(inner) {
                                return Some(text);
                            }
                        }
                        _ => {}
                    }
                }
            }
            None
        }
        _ => None,
    }
}

fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_come_from_known_json_shapes_only() {
        let none = Secrets::default();
        let shapes: [(&[u8], Option<&str>); 7] = [
            (
                br#"{"error":{"message":"Invalid model","type":"invalid_request_error"}}"#,
                Some("Invalid model"),
            ),
            (
                br#"{"error":"model 'llama9' not found"}"#,
                Some("model 'llama9' not found"),
            ),
            (
                br#"{"object":"error","message":"The model does not exist.","code":404}"#,
                Some("The model does not exist."),
            ),
            (br#"{"detail":"Not Found"}"#, Some("Not Found")),
            (
                br#"[{"error":{"code":400,"message":"API key not valid"}}]"#,
                Some("API key not valid"),
            ),
            (b"<html><body>Bad gateway</body></html>", None),
            (br#"{"status":"nope"}"#, None),
        ];
        for (body, expected) in shapes {
            assert_eq!(
                provider_message(body, &none).as_deref(),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn secrets_and_their_echoes_are_redacted() {
        let key = ApiKey::new("sk-live-CANARY0123456789abcdef");
        let secrets = Secrets::new([&key]);
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-live-CANARY0123456789abcdef. Also Bearer:sk-live-CANARY0123456789abcdef, and sk-live-CANARY01234***"}}"#;
        let message = provider_message(body, &secrets).unwrap_or_default();
        assert!(!message.contains("CANARY"), "{message}");
        assert!(message.contains("[redacted]"));
        assert!(message.starts_with("Incorrect API key provided:"));
    }

    #[test]
    fn long_messages_are_truncated() {
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "word ".repeat(200));
        let message = provider_message(long.as_bytes(), &Secrets::default()).unwrap_or_default();
        assert!(message.chars().count() <= PROVIDER_MESSAGE_LIMIT + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn refused_loopback_names_the_preset() {
        let error = NetError::ConnectRefused {
            address: SocketAddr::from(([127, 0, 0, 1], 11434)),
            service: Some("Ollama".to_owned()),
            loopback: true,
        };
        assert_eq!(
            error.to_string(),
            "Nothing is listening on 127.0.0.1:11434 — is Ollama running?"
        );
        assert_eq!(error.kind().as_str(), "connect_refused");
    }
}
