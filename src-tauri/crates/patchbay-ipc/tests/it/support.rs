//! Shared helpers: a server on a temp runtime dir and config dir (and, on
//! Windows, a named pipe of its own), raw connections that speak frames by
//! hand over a Unix socket or a named pipe, provider drafts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_core::ProviderId;
use patchbay_ipc::{HostRegistry, Server, ServerHandle, ServerOptions};
use patchbay_net::policy::StaticLookup;
use patchbay_net::{ClientOptions, HttpClient};
use patchbay_service::Service;
use patchbay_testkit::TempWorld;
use serde_json::{json, Value};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf,
};

/// The use cases over `store`, with the tests' resolver (see
/// [`TestEnv::service`]).
pub(crate) fn service_over(store: Arc<ProviderStore>) -> Arc<Service> {
    let http = HttpClient::new(ClientOptions::default()).expect("the HTTP client");
    let lookup = StaticLookup::default()
        .with(REMOTE_HOST, &[REMOTE_ADDRESS])
        .with(MOVED_HOST, &[REMOTE_ADDRESS])
        .with(REBINDING_HOST, &[METADATA_ADDRESS]);
    Arc::new(Service::with_network(
        store,
        Arc::new(http),
        Arc::new(lookup),
    ))
}

/// Temp directories and a store; the server is started separately so tests
/// can also start a second one.
pub(crate) struct TestEnv {
    /// The test kit's temporary world: config and runtime directories.
    pub(crate) world: TempWorld,
    pub(crate) store: Arc<ProviderStore>,
}

impl TestEnv {
    pub(crate) fn new() -> Self {
        Self::with_secrets(Arc::new(MemoryStore::new()))
    }

    /// The use cases over this environment's store, with network access.
    /// Names are answered from a table, never by a DNS server:
    /// `api.example.com` (the test providers' remote host) is a public
    /// address, which `entries.resolve` judges but nothing connects to.
    pub(crate) fn service(&self) -> Arc<Service> {
        service_over(Arc::clone(&self.store))
    }

    pub(crate) fn with_secrets(secrets: Arc<dyn SecretStore>) -> Self {
        let world = TempWorld::new().expect("a temporary world");
        let paths = ConfigPaths::in_dir(world.config_dir());
        let store = Arc::new(ProviderStore::new(paths, secrets));
        Self { world, store }
    }

    #[cfg(unix)]
    pub(crate) fn runtime_dir(&self) -> PathBuf {
        self.world.runtime_dir()
    }

    #[cfg(unix)]
    pub(crate) fn socket(&self) -> PathBuf {
        self.runtime_dir().join("ipc.sock")
    }

    /// Where this test's server listens: the socket in the temp runtime dir
    /// on Unix; on Windows a pipe named after the (unique) temp dir, since
    /// pipe names are machine-global.
    pub(crate) fn endpoint(&self) -> PathBuf {
        #[cfg(unix)]
        {
            self.socket()
        }
        #[cfg(windows)]
        {
            let unique = self
                .world
                .root()
                .file_name()
                .expect("temp dir name")
                .to_string_lossy()
                .into_owned();
            PathBuf::from(format!(r"\\.\pipe\{unique}-{}", std::process::id()))
        }
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.world.config_dir()
    }

    /// The admin secret Patchbay's own window and CLI present (this
    /// environment's store holds it).
    pub(crate) fn admin_secret(&self) -> patchbay_core::ApiKey {
        self.store.admin_secret().expect("the admin secret")
    }

    pub(crate) fn registry(&self) -> HostRegistry {
        HostRegistry::in_dir(&self.config_dir())
    }

    /// A server with the gateway on a free loopback port, as Patchbay runs.
    pub(crate) fn options(&self) -> ServerOptions {
        let mut options = ServerOptions::at(self.endpoint(), self.service());
        options.pairing_timeout = Duration::from_secs(20);
        options.gateway = Some(patchbay_ipc::GatewayOptions::at(
            "127.0.0.1:0".parse().expect("a loopback address"),
        ));
        options
    }

    pub(crate) async fn start(&self) -> ServerHandle {
        Server::start(self.options()).await.expect("server starts")
    }

    /// Adds a provider through the store, as the app does.
    pub(crate) fn add(&self, draft: Value) -> ProviderId {
        let draft: ProviderDraft = serde_json::from_value(draft).expect("draft shape");
        self.store.add(draft).expect("provider saved").provider.id
    }
}

/// The base URL of the no-auth local providers the tests add (Ollama's).
pub(crate) const LOCAL: &str = "http://127.0.0.1:11434/v1";
/// The remote providers' host, and the public address the tests' resolver
/// gives it (judged, never contacted).
pub(crate) const REMOTE_HOST: &str = "api.example.com";
pub(crate) const REMOTE_ADDRESS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(93, 184, 215, 14));
/// Another public host (a provider moved, or a file edited by hand).
pub(crate) const MOVED_HOST: &str = "collector.example.net";
/// A name whose DNS answer is the cloud metadata address.
pub(crate) const REBINDING_HOST: &str = "rebind.example.org";
const METADATA_ADDRESS: std::net::IpAddr =
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254));

