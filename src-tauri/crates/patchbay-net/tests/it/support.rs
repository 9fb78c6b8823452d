//! Shared helpers: real HTTP(S) servers on loopback addresses, scripted
//! resolvers, self-signed and CA-signed certificates. Every socket here is
//! bound to 127.0.0.0/8; no test sends a packet anywhere else.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use patchbay_core::{ApiKey, NetworkAllowance};
use patchbay_net::policy::Lookup;
use patchbay_net::probe::{StageReport, Target, TestOptions};
use patchbay_net::{ClientOptions, HttpClient};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

pub(crate) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A made-up host name: resolved only through the scripted lookups below.
pub(crate) const TEST_HOST: &str = "llm.patchbay-test.dev";

/// The API key canary: must never appear in anything a test can observe.
pub(crate) const CANARY_KEY: &str = "sk-canary-5e1f7c0d9b3a4e2f8a6b";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A canned answer.
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Canned {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }
    pub(crate) fn html(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }
    pub(crate) fn events(events: &[&str]) -> Self {
        let body: String = events
            .iter()
            .map(|event| format!("data: {event}\n\n"))
            .collect();
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: body.into_bytes(),
        }
    }
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

pub(crate) type Handler = Arc<dyn Fn(&Seen) -> Canned + Send + Sync>;

pub(crate) fn handler(function: impl Fn(&Seen) -> Canned + Send + Sync + 'static) -> Handler {
    Arc::new(function)
}

/// A small OpenAI-style model list.
pub(crate) fn models_body(ids: &[&str]) -> String {
    let entries: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(r#"{{"id":"{id}","object":"model","created":1700000000,"owned_by":"test"}}"#)
        })
        .collect();
    format!(r#"{{"object":"list","data":[{}]}}"#, entries.join(","))
}

/// A hyper server on a loopback address that records what it sees.
pub(crate) struct Server {
    pub(crate) address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    local_addresses: Arc<Mutex<Vec<SocketAddr>>>,
    task: JoinHandle<()>,
    https: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(crate) async fn http(handler: Handler) -> TestResult<Self> {
        Self::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), handler, None).await
    }

    pub(crate) async fn http_on(address: SocketAddr, handler: Handler) -> TestResult<Self> {
        Self::start(address, handler, None).await
    }

    pub(crate) async fn https(
        handler: Handler,
        tls: Arc<rustls::ServerConfig>,
    ) -> TestResult<Self> {
        Self::start(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            handler,
            Some(tls),
        )
        .await
    }

    async fn start(
        bind: SocketAddr,
        handler: Handler,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> TestResult<Self> {
        let listener = TcpListener::bind(bind).await?;
        let address = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let local_addresses = Arc::new(Mutex::new(Vec::new()));
        let https = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let task = {
            let (seen, connections, local_addresses) =
                (seen.clone(), connections.clone(), local_addresses.clone());
            tokio::spawn(async move {
                while let Ok((stream, _peer)) = listener.accept().await {
                    connections.fetch_add(1, Ordering::SeqCst);
                    if let (Ok(local), Ok(mut list)) = (stream.local_addr(), local_addresses.lock())
                    {
                        list.push(local);
                    }
                    let (seen, handler, acceptor) =
                        (seen.clone(), handler.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                            let (seen, handler) = (seen.clone(), handler.clone());
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|collected| collected.to_bytes().to_vec())
                                    .unwrap_or_default();
                                let record = Seen {
                                    method: parts.method.to_string(),
                                    path: parts
                                        .uri
                                        .path_and_query()
                                        .map(ToString::to_string)
                                        .unwrap_or_default(),
                                    headers: parts
                                        .headers
                                        .iter()
                                        .map(|(name, value)| {
                                            (
                                                name.to_string(),
                                                String::from_utf8_lossy(value.as_bytes())
                                                    .into_owned(),
                                            )
                                        })
                                        .collect(),
                                    body,
                                };
                                let canned = handler(&record);
                                if let Ok(mut list) = seen.lock() {
                                    list.push(record);
                                }
                                let mut response = Response::builder().status(canned.status);
                                for (name, value) in &canned.headers {
                                    response = response.header(name.as_str(), value.as_str());
                                }
                                let response = response
                                    .body(Full::new(Bytes::from(canned.body)))
                                    .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
                                Ok::<_, Infallible>(response)
                            }
                        });
                        let served = match acceptor {
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls) => {
                                    http1::Builder::new()
                                        .serve_connection(TokioIo::new(tls), service)
                                        .await
                                }
                                Err(_handshake) => return,
                            },
                            None => {
                                http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await
                            }
                        };
                        drop(served);
                    });
                }
            })
        };
        Ok(Self {
            address,
            seen,
            connections,
            local_addresses,
            task,
            https,
        })
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub(crate) fn local_addresses(&self) -> Vec<SocketAddr> {
        self.local_addresses
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    pub(crate) fn port(&self) -> u16 {
        self.address.port()
    }

    /// `http(s)://127.0.0.1:port{path}`.
    pub(crate) fn url(&self, path: &str) -> TestResult<Url> {
        let scheme = if self.https { "https" } else { "http" };
        Ok(Url::parse(&format!("{scheme}://{}{path}", self.address))?)
    }

    /// The same server under [`TEST_HOST`] (resolve it with a lookup).
    pub(crate) fn named_url(&self, path: &str) -> TestResult<Url> {
        let scheme = if self.https { "https" } else { "http" };
        Ok(Url::parse(&format!(
            "{scheme}://{TEST_HOST}:{}{path}",
            self.port()
        ))?)
    }
}

