//! The app's own UI state (tauri-plugin-store, not the shared config): the
//! theme choice and the last selected provider survive closing and reopening
//! the window, and the shared config file is not touched by either.

use patchbay_testkit::Draft;
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;

#[test]
fn the_theme_choice_and_the_last_selected_provider_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Alpha")
                .local("http://127.0.0.1:8001/v1")
                .models(&["model-a"]),
            Draft::new("Zulu")
                .local("http://127.0.0.1:8002/v1")
                .models(&["model-a"]),
        ],
    );
    let session = AppSession::start_in(dir);
    // With nothing remembered, the first provider is shown and the theme follows the system.
    session.wait_until("Alpha selected", || {
        session
            .text("#detail-subtitle")
            .ends_with("ID alpha")
            .then_some(())
    });
    assert_eq!(
        session.script("return document.documentElement.dataset.theme || 'system';"),
        "system"
    );
    let config_before = std::fs::read(session.config_file()).expect("providers.json");

    session.select_provider("zulu");
    // Picking from the select, as its change event would report it.
    session.script("const choice = document.getElementById('theme-choice'); choice.value = 'dark'; choice.dispatchEvent(new Event('change')); return true;");
    session.wait_until("the dark theme", || {
        (session.script("return document.documentElement.dataset.theme || null;") == "dark")
            .then_some(())
    });
    // The store saves debounced; give it a moment before closing.
    std::thread::sleep(std::time::Duration::from_millis(600));

    let session = session.restart();
    session.wait_until("Zulu selected again", || {
        session
            .text("#detail-subtitle")
            .ends_with("ID zulu")
            .then_some(())
    });
    assert_eq!(
        session.script("return document.documentElement.dataset.theme || null;"),
        "dark"
    );
    assert_eq!(
        session.script("return document.getElementById('theme-choice').value;"),
        "dark"
    );
    assert_eq!(
        std::fs::read(session.config_file()).expect("providers.json"),
        config_before,
        "UI state never goes into the shared config"
    );
}

/// Runs a promise-returning expression in the window and waits for how it
/// settled: `ok: …` or `refused: …`.
fn settle(session: &AppSession, expression: &str) -> String {
    session.script(&format!(
        "window.__settled = null; Promise.resolve().then(() => {expression}).then((value) => {{ window.__settled = 'ok: ' + JSON.stringify(value); }}, (error) => {{ window.__settled = 'refused: ' + JSON.stringify(error); }}); return true;"
    ));
    session.wait_until("the call to settle", || {
        session
            .script("return window.__settled;")
            .as_str()
            .map(str::to_owned)
    })
}

#[test]
fn the_window_cannot_write_files_through_the_store_or_change_other_settings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("hosts.json");
    let session = AppSession::start_in(dir);
    let path = serde_json::to_string(&target.display().to_string()).expect("json");
    // The store plugin's load takes any path: it is not granted to the window.
    let load = settle(
        &session,
        &format!("window.__TAURI__.core.invoke('plugin:store|load', {{ path: {path} }})"),
    );
    assert!(load.starts_with("refused"), "{load}");
    let set = settle(
        &session,
        "window.__TAURI__.core.invoke('plugin:store|set', { rid: 1, key: 'x', value: 1 })",
    );
    assert!(set.starts_with("refused"), "{set}");
    assert!(!target.exists(), "no file was written");

    // Only the two UI settings, with valid values.
    let other = settle(
        &session,
        "window.__TAURI__.core.invoke('set_ui_setting', { key: 'window_size', value: { width: 1 } })",
    );
    assert!(other.starts_with("refused"), "{other}");
    let bad_theme = settle(
        &session,
        "window.__TAURI__.core.invoke('set_ui_setting', { key: 'theme', value: '../../hosts' })",
    );
    assert!(bad_theme.starts_with("refused"), "{bad_theme}");
    let theme = settle(
        &session,
        "window.__TAURI__.core.invoke('set_ui_setting', { key: 'theme', value: 'light' }).then(() => window.__TAURI__.core.invoke('get_ui_setting', { key: 'theme' }))",
    );
    assert_eq!(theme, "ok: \"light\"");
}
