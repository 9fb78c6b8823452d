//! Connected apps through the IPC layer: the app starts its IPC server in
//! setup; a host (raw JSON lines over the Unix socket, as any language
//! would) asks to pair, the window gets `pairing-requested`, Allow hands the
//! host its token, the app is listed, its resolves are logged, and Revoke
//! makes the token useless. A second app on the same socket reports
//! "elsewhere" instead of failing.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use patchbay_app_lib::{IpcEndpoint, Providers, PAIRING_REQUESTED};
use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use serde_json::{json, Value};
use tauri::test::{mock_builder, MockRuntime};
use tauri::{App, Listener, Manager};

use crate::support::{draft, invoke_in};

const KEY: &str = "sk-test-0123456789abcdef9f3a";

struct HostsApp {
    app: App<MockRuntime>,
    requested: Arc<Mutex<Vec<Value>>>,
}

impl HostsApp {
    fn new(config_dir: &Path, socket: &Path) -> Self {
        Self::with_keychain(config_dir, socket, Arc::new(MemoryStore::default()))
    }

    /// Two apps of one user share the keychain (and so the admin secret).
    fn with_keychain(config_dir: &Path, socket: &Path, secrets: Arc<dyn SecretStore>) -> Self {
        // The gateway on a free port, never the default one.
        let mut settings = patchbay_core::settings::Settings::default();
        settings.gateway.addr = "127.0.0.1:0".to_owned();
        patchbay_core::settings::save(config_dir, &settings).expect("settings.json");
        let paths = ConfigPaths::in_dir(config_dir);
        let providers = Providers::new(ProviderStore::new(paths, secrets));
        let mut app = patchbay_app_lib::builder(mock_builder(), providers)
            .manage(IpcEndpoint(socket.to_owned()))
            .build(patchbay_app_lib::context())
            .expect("the app builds on the mock runtime");
        let requested = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requested);
        app.listen_any(PAIRING_REQUESTED, move |event| {
            let payload = serde_json::from_str(event.payload()).unwrap_or(Value::Null);
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(payload);
        });
        // Setup (and with it the IPC server's start) runs on the first turn.
        #[allow(deprecated)]
        app.run_iteration(|_handle, _event| {});
        Self { app, requested }
    }

    fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let window = self
            .app
            .get_webview_window("settings")
            .expect("the settings window");
        invoke_in(&window, command, args)
    }

    fn wait_for_state(&self, state: &str) -> Value {
        poll(&format!("hosts_status {state}"), || {
            let status = self.invoke("hosts_status", json!({})).ok()?;
            (status["state"] == state).then_some(status)
        })
    }
}

fn poll<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One JSON-RPC call on a fresh connection, as a host written in any
/// language would make it.
fn call(socket: &Path, method: &str, params: Value) -> Value {
    let mut stream = UnixStream::connect(socket).expect("connect to the app's socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let frame = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    writeln!(stream, "{frame}").expect("send a frame");
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .expect("read the answer");
    serde_json::from_str(&line).expect("the answer is JSON")
}

fn pair_in_background(
    socket: PathBuf,
    app_id: &'static str,
    app_name: &'static str,
) -> std::thread::JoinHandle<Value> {
    std::thread::spawn(move || {
        call(
            &socket,
            "host.pair",
            json!({"app_id": app_id, "app_name": app_name}),
        )
    })
}

fn wait_for_pending(app: &HostsApp, app_id: &str) -> Value {
    poll(&format!("a pending request from {app_id}"), || {
        let pending = app.invoke("pending_pairings", json!({})).ok()?;
        pending
            .as_array()?
            .iter()
            .find(|request| request["app_id"] == app_id)
            .cloned()
    })
}

#[test]
fn allow_pairs_the_host_lists_it_logs_its_resolves_and_revoke_refuses_its_token() {
    let config = tempfile::tempdir().expect("temp dir");
    let runtime = tempfile::tempdir().expect("temp dir");
    let socket = runtime.path().join("ipc.sock");
    let app = HostsApp::new(config.path(), &socket);
    let status = app.wait_for_state("running");
    assert_eq!(status["endpoint"], socket.display().to_string());
    // A loopback literal: resolve judges the URL with DNS at use, and tests
    // never ask a DNS server.
    let mut keyed = draft("Team Gateway", "http://127.0.0.1:11434/v1");
    keyed["network"] = json!("local");
    app.invoke("add_provider", json!({ "draft": keyed }))
        .expect("add");

    let host = pair_in_background(socket.clone(), "com.example.editor", "Example Editor");
    let request = wait_for_pending(&app, "com.example.editor");
    assert_eq!(request["app_name"], "Example Editor");
    let announced = poll("the pairing-requested event", || {
        app.requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first()
            .cloned()
    });
    assert_eq!(announced["request_id"], request["request_id"]);
    assert_eq!(announced["app_name"], "Example Editor");

    let paired = app
        .invoke(
            "approve_pairing",
            json!({"requestId": request["request_id"]}),
        )
        .expect("approve");
    assert_eq!(paired["app_id"], "com.example.editor");
    assert!(
        paired.get("token").is_none(),
        "the window never sees the token: {paired}"
    );
    let answer = host.join().expect("the host thread");
    let token = answer["result"]["token"]
        .as_str()
        .expect("the host received a token")
        .to_owned();
    assert!(app
        .invoke("pending_pairings", json!({}))
        .expect("pending")
        .as_array()
        .is_some_and(Vec::is_empty));

    let listed = app.invoke("list_paired_hosts", json!({})).expect("list");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["app_name"], "Example Editor");
    assert!(!listed.to_string().contains(&token), "no token in the list");

    // Protocol 2: the window's gateway and the app's own token.
    let through = call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "team-gateway/gpt-4o-mini", "protocol": 2}),
    );
    let gateway =
        app.invoke("hosts_status", json!({})).expect("status")["gateway"]["base_url"].clone();
    assert!(gateway.is_string(), "the window runs the gateway");
    assert_eq!(through["result"]["base_url"], gateway, "{through}");
    assert_eq!(
        through["result"]["headers"]["Authorization"],
        format!("Bearer {token}")
    );
    // Protocol 1 asks for the raw key: only after the person allows it.
    let refused = call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "team-gateway/gpt-4o-mini"}),
    );
    assert_eq!(
        refused["error"]["data"]["reason"], "raw_keys_not_allowed",
        "{refused}"
    );
    assert_eq!(
        app.invoke(
            "set_raw_keys",
            json!({"appId": "com.example.editor", "allowed": true})
        )
        .expect("allow raw keys"),
        json!(true)
    );
    let resolved = call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "team-gateway/gpt-4o-mini"}),
    );
    assert_eq!(
        resolved["result"]["headers"]["Authorization"],
        format!("Bearer {KEY}"),
        "{resolved}"
    );
    let log = app.invoke("resolve_log", json!({})).expect("resolve_log");
    assert_eq!(log[0]["app_id"], "com.example.editor", "{log}");
    assert_eq!(log[0]["entry_id"], "team-gateway/gpt-4o-mini");
    assert!(!log.to_string().contains(KEY), "the log holds no key");
    let used = app.invoke("list_paired_hosts", json!({})).expect("list");
    assert!(
        used[0]["last_used"].is_string(),
        "the resolve updates last used: {used}"
    );

    assert_eq!(
        app.invoke("revoke_host", json!({"appId": "com.example.editor"}))
            .expect("revoke"),
        json!(true)
    );
    assert!(app
        .invoke("list_paired_hosts", json!({}))
        .expect("list")
        .as_array()
        .is_some_and(Vec::is_empty));
    let refused = call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "team-gateway/gpt-4o-mini"}),
    );
    assert_eq!(
        refused["error"]["data"]["kind"], "unauthorized",
        "{refused}"
    );
    assert_eq!(
        refused["error"]["data"]["reason"], "token_rejected",
        "{refused}"
    );
    assert_eq!(
        app.invoke("revoke_host", json!({"appId": "com.example.editor"}))
            .expect("revoke again"),
        json!(false)
    );
}