/// A server that accepts connections, reads whatever arrives, and never
/// answers. Reports each connection's close by the client.
pub(crate) struct SilentServer {
    pub(crate) address: SocketAddr,
    pub(crate) accepted: Arc<AtomicUsize>,
    pub(crate) closed: mpsc::UnboundedReceiver<()>,
    task: JoinHandle<()>,
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SilentServer {
    pub(crate) async fn start() -> TestResult<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let (closed_sender, closed) = mpsc::unbounded_channel();
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let closed_sender = closed_sender.clone();
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 4096];
                    // Bounded: a test never runs this long.
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                    loop {
                        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                            Ok(Ok(0)) | Ok(Err(_)) => {
                                // The receiver is gone only when the test has finished.
                                if closed_sender.send(()).is_err() {
                                    tracing::debug!("close reported after the test ended");
                                }
                                return;
                            }
                            Ok(Ok(_)) => continue,
                            Err(_elapsed) => return,
                        }
                    }
                });
            }
        });
        Ok(Self {
            address,
            accepted,
            closed,
            task,
        })
    }
}

/// A server that answers 200 with a chunked body that never ends (bounded
/// at `ceiling` bytes so the test itself is bounded). Counts bytes written.
pub(crate) struct EndlessServer {
    pub(crate) address: SocketAddr,
    pub(crate) written: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for EndlessServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EndlessServer {
    pub(crate) async fn start(ceiling: usize) -> TestResult<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let written = Arc::new(AtomicUsize::new(0));
        let counter = written.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0_u8; 1024];
                    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => head.extend_from_slice(&buffer[..read]),
                        }
                    }
                    let start = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    if stream.write_all(start).await.is_err() {
                        return;
                    }
                    let chunk_body = vec![b' '; 64 * 1024];
                    let mut chunk = format!("{:x}\r\n", chunk_body.len()).into_bytes();
                    chunk.extend_from_slice(&chunk_body);
                    chunk.extend_from_slice(b"\r\n");
                    while counter.load(Ordering::SeqCst) < ceiling {
                        if stream.write_all(&chunk).await.is_err() {
                            return;
                        }
                        counter.fetch_add(chunk_body.len(), Ordering::SeqCst);
                    }
                });
            }
        });
        Ok(Self {
            address,
            written,
            task,
        })
    }
}

