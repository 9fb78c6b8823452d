//! A provider added by another process (the `patchbay` CLI) while the window
//! is open appears in the list without a restart: the app watches the shared
//! config and emits `providers-changed`.

use std::process::Command;

use patchbay_tests::app::AppSession;

/// Adds a no-auth Ollama provider the way a terminal user would: through the
/// real `patchbay` CLI binary, a separate process writing the same file.
fn add_from_another_process(session: &AppSession) {
    let cli = patchbay_tests::target_debug_dir().join("patchbay");
    assert!(
        cli.is_file(),
        "{} is missing: build it first (`cargo build -p patchbay-cli`; scripts/test.sh does)",
        cli.display()
    );
    let output = Command::new(&cli)
        .args([
            "provider",
            "add",
            "--label",
            "Ollama (CLI)",
            "--base-url",
            "http://127.0.0.1:11434/v1",
        ])
        .args([
            "--model",
            "llama3.2:3b",
            "--no-auth",
            "--allow-local",
            "--preset",
            "ollama",
        ])
        .env("PATCHBAY_CONFIG_DIR", session.config_dir())
        .output()
        .expect("the patchbay CLI runs");
    assert!(
        output.status.success(),
        "patchbay provider add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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
