//! Builds the app on the mock runtime and invokes commands as the webview
//! would, returning the JSON answer or the JSON error.

use std::path::Path;
use std::sync::Arc;

use patchbay_app_lib::Providers;
use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

pub(crate) struct TestApp {
    pub(crate) app: App<MockRuntime>,
    pub(crate) secrets: Arc<MemoryStore>,
}

impl TestApp {
    pub(crate) fn new(config_dir: &Path) -> Self {
        let paths = ConfigPaths::in_dir(config_dir);
        let secrets = Arc::new(MemoryStore::default());
        let shared: Arc<dyn SecretStore> = secrets.clone();
        let providers = Providers::new(ProviderStore::new(paths.clone(), shared), paths);
        let mut app = patchbay_app_lib::builder(mock_builder(), providers)
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
        Self { app, secrets }
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
    serde_json::json!({
        "label": label,
        "base_url": base_url,
        "auth": "api_key",
        "key": {"action": "set", "value": "sk-test-0123456789abcdef9f3a"},
        "models": ["gpt-4o-mini"],
        "network": "remote",
    })
}