#[test]
fn deny_gives_the_host_no_token_and_a_decided_request_cannot_be_approved() {
    let config = tempfile::tempdir().expect("temp dir");
    let runtime = tempfile::tempdir().expect("temp dir");
    let socket = runtime.path().join("ipc.sock");
    let app = HostsApp::new(config.path(), &socket);
    app.wait_for_state("running");

    let host = pair_in_background(socket.clone(), "org.example.terminal", "Terminal");
    let request = wait_for_pending(&app, "org.example.terminal");
    let denied = app
        .invoke("deny_pairing", json!({"requestId": request["request_id"]}))
        .expect("deny");
    assert_eq!(denied["app_id"], "org.example.terminal");
    let answer = host.join().expect("the host thread");
    assert_eq!(
        answer["error"]["data"]["kind"], "pairing_denied",
        "{answer}"
    );
    assert!(answer.get("result").is_none());
    assert!(app
        .invoke("list_paired_hosts", json!({}))
        .expect("list")
        .as_array()
        .is_some_and(Vec::is_empty));

    let late = app
        .invoke(
            "approve_pairing",
            json!({"requestId": request["request_id"]}),
        )
        .expect_err("already decided");
    assert_eq!(late["kind"], "not_pending", "{late}");
    assert!(late["message"]
        .as_str()
        .is_some_and(|message| !message.is_empty()));
}

#[test]
fn a_second_app_on_a_served_socket_reports_elsewhere_and_decides_through_the_first() {
    let config = tempfile::tempdir().expect("temp dir");
    let runtime = tempfile::tempdir().expect("temp dir");
    let socket = runtime.path().join("ipc.sock");
    let keychain: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let first = HostsApp::with_keychain(config.path(), &socket, Arc::clone(&keychain));
    first.wait_for_state("running");
    let second = HostsApp::with_keychain(config.path(), &socket, keychain);
    let status = second.wait_for_state("elsewhere");
    assert!(
        status["message"]
            .as_str()
            .is_some_and(|message| message.contains("already serving")),
        "{status}"
    );

    let host = pair_in_background(socket.clone(), "com.example.chat", "Chat");
    let request = wait_for_pending(&second, "com.example.chat");
    second
        .invoke(
            "approve_pairing",
            json!({"requestId": request["request_id"]}),
        )
        .expect("approve through the first app");
    let answer = host.join().expect("the host thread");
    assert!(answer["result"]["token"].is_string(), "{answer}");
    let listed = second
        .invoke("list_paired_hosts", json!({}))
        .expect("list from hosts.json");
    assert_eq!(listed[0]["app_id"], "com.example.chat", "{listed}");
}
