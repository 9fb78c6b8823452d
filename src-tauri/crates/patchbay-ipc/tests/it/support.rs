//! Shared helpers: a server on a temp runtime dir and config dir, raw socket
//! connections that speak frames by hand, provider drafts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_core::ProviderId;
use patchbay_ipc::{HostRegistry, Server, ServerHandle, ServerOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Temp directories and a store; the server is started separately so tests
/// can also start a second one.
pub(crate) struct TestEnv {
    pub(crate) root: tempfile::TempDir,
    pub(crate) store: Arc<ProviderStore>,
}

impl TestEnv {
    pub(crate) fn new() -> Self {
        Self::with_secrets(Arc::new(MemoryStore::new()))
    }

    pub(crate) fn with_secrets(secrets: Arc<dyn SecretStore>) -> Self {
        // Short paths: a Unix socket path must fit in 108 bytes.
        let root = tempfile::Builder::new()
            .prefix("pbipc")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let paths = ConfigPaths::in_dir(root.path().join("config"));
        let store = Arc::new(ProviderStore::new(paths, secrets));
        Self { root, store }
    }

    pub(crate) fn runtime_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.runtime_dir().join("ipc.sock")
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    pub(crate) fn registry(&self) -> HostRegistry {
        HostRegistry::in_dir(&self.config_dir())
    }

    pub(crate) fn options(&self) -> ServerOptions {
        let mut options = ServerOptions::at(self.socket(), Arc::clone(&self.store));
        options.pairing_timeout = Duration::from_secs(20);
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

pub(crate) fn no_auth_draft(label: &str, models: &[&str]) -> Value {
    json!({"label": label, "base_url": "http://127.0.0.1:11434/v1", "auth": "none", "network": "local", "models": models})
}

pub(crate) fn keyed_draft(label: &str, key: &str, models: &[&str]) -> Value {
    json!({"label": label, "base_url": "https://api.example.com/v1", "auth": "api_key",
           "key": {"action": "set", "value": key}, "models": models})
}

/// A connection that writes and reads raw lines.
pub(crate) struct Raw {
    pub(crate) lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    pub(crate) writer: OwnedWriteHalf,
}

impl Raw {
    pub(crate) async fn connect(socket: &Path) -> Self {
        let stream = UnixStream::connect(socket).await.expect("connect");
        let (read, writer) = stream.into_split();
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
/// not build other packages' binaries by itself.
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
