//! A provider added by another process (the `patchbay` CLI) while the window
//! is open appears in the list without a restart: the app watches the shared
//! config and emits `providers-changed`.

use std::process::Command;
use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_tests::app::AppSession;

/// Adds a no-auth Ollama provider the way a terminal user would: through the
/// CLI binary when it has been built, otherwise through `ProviderStore`, the
/// very code path the CLI calls (another writer of the same file either way).
fn add_from_another_process(session: &AppSession) {
    let cli = patchbay_tests::target_debug_dir().join("patchbay");
    if cli.is_file() {
        let output = Command::new(&cli)
            .args(["provider", "add", "--label", "Ollama (CLI)", "--base-url", "http://127.0.0.1:11434/v1"])
            .args(["--model", "llama3.2:3b", "--no-auth", "--allow-local", "--preset", "ollama"])
            .env("PATCHBAY_CONFIG_DIR", session.config_dir())
            .output()
            .expect("the patchbay CLI runs");
        assert!(
            output.status.success(),
            "patchbay provider add failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    eprintln!("note: {} is not built; writing through ProviderStore instead", cli.display());
    let store = ProviderStore::new(ConfigPaths::in_dir(session.config_dir()), Arc::new(MemoryStore::default()));
    let draft: ProviderDraft = serde_json::from_value(serde_json::json!({
        "label": "Ollama (CLI)",
        "preset": "ollama",
        "base_url": "http://127.0.0.1:11434/v1",
        "auth": "none",
        "models": ["llama3.2:3b"],
        "network": "local",
    }))
    .expect("a valid draft");
    store.add(draft).expect("the store saves the provider");
}

#[test]
fn a_provider_added_by_the_cli_while_the_app_is_open_appears_in_the_list() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");

    add_from_another_process(&session);

    let row = "[data-testid=\"provider-item-ollama-cli\"]";
    session.wait_visible(row);
    let listed = session.text(row);
    assert!(listed.contains("Ollama (CLI)"), "{listed}");
    assert!(listed.contains("No authentication"), "{listed}");
    assert!(listed.contains("llama3.2:3b"), "{listed}");
    session.wait_gone("#empty-state");
}
