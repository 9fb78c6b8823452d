//! A real HTTP server on 127.0.0.1 (hyper), answering from a handler and
//! recording every request, for `patchbay test` / `models` to talk to. It
//! runs on its own thread and runtime, because the tests themselves are
//! synchronous: they run the CLI as a child process and wait for it.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A canned answer: status, content type, body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    pub(crate) fn html(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: body.into(),
        }
    }

    /// A streamed chat answer with one token.
    pub(crate) fn chat_stream() -> Self {
        Self {
            status: 200,
            content_type: "text/event-stream",
            body: "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"OK\"}}]}\n\ndata: [DONE]\n\n".to_owned(),
        }
    }
}

/// An OpenAI-style model list.
pub(crate) fn models_body(ids: &[&str]) -> String {
    let entries: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(r#"{{"id":"{id}","object":"model","created":1700000000,"owned_by":"test"}}"#)
        })
        .collect();
    format!(r#"{{"object":"list","data":[{}]}}"#, entries.join(","))
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// Plain http.
    pub(crate) fn start(
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        Self::start_with(handler, None)
    }

    /// https with the given certificate.
    pub(crate) fn start_tls(
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        Self::start_with(handler, Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn start_with(
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let recorded = Arc::clone(&seen);
        let thread = thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let accept_loop = async {
                    while let Ok((stream, _peer)) = listener.accept().await {
                        let (recorded, handler, tls) = (Arc::clone(&recorded), Arc::clone(&handler), tls.clone());
                        tokio::spawn(async move {
                            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                                let (recorded, handler) = (Arc::clone(&recorded), Arc::clone(&handler));
                                async move {
                                    let (parts, body) = request.into_parts();
                                    // Read the body so the connection stays usable.
                                    if let Err(error) = body.collect().await {
                                        eprintln!("test server could not read a request body: {error}");
                                    }
                                    let seen = Seen {
                                        method: parts.method.to_string(),
                                        path: parts.uri.path().to_owned(),
                                        headers: parts
                                            .headers
                                            .iter()
                                            .map(|(name, value)| {
                                                (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
                                            })
                                            .collect(),
                                    };
                                    let reply = handler(&seen);
                                    if let Ok(mut list) = recorded.lock() {
                                        list.push(seen);
                                    }
                                    let response = Response::builder()
                                        .status(reply.status)
                                        .header("content-type", reply.content_type)
                                        .body(Full::new(Bytes::from(reply.body)))
                                        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
                                    Ok::<_, Infallible>(response)
                                }
                            });
                            let served = match tls {
                                Some(acceptor) => match acceptor.accept(stream).await {
                                    Ok(stream) => http1::Builder::new().serve_connection(TokioIo::new(stream), service).await,
                                    // The client refused our certificate: expected in TLS tests.
                                    Err(error) => {
                                        eprintln!("test server TLS handshake failed: {error}");
                                        return;
                                    }
                                },
                                None => http1::Builder::new().serve_connection(TokioIo::new(stream), service).await,
                            };
                            if let Err(error) = served {
                                eprintln!("test server connection ended with an error: {error}");
                            }
                        });
                    }
                };
                tokio::select! {
                    () = accept_loop => {}
                    _ = stopped => {}
                }
            });
        });
        Ok(Self {
            address,
            seen,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// `https://127.0.0.1:PORT{path}`.
    pub(crate) fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.address)
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server thread may already have ended; nothing to stop then.
            if stop.send(()).is_err() {
                eprintln!("test server had already stopped");
            }
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                eprintln!("test server thread panicked");
            }
        }
    }
}

/// A loopback port with nothing listening on it (bound, then released).
pub(crate) fn closed_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(port)
}

/// A self-signed certificate for 127.0.0.1 and its SHA-256 fingerprint
/// (lowercase hex), computed here independently of Patchbay.
pub(crate) fn self_signed(
) -> Result<(Arc<rustls::ServerConfig>, String), Box<dyn std::error::Error>> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use sha2::Digest;

    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    let der = certified.cert.der().to_vec();
    let fingerprint = hex::encode(sha2::Sha256::digest(&der));
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![CertificateDer::from(der)], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), fingerprint))
}
