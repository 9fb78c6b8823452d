//! The window follows the shared config: another writer's change emits
//! `providers-changed`, and a corrupt file at start is reported (and kept).

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use serde_json::json;
use tauri::Listener;

use crate::support::TestApp;

#[test]
fn a_change_by_another_writer_emits_providers_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let (sender, receiver) = mpsc::channel();
    app.app
        .listen_any(patchbay_app_lib::PROVIDERS_CHANGED, move |_event| {
            // The receiver may be gone once the test has its answer.
            if sender.send(()).is_err() {}
        });

    // Another process's store on the same directory (the CLI's code path).
    let other = ProviderStore::new(
        ConfigPaths::in_dir(dir.path()),
        Arc::new(MemoryStore::default()),
    );
    let draft: ProviderDraft = serde_json::from_value(json!({
        "label": "Ollama",
        "base_url": "http://127.0.0.1:11434/v1",
        "auth": "none",
        "models": ["llama3.2:3b"],
        "network": "local",
    }))
    .expect("a valid draft");
    other.add(draft).expect("the other writer saves");

    receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("providers-changed within 10 s");
    let listing = app
        .invoke("list_providers", json!({}))
        .expect("list_providers");
    assert_eq!(listing["providers"][0]["id"], "ollama");
    assert_eq!(listing["providers"][0]["auth"], "none");
}

#[test]
fn a_corrupt_config_at_start_is_moved_aside_and_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("providers.json"), b"{ this is not json").expect("write");
    let app = TestApp::new(dir.path());

    let listing = app
        .invoke("list_providers", json!({}))
        .expect("the app still opens and lists");
    assert_eq!(listing["providers"], json!([]));
    let notice = listing["notice"].as_str().expect("a notice for the banner");
    let moved: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("providers.json.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "the corrupt file is kept aside: {moved:?}");
    assert!(
        notice.contains(&moved[0]),
        "the notice says where it went: {notice}"
    );
    assert_eq!(
        std::fs::read(dir.path().join(&moved[0])).expect("moved file"),
        b"{ this is not json",
        "kept byte for byte"
    );
}
