//! Builds the app on the mock runtime and invokes commands as the webview
//! would, returning the JSON answer or the JSON error. Messages sent on a
//! channel the "webview" passed (`"__CHANNEL__:<id>"`) are kept by id.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use patchbay_app_lib::Providers;
use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

pub(crate) struct TestApp {
    pub(crate) app: App<MockRuntime>,
    pub(crate) secrets: Arc<MemoryStore>,
    channels: Arc<Channels>,
}

/// Channel messages by channel id, and a signal when one arrives.
#[derive(Default)]
struct Channels {
    messages: Mutex<HashMap<u32, Vec<Value>>>,
    arrived: Condvar,
}

impl Channels {
    fn lock(&self) -> MutexGuard<'_, HashMap<u32, Vec<Value>>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TestApp {
    pub(crate) fn new(config_dir: &Path) -> Self {
        let paths = ConfigPaths::in_dir(config_dir);
        let secrets = Arc::new(MemoryStore::default());
        let shared: Arc<dyn SecretStore> = secrets.clone();
        let providers = Providers::new(ProviderStore::new(paths, shared));
        let channels = Arc::new(Channels::default());
        let received = Arc::clone(&channels);
        let mut app = patchbay_app_lib::builder(mock_builder(), providers)
            // What a command sends on a channel is kept for the test instead
            // of being evaluated in the (absent) webview.
            .channel_interceptor(move |_webview, channel, _index, body| {
                let message = match body {
                    InvokeResponseBody::Json(json) => {
                        serde_json::from_str(json).unwrap_or(Value::Null)
                    }
                    InvokeResponseBody::Raw(bytes) => Value::from(bytes.clone()),
                };
                received.lock().entry(channel.0).or_default().push(message);
                received.arrived.notify_all();
                true
            })
            // The IPC server started in setup listens in the test's own directory,
            // never on the user's socket.
            .manage(patchbay_app_lib::IpcEndpoint(config_dir.join("ipc.sock")))
            .build(patchbay_app_lib::context())
            .expect("the app builds on the mock runtime");
        // Setup (the windows of tauri.conf.json, the config watcher) runs on
        // the first event-loop turn; one iteration on the mock runtime runs it
        // without blocking. `run_iteration` is deprecated for loops, not for this.
        #[allow(deprecated)]
        app.run_iteration(|_handle, _event| {});
        Self {
            app,
            secrets,
            channels,
        }
    }

    /// The `settings` window, opened from `tauri.conf.json`.
    pub(crate) fn settings(&self) -> WebviewWindow<MockRuntime> {
        self.app
            .get_webview_window("settings")
            .expect("tauri.conf.json opens the settings window")
    }

    /// Another window, which the capability file does not cover.
    pub(crate) fn other_window(&self) -> WebviewWindow<MockRuntime> {
        WebviewWindowBuilder::new(&self.app, "other", Default::default())
            .build()
            .expect("a second window")
    }

    pub(crate) fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        invoke_in(&self.settings(), command, args)
    }

    /// Every message sent so far on the channel passed as `"__CHANNEL__:<id>"`.
    pub(crate) fn channel(&self, id: u32) -> Vec<Value> {
        self.channels.lock().get(&id).cloned().unwrap_or_default()
    }

    /// Waits (up to 10 s) until channel `id` carried the report of `stage`;
    /// a test streaming its stages is registered and under way.
    pub(crate) fn wait_for_stage(&self, id: u32, stage: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut messages = self.channels.lock();
        loop {
            let sent = messages.get(&id).map(Vec::as_slice).unwrap_or_default();
            if let Some(report) = sent.iter().find(|report| report["stage"] == stage) {
                return report.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no `{stage}` stage on channel {id}: {sent:?}"
            );
            messages = self
                .channels
                .arrived
                .wait_timeout(messages, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

pub(crate) fn invoke_in(
    window: &WebviewWindow<MockRuntime>,
    command: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: command.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("a URL"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    tauri::test::get_ipc_response(window, request)
        .map(|body| body.deserialize::<Value>().expect("commands answer JSON"))
}

pub(crate) fn draft(label: &str, base_url: &str) -> Value {
    patchbay_testkit::Draft::new(label)
        .base_url(base_url)
        .key("sk-test-0123456789abcdef9f3a")
        .models(&["gpt-4o-mini"])
        .json()
}

/// What `test_connection` tests: a saved provider as stored.
pub(crate) fn saved(id: &str) -> Value {
    serde_json::json!({"kind": "saved", "id": id})
}

/// What `test_connection` tests: the form's typed values (`id` when the form
/// edits that saved provider).
pub(crate) fn typed(draft: Value, id: Option<&str>) -> Value {
    serde_json::json!({"kind": "draft", "draft": draft, "id": id})
}

/// The `Authorization` header of each request `server` received, in order.
pub(crate) fn authorizations(server: &patchbay_testkit::Server) -> Vec<Option<String>> {
    server
        .seen()
        .iter()
        .map(|request| request.header("authorization").map(str::to_owned))
        .collect()
}

/// A loopback server that answers `GET /v1/models` with `body` (anything
/// else 404) and records every request.
pub(crate) fn models_server(body: &str) -> patchbay_testkit::Server {
    patchbay_testkit::Server::background_http(patchbay_testkit::routes(&[(
        "GET /v1/models",
        patchbay_testkit::Canned::json(200, body),
    )]))
    .expect("a loopback server")
}

/// A loopback server that accepts connections and never answers.
pub(crate) fn silent_server() -> patchbay_testkit::SilentServer {
    patchbay_testkit::block_on(patchbay_testkit::SilentServer::start()).expect("a silent server")
}
