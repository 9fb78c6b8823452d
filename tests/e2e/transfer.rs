//! Import and export in the window: a dropped export file is previewed
//! (new, colliding, refused, widening) with nothing written; the person's
//! choices and yes are applied in one write; imported providers show that
//! they need a key; Export saves a file with no secret in it.

use patchbay_testkit::Draft;
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;
use serde_json::json;

/// The private home, from a folder inside it.
fn home_path(inside: &std::path::Path) -> std::path::PathBuf {
    inside
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

fn drop_file(session: &AppSession, name: &str, contents: &str) {
    let script = format!(
        "const data = new DataTransfer(); data.items.add(new File([{}], {}, {{type: 'application/json'}})); \
         document.querySelector('#import-dialog').dispatchEvent(new DragEvent('drop', {{dataTransfer: data, bubbles: true, cancelable: true}}));",
        serde_json::to_string(contents).unwrap_or_default(),
        serde_json::to_string(name).unwrap_or_default()
    );
    session.script(&script);
}

#[test]
fn a_dropped_export_is_previewed_then_imported_as_chosen_and_export_holds_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Here")
            .local("http://127.0.0.1:9/v1")
            .models(&["m"])],
    );
    // Exports go to the Downloads folder: one inside the private home.
    let home = tempfile::tempdir().expect("home");
    let xdg_config = home.path().join("xdg-config");
    let downloads = home.path().join("Downloads");
    std::fs::create_dir_all(&xdg_config).expect("xdg config");
    std::fs::create_dir_all(&downloads).expect("downloads");
    std::fs::write(
        xdg_config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )
    .expect("user dirs");
    let session = AppSession::start_with_env(
        dir,
        home,
        &[
            ("XDG_CONFIG_HOME", &xdg_config),
            ("HOME", &home_path(&downloads)),
        ],
    );
    let provider = |id: &str, label: &str, base_url: &str, network: &str, auth: &str| {
        json!({"id": id, "label": label, "base_url": base_url, "auth": auth, "network": network, "enabled": true,
               "models": [{"id": "model-1", "display_name": "Model One"}]})
    };
    let export = json!({
        "format": "patchbay-export", "version": 1, "exported_at": "2026-12-05T10:00:00Z",
        "providers": [
            provider("cloud", "Cloud", "https://api.cloud.example/v1", "remote", "api_key"),
            provider("box", "Box", "http://127.0.0.1:8000/v1", "local", "none"),
            provider("here", "Here, renamed", "http://127.0.0.1:9/v1", "local", "none"),
            provider("metadata", "Metadata", "http://169.254.169.254/latest", "private", "none"),
        ],
    });
    let before = session.config_json();

    session.click("#open-import");
    session.wait_visible("#import-dialog");
    drop_file(&session, "patchbay-export.json", &export.to_string());
    session.wait_until("the preview", || {
        session
            .text("#import-summary")
            .contains("to add")
            .then_some(())
    });
    let cloud = session.text("[data-testid=\"import-item-cloud\"]");
    assert!(
        cloud.contains("New") && cloud.contains("Needs a key"),
        "{cloud}"
    );
    let boxed = session.text("[data-testid=\"import-item-box\"]");
    assert!(boxed.contains("Allow it to reach this computer"), "{boxed}");
    assert_eq!(
        session
            .attribute("[data-testid=\"import-item-box\"]", "data-action")
            .as_deref(),
        Some("skip")
    );
    assert!(session
        .text("[data-testid=\"import-item-here\"]")
        .contains("Already here"));
    assert!(session
        .text("[data-testid=\"import-item-metadata\"]")
        .contains("Not imported"));
    assert_eq!(
        session.config_json(),
        before,
        "nothing written by the preview"
    );

    session.click("[data-testid=\"import-item-box-allow\"]");
    session.wait_until("box allowed", || {
        (session
            .attribute("[data-testid=\"import-item-box\"]", "data-action")
            .as_deref()
            == Some("add"))
        .then_some(())
    });
    session.script("const select = document.querySelector('[data-testid=\"import-item-here-choice\"]'); select.value = 'replace'; select.dispatchEvent(new Event('change'));");
    session.wait_until("here replaced", || {
        session
            .text("#import-summary")
            .contains("2 to add, 1 to replace")
            .then_some(())
    });
    session.keep_screenshot("import-preview.png");
    session.click("#import-apply");
    session.wait_gone("#import-dialog");
    let config = session.config_json();
    let ids: Vec<&str> = config["providers"]
        .as_array()
        .map(|providers| providers.iter().filter_map(|p| p["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["here", "cloud", "box"]);
    assert_eq!(config["providers"][0]["label"], "Here, renamed");
    assert_eq!(
        config["providers"][1]["models"][0]["display_name"],
        "Model One"
    );
    session.wait_until("the imported provider in the list, needing a key", || {
        session
            .text("[data-testid=\"provider-select-cloud\"]")
            .contains("No key")
            .then_some(())
    });

    session.click("#open-export");
    session.wait_visible("#export-dialog");
    session.click("#export-save");
    session.wait_until("the export saved", || {
        session
            .text("#export-result")
            .contains("Saved 3 providers")
            .then_some(())
    });
    let shown = session.text("#export-result");
    let path = shown.split(" to ").last().unwrap_or("").trim().to_owned();
    assert!(
        path.starts_with(
            &session
                .private_home()
                .join("Downloads")
                .display()
                .to_string()
        ),
        "{path}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the export file"))
            .expect("JSON");
    assert_eq!(written["format"], "patchbay-export");
    assert_eq!(written["providers"].as_array().map(Vec::len), Some(3));
    assert!(written["providers"][1].get("key_hint").is_none());
}