/// A resolver that answers from a script: call N gets answer N (the last
/// answer repeats). Counts calls; never touches the real DNS.
#[derive(Debug)]
pub(crate) struct ScriptedLookup {
    answers: Mutex<VecDeque<io::Result<Vec<IpAddr>>>>,
    calls: AtomicUsize,
}

impl ScriptedLookup {
    pub(crate) fn new(answers: Vec<Vec<IpAddr>>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().map(Ok).collect()),
            calls: AtomicUsize::new(0),
        })
    }

    pub(crate) fn failing(message: &str) -> Arc<Self> {
        let error = io::Error::new(io::ErrorKind::NotFound, message.to_owned());
        Arc::new(Self {
            answers: Mutex::new(VecDeque::from([Err(error)])),
            calls: AtomicUsize::new(0),
        })
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lookup for ScriptedLookup {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = match self.answers.lock() {
            Ok(mut answers) => {
                if answers.len() > 1 {
                    answers.pop_front().unwrap_or_else(|| Ok(Vec::new()))
                } else {
                    match answers.front() {
                        Some(Ok(addresses)) => Ok(addresses.clone()),
                        Some(Err(error)) => Err(io::Error::new(error.kind(), error.to_string())),
                        None => Ok(Vec::new()),
                    }
                }
            }
            Err(_) => Err(io::Error::other("lookup script poisoned")),
        };
        Box::pin(async move { answer })
    }
}

/// A lookup that fails the test if it is ever called (IP literals).
#[derive(Debug, Default)]
pub(crate) struct NoLookup {
    pub(crate) calls: AtomicUsize,
}

impl Lookup for NoLookup {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(io::Error::other("NoLookup was asked to resolve a name")) })
    }
}

pub(crate) fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

pub(crate) fn client() -> TestResult<HttpClient> {
    Ok(HttpClient::new(ClientOptions::default())?)
}

pub(crate) fn client_with(change: impl FnOnce(&mut ClientOptions)) -> TestResult<HttpClient> {
    let mut options = ClientOptions::default();
    change(&mut options);
    Ok(HttpClient::new(options)?)
}

/// A local (loopback-allowed) target without auth.
pub(crate) fn local_target(base_url: Url) -> Target {
    Target::new(base_url, NetworkAllowance::Local)
}

pub(crate) fn with_key(mut target: Target, key: &str) -> Target {
    target.api_key = Some(ApiKey::new(key));
    target
}

pub(crate) fn options(lookup: Arc<dyn Lookup>) -> TestOptions {
    TestOptions {
        chat_model: None,
        lookup,
        cancel: None,
    }
}

pub(crate) fn quiet(_: &StageReport) {}

/// A certificate and key for a TLS server.
pub(crate) struct Identity {
    pub(crate) server: Arc<rustls::ServerConfig>,
    pub(crate) fingerprint: String,
    /// The issuing CA's certificate (DER), when CA-signed.
    pub(crate) ca_der: Option<Vec<u8>>,
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
) -> TestResult<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// A self-signed certificate for `names`.
pub(crate) fn self_signed(names: &[&str]) -> TestResult<Identity> {
    let certified = rcgen::generate_simple_self_signed(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )?;
    let der = certified.cert.der().to_vec();
    let server = server_config(
        vec![CertificateDer::from(der.clone())],
        certified.key_pair.serialize_der(),
    )?;
    Ok(Identity {
        server,
        fingerprint: fingerprint(&der),
        ca_der: None,
    })
}

/// A leaf for `names` signed by a fresh CA; `expired` backdates it.
pub(crate) fn ca_signed(names: &[&str], expired: bool) -> TestResult<Identity> {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Patchbay Test CA");
    let ca_key = rcgen::KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let mut leaf_params = rcgen::CertificateParams::new(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )?;
    if expired {
        leaf_params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        leaf_params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    }
    let leaf_key = rcgen::KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    let der = leaf.der().to_vec();
    let server = server_config(
        vec![CertificateDer::from(der.clone())],
        leaf_key.serialize_der(),
    )?;
    Ok(Identity {
        server,
        fingerprint: fingerprint(&der),
        ca_der: Some(ca_cert.der().to_vec()),
    })
}
