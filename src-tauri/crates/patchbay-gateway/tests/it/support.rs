//! A world for one gateway test: a config directory with providers pointing
//! at fake providers on 127.0.0.1, a host token, the gateway on a free port,
//! and a raw HTTP/1.1 client (every byte of what the gateway answers is
//! checked, so no client library sits in between).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_gateway::{Gateway, GatewayHandle, GatewayOptions};
use patchbay_net::policy::StaticLookup;
use patchbay_net::{ClientOptions, HttpClient};
use patchbay_service::{HostRegistry, Service};
use patchbay_testkit::Draft;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A name whose only address is on a private network.
pub(crate) const INTERNAL_HOST: &str = "internal.example.test";

pub(crate) const KEY: &str = "sk-gateway-canary-0123456789abcdef";

pub(crate) struct World {
    _root: tempfile::TempDir,
    pub(crate) store: Arc<ProviderStore>,
    pub(crate) registry: HostRegistry,
    pub(crate) gateway: GatewayHandle,
    pub(crate) token: String,
}

impl World {
    /// The gateway over `drafts` (saved in order), with one app's token.
    pub(crate) async fn new(drafts: &[Draft]) -> Self {
        Self::with_idle(drafts, Duration::from_secs(30)).await
    }

    pub(crate) async fn with_idle(drafts: &[Draft], idle: Duration) -> Self {
        Self::with_options(drafts, idle, &[]).await
    }

    pub(crate) async fn with_options(drafts: &[Draft], idle: Duration, origins: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let paths = ConfigPaths::in_dir(root.path().join("config"));
        let store = Arc::new(ProviderStore::new(
            paths.clone(),
            Arc::new(MemoryStore::new()),
        ));
        for draft in drafts {
            store.add(draft.parse()).expect("a provider");
        }
        let http = HttpClient::new(ClientOptions::default()).expect("client");
        let service = Arc::new(Service::with_network(
            Arc::clone(&store),
            Arc::new(http),
            // One name, on a LAN address a remote provider may not reach.
            Arc::new(
                StaticLookup::default().with(INTERNAL_HOST, &["10.1.2.3".parse().expect("ip")]),
            ),
        ));
        let registry = HostRegistry::in_dir(&paths.dir);
        let (_, token) = registry
            .issue("com.example.app", "Example App")
            .expect("token");
        let mut options = GatewayOptions::at("127.0.0.1:0".parse().expect("addr"));
        options.idle_timeout = idle;
        options.allowed_origins = origins.iter().map(|origin| (*origin).to_owned()).collect();
        let gateway = Gateway::start(options, service, registry.clone())
            .await
            .expect("the gateway starts");
        Self {
            _root: root,
            store,
            registry,
            gateway,
            token,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.gateway.local_addr()
    }

    /// Opens a connection and sends a chat request with `body`, without
    /// reading the answer (streams, hang-ups); `close` asks the gateway to
    /// close the connection after it.
    pub(crate) async fn start_chat(&self, body: &str, close: bool) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr()).await.expect("connect");
        stream
            .write_all(chat_request(self.addr(), &self.token, "", body, close).as_bytes())
            .await
            .expect("write");
        stream
    }

    /// `POST /v1/{path}` with `body` and this world's token.
    pub(crate) async fn post(&self, path: &str, body: &str) -> Answer {
        let request = format!(
            "POST /v1/{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr(),
            self.token,
            body.len()
        );
        send(self.addr(), &request).await
    }

    /// `GET /v1/{path}` with this world's token.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        let request = format!(
            "GET /v1/{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.addr(),
            self.token
        );
        send(self.addr(), &request).await
    }
}

/// The service over a config directory holding `drafts` (keys in
/// memory), without a gateway: for the use cases the gateway's code path
/// serves directly ("Try a prompt", capability checks).
pub(crate) fn service_over(drafts: &[Draft]) -> (tempfile::TempDir, Service) {
    let root = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(ProviderStore::new(
        ConfigPaths::in_dir(root.path()),
        Arc::new(MemoryStore::new()),
    ));
    for draft in drafts {
        store.add(draft.parse()).expect("a provider");
    }
    let http = HttpClient::new(ClientOptions::default()).expect("client");
    let service = Service::with_network(store, Arc::new(http), Arc::new(StaticLookup::default()));
    (root, service)
}

/// A keyed provider on a loopback server (`network: local`).
pub(crate) fn keyed(label: &str, base_url: &str, models: &[&str]) -> Draft {
    Draft::new(label).local(base_url).key(KEY).models(models)
}

/// What came back: status, headers, the body (chunked encoding decoded).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error.code` of an OpenAI-shaped error.
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends a raw request and reads the whole answer (the request must say
/// `Connection: close`).
pub(crate) async fn send(addr: SocketAddr, request: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .expect("read");
    parse(&raw)
}

pub(crate) fn parse(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    let rest = &raw[split + 4..];
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Answer { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = data.windows(2).position(|window| window == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        body.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    body
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body) from a
/// hand-written fake provider's socket.
pub(crate) async fn read_request(socket: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        if let Some(end) = request.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return request;
            }
        }
        let read = socket.read(&mut buffer).await.expect("read the request");
        if read == 0 {
            return request;
        }
        request.extend_from_slice(&buffer[..read]);
    }
}

/// A raw `POST /v1/chat/completions` carrying `token`, the `extra` header
/// lines (each ending in `\r\n`) and `body`.
pub(crate) fn chat_request(
    addr: SocketAddr,
    token: &str,
    extra: &str,
    body: &str,
    close: bool,
) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n{connection}\r\n{body}",
        body.len()
    )
}