/// A byte stream to the server, whatever the platform's transport.
pub(crate) trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// Connects to a server's endpoint: a Unix socket, or a named pipe.
pub(crate) async fn connect_raw(endpoint: &Path) -> Box<dyn Duplex> {
    #[cfg(unix)]
    {
        Box::new(
            tokio::net::UnixStream::connect(endpoint)
                .await
                .expect("connect"),
        )
    }
    #[cfg(windows)]
    {
        use tokio::net::windows::named_pipe::ClientOptions;
        // ERROR_PIPE_BUSY: every instance is taken for a moment; the server
        // creates the next right after accepting.
        const ERROR_PIPE_BUSY: i32 = 231;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match ClientOptions::new().open(endpoint.as_os_str()) {
                Ok(pipe) => return Box::new(pipe),
                Err(error)
                    if error.raw_os_error() == Some(ERROR_PIPE_BUSY)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(error) => panic!("connect to {}: {error}", endpoint.display()),
            }
        }
    }
}

/// A connection that writes and reads raw lines.
pub(crate) struct Raw {
    pub(crate) lines: tokio::io::Lines<BufReader<ReadHalf<Box<dyn Duplex>>>>,
    pub(crate) writer: WriteHalf<Box<dyn Duplex>>,
}

impl Raw {
    pub(crate) async fn connect(endpoint: &Path) -> Self {
        let (read, writer) = tokio::io::split(connect_raw(endpoint).await);
        Self {
            lines: BufReader::new(read).lines(),
            writer,
        }
    }

    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    pub(crate) async fn send(&mut self, frame: &str) {
        self.send_bytes(frame.as_bytes()).await;
        self.send_bytes(b"\n").await;
    }

    pub(crate) async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("a frame in time")
            .expect("readable")
            .expect("connection open");
        serde_json::from_str(&line).expect("the server sends JSON")
    }

    pub(crate) async fn call(&mut self, id: i64, method: &str, params: Option<Value>) -> Value {
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if let Some(params) = params {
            request["params"] = params;
        }
        self.send(&request.to_string()).await;
        self.read().await
    }
}

/// Waits until `condition` holds, polling; panics after `limit`.
pub(crate) async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `target/debug/patchbay` (the CLI) or `target/debug/examples/host`,
/// brought up to date once per test run: `cargo test -p patchbay-ipc` does
/// not build other packages' binaries by itself. Unix only: under Wine there
/// is no cargo to run.
#[cfg(unix)]
pub(crate) fn cargo_binary(package: &str, example: Option<&str>) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{package}:{example:?}");
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let relative = match example {
        Some(example) => format!("examples/{example}"),
        None => "patchbay".to_owned(),
    };
    if !built.contains(&key) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = std::process::Command::new(cargo);
        // The variables cargo sets for this test process would change the
        // nested build's fingerprints and rebuild the world each run.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || name == "LD_LIBRARY_PATH"
            {
                command.env_remove(name.as_ref());
            }
        }
        // Exactly the build scripts/test.sh runs before the tests, so in CI
        // this is a no-op: a `-p <package>` build would resolve features
        // differently and recompile shared dependencies.
        command.args(["build", "--quiet", "--workspace", "--all-targets"]);
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "building {key} failed");
        built.push(key);
    }
    built_binary(&relative)
}

/// A binary cargo built next to this test binary (`target/debug/…`).
#[cfg(unix)]
pub(crate) fn built_binary(relative: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let debug_dir = exe.parent().and_then(Path::parent).expect("target/debug");
    debug_dir.join(relative)
}

/// Every file under `directory`, recursively, as bytes.
pub(crate) fn all_file_contents(directory: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![directory.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                stack.push(path);
            } else if file_type.is_file() {
                if let Ok(bytes) = std::fs::read(&path) {
                    found.push((path, bytes));
                }
            }
        }
    }
    found
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Pairs `client` with `server` (the person clicks Allow) and returns the token.
pub(crate) async fn paired_token(
    server: &ServerHandle,
    client: &patchbay_client::Client,
) -> String {
    let pairing = tokio::spawn({
        let client = client.clone();
        async move { client.pair("com.example.tester", "Tester").await }
    });
    let mut request = None;
    eventually(Duration::from_secs(5), || {
        request = server.pairings().pending().into_iter().next();
        request.is_some()
    })
    .await;
    let request = request.expect("a pending request");
    server
        .pairings()
        .approve(&request.request_id)
        .expect("Allow");
    pairing.await.expect("join").expect("paired").token
}
