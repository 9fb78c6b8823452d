//! Real HTTP and HTTPS servers on 127.0.0.1 that answer what a test scripts
//! and record every request they receive, plus two misbehaving ones (one
//! that never answers, one whose body never ends). Every socket here is
//! bound to the loopback range; no test sends a packet anywhere else.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::{TestResult, TEST_HOST};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A canned answer: a status, headers and a body, optionally after a
/// pause ([`Canned::after`]) and followed by more body chunks, each after
/// its own pause ([`Canned::then`], [`Canned::timed_events`]).
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long the server waits before it answers at all.
    pub delay: Duration,
    /// Body chunks sent after `body`, each after its pause.
    pub later: Vec<(Duration, Vec<u8>)>,
}

impl Canned {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.to_owned())],
            body,
            delay: Duration::ZERO,
            later: Vec::new(),
        }
    }
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "application/json", body.into().into_bytes())
    }
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/html; charset=utf-8", body.into().into_bytes())
    }
    /// A server-sent event stream with these `data:` payloads, all at once.
    pub fn events(events: &[&str]) -> Self {
        let body: String = events.iter().map(|event| sse(None, event)).collect();
        Self::new(200, "text/event-stream", body.into_bytes())
    }
    /// A server-sent event stream whose events arrive with chosen timing:
    /// `(pause before it, event name or None, data)`.
    pub fn timed_events(events: &[(Duration, Option<&str>, &str)]) -> Self {
        let mut canned = Self::new(200, "text/event-stream", Vec::new());
        canned.later = events
            .iter()
            .map(|(pause, name, data)| (*pause, sse(*name, data).into_bytes()))
            .collect();
        canned
    }
    /// Answers only after `delay` (a slow server).
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    /// Sends `chunk` after `pause`, once the body so far was sent.
    pub fn then(mut self, pause: Duration, chunk: impl Into<Vec<u8>>) -> Self {
        self.later.push((pause, chunk.into()));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// One server-sent event.
fn sse(name: Option<&str>, data: &str) -> String {
    match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

pub type Handler = Arc<dyn Fn(&Seen) -> Canned + Send + Sync>;

/// A response body: all at once, or streamed chunk by chunk with pauses.
type Body = Either<Full<Bytes>, Channel<Bytes>>;

fn respond(canned: Canned) -> Response<Body> {
    let mut response = Response::builder().status(canned.status);
    for (name, value) in &canned.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    let body = if canned.later.is_empty() {
        Either::Left(Full::new(Bytes::from(canned.body)))
    } else {
        let (mut sender, body) = Channel::new(4);
        let (first, later) = (canned.body, canned.later);
        tokio::spawn(async move {
            if !first.is_empty() && sender.send_data(Bytes::from(first)).await.is_err() {
                return;
            }
            for (pause, chunk) in later {
                tokio::time::sleep(pause).await;
                if sender.send_data(Bytes::from(chunk)).await.is_err() {
                    return;
                }
            }
        });
        Either::Right(body)
    };
    response
        .body(body)
        .unwrap_or_else(|_| Response::new(Either::Left(Full::new(Bytes::new()))))
}

/// A handler answering from a table of `"METHOD /path"` → answer;
/// anything else gets a 404 with an OpenAI-style error body.
pub fn routes(table: &[(&str, Canned)]) -> Handler {
    let table: Vec<(String, Canned)> = table
        .iter()
        .map(|(route, canned)| ((*route).to_owned(), canned.clone()))
        .collect();
    handler(move |seen| {
        let route = format!("{} {}", seen.method, seen.path);
        table
            .iter()
            .find(|(known, _)| *known == route)
            .map(|(_, canned)| canned.clone())
            .unwrap_or_else(|| {
                Canned::json(
                    404,
                    r#"{"error":{"message":"no such route","type":"not_found"}}"#,
                )
            })
    })
}

pub fn handler(function: impl Fn(&Seen) -> Canned + Send + Sync + 'static) -> Handler {
    Arc::new(function)
}

/// A hyper server on a loopback address that records what it sees.
#[derive(Debug)]
pub struct Server {
    pub address: SocketAddr,
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
    pub async fn http(handler: Handler) -> TestResult<Self> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), handler, None).await
    }

    pub async fn http_on(address: SocketAddr, handler: Handler) -> TestResult<Self> {
        Self::bind(address, handler, None).await
    }

    /// [`Server::http_on`] for synchronous tests.
    pub fn background_http_on(address: SocketAddr, handler: Handler) -> TestResult<Self> {
        crate::block_on(Self::http_on(address, handler))
    }

    /// [`Server::http`] for synchronous tests (see [`crate::block_on`]).
    pub fn background_http(handler: Handler) -> TestResult<Self> {
        crate::block_on(Self::http(handler))
    }

    /// [`Server::https`] for synchronous tests.
    pub fn background_https(handler: Handler, tls: Arc<rustls::ServerConfig>) -> TestResult<Self> {
        crate::block_on(Self::https(handler, tls))
    }

    pub async fn https(handler: Handler, tls: Arc<rustls::ServerConfig>) -> TestResult<Self> {
        Self::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            handler,
            Some(tls),
        )
        .await
    }

    async fn bind(
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
                // Owned by the accept task: dropping the server (which aborts
                // it) closes every open connection too, so a kept-alive
                // connection never answers for a server that is gone.
                let mut open_connections = tokio::task::JoinSet::new();
                while let Ok((stream, _peer)) = listener.accept().await {
                    while open_connections.try_join_next().is_some() {}
                    connections.fetch_add(1, Ordering::SeqCst);
                    if let (Ok(local), Ok(mut list)) = (stream.local_addr(), local_addresses.lock())
                    {
                        list.push(local);
                    }
                    let (seen, handler, acceptor) =
                        (seen.clone(), handler.clone(), acceptor.clone());
                    open_connections.spawn(async move {
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
                                tokio::time::sleep(canned.delay).await;
                                Ok::<_, Infallible>(respond(canned))
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

    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn local_addresses(&self) -> Vec<SocketAddr> {
        self.local_addresses
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `http(s)://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> TestResult<Url> {
        let scheme = if self.https { "https" } else { "http" };
        Ok(Url::parse(&format!("{scheme}://{}{path}", self.address))?)
    }

    /// `http(s)://127.0.0.1:port{path}` as text, for command lines and
    /// JSON drafts.
    pub fn at(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.address)
    }

    /// The same server under [`TEST_HOST`] (resolve it with a lookup).
    pub fn named_url(&self, path: &str) -> TestResult<Url> {
        let scheme = if self.https { "https" } else { "http" };
        Ok(Url::parse(&format!(
            "{scheme}://{TEST_HOST}:{}{path}",
            self.port()
        ))?)
    }
}

/// A server that accepts connections, reads whatever arrives, and never
/// answers. Reports each connection's close by the client.
#[derive(Debug)]
pub struct SilentServer {
    pub address: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    pub closed: mpsc::UnboundedReceiver<()>,
    task: JoinHandle<()>,
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SilentServer {
    /// `http://127.0.0.1:port{path}` as text.
    pub fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn start() -> TestResult<Self> {
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
#[derive(Debug)]
pub struct EndlessServer {
    pub address: SocketAddr,
    pub written: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for EndlessServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EndlessServer {
    pub async fn start(ceiling: usize) -> TestResult<Self> {
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

/// A loopback port with nothing listening on it (bound, then released).
pub fn closed_port() -> TestResult<u16> {
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(port)
}
