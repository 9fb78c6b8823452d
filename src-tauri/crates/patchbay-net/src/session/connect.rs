//! Steps 1–5 of a request: the URL policy, DNS (every answer judged), TCP to
//! the checked addresses only, the provider's proxy, TLS, and the HTTP/1.1
//! handshake.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use patchbay_core::NetworkAllowance;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::{Host, Url};

use super::{Connection, Session, Stream};
use crate::error::NetError;
use crate::policy;
use crate::stage::Stage;
use crate::tls::{parse_fingerprint, tls_failure, PresentedSlot};

/// A proxy's answer to `CONNECT` longer than this is not a proxy's answer.
const CONNECT_HEAD_LIMIT: usize = 16 * 1024;

/// Where a connection goes, after the policy looked at the URL.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    pub(super) url: Url,
    /// The host as written in the URL (a name, or an address without
    /// brackets), for SNI and the lookup.
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) https: bool,
    /// Every address a connection may use; empty until resolved.
    addresses: Vec<IpAddr>,
    literal: bool,
    /// The provider's proxy, when this destination is reached through it:
    /// then the connection goes to the proxy's (checked) addresses and this
    /// destination's own `addresses` stay empty (the proxy resolves it).
    pub(super) proxy: Option<Box<Destination>>,
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

fn host_for_message(host: &str) -> &str {
    host.trim_end_matches('.')
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

impl<'a> Session<'a> {
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
            // The proxy resolves the name, so its addresses cannot be
            // checked: plain http could go to an internet host in clear
            // text, which is refused without a proxy.
            if !https && !literal {
                return Err(NetError::PolicyDenied {
                    reason: "not_https".to_owned(),
                    message: format!(
                        "Plain http:// through the proxy would send requests to {} in clear text, and the proxy resolves that name, so Patchbay cannot check that it is on your network. Use https://, or the server's IP address.",
                        host_for_message(&destination.host)
                    ),
                });
            }
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
            let presented: PresentedSlot = Arc::new(Mutex::new(None));
            match self
                .tls_over(
                    proxy,
                    Box::new(tcp),
                    None,
                    &[],
                    presented,
                    Stage::TcpConnect,
                )
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
        let credentials = self.target.proxy_credentials.as_ref();
        let authorization = match credentials {
            Some(credentials) => {
                let value = crate::openai::proxy_basic(credentials);
                if value.bytes().any(|byte| byte < 0x20 || byte == 0x7f) {
                    return Err(NetError::InvalidRequest {
                        detail: "the proxy user name or password holds characters HTTP cannot send"
                            .to_owned(),
                    });
                }
                format!("Proxy-Authorization: {value}\r\n")
            }
            None => String::new(),
        };
        let request = format!(
            "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {}\r\n{authorization}\r\n",
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
                Some(407) => Err(NetError::ProxyAuth {
                    proxy: shown.clone(),
                    sent: credentials.is_some(),
                    schemes: head_schemes(&head),
                }),
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
        let presented: PresentedSlot = Arc::new(Mutex::new(None));
        let trusted = self
            .target
            .trusted_cert_sha256
            .as_deref()
            .and_then(parse_fingerprint);
        let outcome = self
            .tls_over(
                destination,
                stream,
                trusted,
                &self.target.ca_certificates,
                presented.clone(),
                Stage::Tls,
            )
            .await;
        let seen = presented.lock().ok().and_then(|slot| slot.clone());
        let fingerprint = seen.as_ref().map(|seen| seen.sha256.clone());
        if seen.is_some() {
            self.presented = seen;
        }
        match outcome {
            Ok(stream) => {
                let (_io, state) = stream.get_ref();
                let version = state
                    .protocol_version()
                    .map(|version| format!("{version:?}").replace('_', "."))
                    .unwrap_or_else(|| "TLS".to_owned());
                let pinned = trusted.is_some() && trusted.map(hex::encode) == fingerprint;
                let issuer = self
                    .presented
                    .as_ref()
                    .map(|presented| presented.summary().issuer);
                let how = match (pinned, issuer) {
                    (true, _) => "certificate trusted by its fingerprint".to_owned(),
                    (false, Some(issuer)) => format!("certificate verified (issued by “{issuer}”)"),
                    (false, None) => "certificate verified".to_owned(),
                };
                Ok((stream, format!("{version}, {how}")))
            }
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
        provider_cas: &[Vec<u8>],
        presented: PresentedSlot,
        stage: Stage,
    ) -> Result<tokio_rustls::client::TlsStream<Box<dyn Stream>>, NetError> {
        let config = self
            .client
            .tls_config(trusted, provider_cas, presented.clone())?;
        let server_name = match destination.url.host() {
            Some(Host::Ipv4(address)) => ServerName::IpAddress(IpAddr::V4(address).into()),
            Some(Host::Ipv6(address)) => ServerName::IpAddress(IpAddr::V6(address).into()),
            _ => ServerName::try_from(destination.host.trim_end_matches('.').to_owned()).map_err(
                |error| NetError::Tls {
                    host: destination.host.clone(),
                    problem: crate::error::TlsProblem::Other,
                    detail: format!("the host name cannot be used for TLS ({error})"),
                    certificate: None,
                },
            )?,
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let connect_timeout = self.client.options().connect_timeout;
        self.bounded(stage, Some(connect_timeout), async {
            connector
                .connect(server_name, stream)
                .await
                .map_err(|error| {
                    let seen = presented.lock().ok().and_then(|slot| slot.clone());
                    tls_failure(&destination.host, &error, seen.as_ref())
                })
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
    pub(super) async fn open(&mut self, url: &Url) -> Result<(), NetError> {
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

/// The schemes a `407` head offers in its `Proxy-Authenticate` lines
/// (`Basic`, `Negotiate`, `NTLM`, …), in order, without duplicates.
fn head_schemes(head: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(head);
    let values: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _value)| name.trim().eq_ignore_ascii_case("proxy-authenticate"))
        .map(|(_name, value)| value)
        .collect();
    schemes_of(values)
}

/// The auth schemes of `Proxy-Authenticate` values: the first token of
/// each challenge (a value may hold several, comma-separated, whose
/// parameters contain `=`).
pub(crate) fn schemes_of<'v>(values: impl IntoIterator<Item = &'v str>) -> Vec<String> {
    let mut schemes: Vec<String> = Vec::new();
    for value in values {
        for part in value.split(',') {
            let Some(first) = part.split_whitespace().next() else {
                continue;
            };
            if first.contains('=') {
                continue;
            }
            if !schemes
                .iter()
                .any(|known| known.eq_ignore_ascii_case(first))
            {
                schemes.push(first.to_owned());
            }
        }
    }
    schemes
}

impl Session<'_> {
    /// A 407 an http proxy gave to an absolute-form request.
    pub(crate) fn proxy_refused_credentials(&self, headers: &hyper::HeaderMap) -> NetError {
        let proxy = self
            .target
            .proxy
            .as_ref()
            .map(|url| {
                format!(
                    "{}:{}",
                    url.host_str().unwrap_or(""),
                    url.port_or_known_default().unwrap_or(80)
                )
            })
            .unwrap_or_default();
        NetError::ProxyAuth {
            proxy,
            sent: self.target.proxy_credentials.is_some(),
            schemes: schemes_of(
                headers
                    .get_all(hyper::header::PROXY_AUTHENTICATE)
                    .iter()
                    .filter_map(|value| value.to_str().ok()),
            ),
        }
    }
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
