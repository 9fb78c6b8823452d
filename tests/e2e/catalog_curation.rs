//! The person curates the catalog in the window: providers are reordered
//! from the keyboard (the file's order, which `patchbay entries` follows,
//! and which a CLI move changes back in the window), and models are hidden,
//! renamed, moved, added and removed one at a time from the Models card.

use std::process::Command;

use patchbay_testkit::Draft;
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;
use patchbay_tests::webdriver::keys;
use serde_json::Value;

fn sidebar_order(session: &AppSession) -> Vec<String> {
    let ids = session.script(
        "return Array.from(document.querySelectorAll('#provider-list .provider-item')).map((row) => row.dataset.id);",
    );
    serde_json::from_value(ids).unwrap_or_default()
}

fn file_order(session: &AppSession) -> Vec<String> {
    session.config_json()["providers"]
        .as_array()
        .map(|providers| {
            providers
                .iter()
                .filter_map(|provider| provider["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn cli(session: &AppSession, args: &[&str]) -> Value {
    let output = Command::new(patchbay_tests::target_debug_dir().join("patchbay"))
        .envs(session.env())
        .arg("--json")
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("patchbay {args:?}: {error}"));
    assert!(output.status.success(), "patchbay {args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("not JSON: {error}"))
}

#[test]
fn providers_reorder_from_the_keyboard_and_models_are_curated_one_at_a_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Alpha").local("http://127.0.0.1:9/v1").models(&[
                "a-one",
                "org/a-two:q4",
                "a-three",
            ]),
            Draft::new("Beta")
                .local("http://127.0.0.1:9/v1")
                .models(&["b"]),
            Draft::new("Gamma")
                .local("http://127.0.0.1:9/v1")
                .models(&["g"]),
        ],
    );
    let session = AppSession::start_in(dir);
    session.wait_visible("[data-testid=\"provider-item-gamma\"]");
    assert_eq!(
        sidebar_order(&session),
        ["alpha", "beta", "gamma"],
        "the file's order, not sorted by name"
    );

    // Alt+↑ twice on Gamma: first everywhere, the focus stays on it.
    session.click("[data-testid=\"provider-select-gamma\"]");
    session.press_with(&[keys::ALT], &[keys::ARROW_UP]);
    session.wait_until("Gamma second", || {
        (file_order(&session) == ["alpha", "gamma", "beta"]).then_some(())
    });
    session.wait_until("the focus on Gamma", || {
        (session.focused() == "provider-select-gamma").then_some(())
    });
    session.press_with(&[keys::ALT], &[keys::ARROW_UP]);
    session.wait_until("Gamma first in the file", || {
        (file_order(&session) == ["gamma", "alpha", "beta"]).then_some(())
    });
    session.wait_until("Gamma first in the list", || {
        (sidebar_order(&session) == ["gamma", "alpha", "beta"]).then_some(())
    });
    assert!(
        session
            .text("#provider-order-status")
            .contains("Gamma moved to position 1 of 3"),
        "announced: {}",
        session.text("#provider-order-status")
    );
    let entries = cli(&session, &["entries"]);
    let entry_ids: Vec<&str> = entries["entries"]
        .as_array()
        .or(entries.as_array())
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        entry_ids,
        [
            "gamma/g",
            "alpha/a-one",
            "alpha/org/a-two:q4",
            "alpha/a-three",
            "beta/b"
        ],
        "{entries}"
    );

    // A move made with the CLI shows in the open window.
    cli(&session, &["provider", "move", "alpha", "--to", "1"]);
    session.wait_until("the CLI's order in the window", || {
        (sidebar_order(&session) == ["alpha", "gamma", "beta"]).then_some(())
    });

    // The Models card: hide the default, rename, move, add, remove.
    session.select_provider("alpha");
    session.click("[data-testid=\"model-hide-0\"]");
    session.wait_until("a-one hidden in the file", || {
        (session.config_json()["providers"][0]["models"][0]["hidden"] == true).then_some(())
    });
    session.wait_until("the default moves to the next shown model", || {
        session
            .text("[data-testid=\"model-row-1\"]")
            .contains("Default")
            .then_some(())
    });
    assert!(session
        .text("[data-testid=\"model-row-0\"]")
        .contains("Hidden from apps"));

    session.click("[data-testid=\"model-rename-1\"]");
    session.wait_visible("[data-testid=\"model-name-input-1\"]");
    session.type_into("[data-testid=\"model-name-input-1\"]", "Two, quantised");
    session.press(&[keys::ENTER]);
    session.wait_until("the display name saved", || {
        (session.config_json()["providers"][0]["models"][1]["display_name"] == "Two, quantised")
            .then_some(())
    });
    session.wait_until("the row shows the name and the raw id", || {
        let row = session.text("[data-testid=\"model-row-1\"]");
        (row.contains("Two, quantised") && row.contains("org/a-two:q4")).then_some(())
    });

    session.click("[data-testid=\"model-down-0\"]");
    session.wait_until("a-one moved down", || {
        let models = session.config_json()["providers"][0]["models"].clone();
        (models[0]["id"] == "org/a-two:q4" && models[1]["id"] == "a-one").then_some(())
    });

    session.type_into("#add-model-input", "a-four");
    session.click("[data-testid=\"add-model\"]");
    session.wait_until("a-four added last", || {
        (session.config_json()["providers"][0]["models"][3]["id"] == "a-four").then_some(())
    });
    // Adding one already there is refused, saying where it is.
    session.type_into("#add-model-input", "a-three");
    session.click("[data-testid=\"add-model\"]");
    session.wait_until("the duplicate refused", || {
        session
            .text("#toasts")
            .contains("already model 3")
            .then_some(())
    });

    session.click("[data-testid=\"model-remove-2\"]");
    session.wait_until("a-three removed", || {
        let models = session.config_json()["providers"][0]["models"].clone();
        let ids: Vec<&str> = models
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter_map(|model| model["id"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        (ids == ["org/a-two:q4", "a-one", "a-four"]).then_some(())
    });
    session.keep_screenshot("catalog-curation-models.png");

    // What apps see: the hidden model is not an entry; the name is the label.
    let entries = cli(&session, &["entries"]);
    let alpha: Vec<(String, String)> = entries["entries"]
        .as_array()
        .or(entries.as_array())
        .map(|entries| {
            entries
                .iter()
                .filter(|entry| entry["provider"]["id"] == "alpha")
                .map(|entry| {
                    (
                        entry["id"].as_str().unwrap_or("").to_owned(),
                        entry["label"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        alpha,
        [
            (
                "alpha/org/a-two:q4".to_owned(),
                "Two, quantised · Alpha".to_owned()
            ),
            ("alpha/a-four".to_owned(), "a-four · Alpha".to_owned()),
        ],
        "{entries}"
    );
}

#[test]
fn capabilities_are_checked_only_after_the_person_agrees_and_show_as_badges() {
    use patchbay_testkit::shapes::{capability_fake, Behaviour, FakeModel};
    use patchbay_testkit::Server;

    let server = Server::background_http(capability_fake(
        &["smart", "plain"],
        FakeModel {
            streaming: Behaviour::Supports,
            tools: Behaviour::Supports,
            image_input: Behaviour::Lacks,
            json_output: Behaviour::RateLimits,
        },
    ))
    .expect("a loopback server");
    // "plain" answers nothing for a long while: its check is stopped.
    let stalling = Server::background_http(capability_fake(
        &["plain"],
        FakeModel::all(Behaviour::Stalls(std::time::Duration::from_secs(30))),
    ))
    .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Fake")
                .local(&server.at("/v1"))
                .models(&["smart", "plain"]),
            Draft::new("Slow")
                .local(&stalling.at("/v1"))
                .models(&["plain"]),
        ],
    );
    let session = AppSession::start_in(dir);
    session.select_provider("fake");

    // Asked first; saying no sends nothing.
    session.click("[data-testid=\"model-check-0\"]");
    session.wait_visible("#confirm-dialog");
    let question = session.text("#confirm-text");
    assert!(
        question.contains("4 small chat requests") && question.contains("tokens"),
        "{question}"
    );
    session.click("#confirm-cancel");
    session.wait_gone("#confirm-dialog");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(server.seen().is_empty(), "nothing probed without consent");

    session.click("[data-testid=\"model-check-0\"]");
    session.wait_visible("#confirm-dialog");
    session.click("#confirm-ok");
    session.wait_until("the probed badges", || {
        (session
            .attribute("[data-testid=\"cap-tools-0\"]", "data-source")
            .as_deref()
            == Some("probed"))
        .then_some(())
    });
    assert_eq!(
        session
            .attribute("[data-testid=\"cap-image_input-0\"]", "data-value")
            .as_deref(),
        Some("false")
    );
    assert!(
        session
            .text("[data-testid=\"cap-json_output-0\"]")
            .contains("JSON?"),
        "a rate limit shows as could-not-tell"
    );
    let config = session.config_json();
    assert_eq!(
        config["providers"][0]["models"][0]["probed"]["tools"]["supported"],
        true
    );
    assert!(
        config["providers"][0]["models"][1].get("probed").is_none(),
        "only the model checked"
    );

    // The filter keeps the models known to call tools.
    session.script("const select = document.querySelector('#models-filter'); select.value = 'tools'; select.dispatchEvent(new Event('change'));");
    session.wait_until("one model left", || {
        let rows =
            session.script("return document.querySelectorAll('#detail-models .model-row').length;");
        (rows == 1).then_some(())
    });
    session.keep_screenshot("catalog-capabilities.png");

    // A check of a model that stalls can be stopped; nothing is recorded.
    session.select_provider("slow");
    session.click("[data-testid=\"model-check-0\"]");
    session.wait_visible("#confirm-dialog");
    session.click("#confirm-ok");
    session.click("[data-testid=\"model-check-stop-0\"]");
    session.wait_until("the check stopped", || {
        session
            .text("#toasts")
            .contains("Stopped checking plain")
            .then_some(())
    });
    assert!(
        session.config_json()["providers"][1]["models"][0]
            .get("probed")
            .is_none(),
        "a stopped check records nothing"
    );
}

fn seen_ids(session: &AppSession) -> Vec<String> {
    let ids = session.script(
        "return Array.from(document.querySelectorAll('#apps-see-list [data-testid=\"seen-entry\"]')).map((row) => row.dataset.id);",
    );
    serde_json::from_value(ids).unwrap_or_default()
}

#[test]
fn what_apps_see_lists_exactly_the_entries_and_who_used_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Alpha")
                .local("http://127.0.0.1:9/v1")
                .models(&["a-one", "a-two"]),
            Draft::new("Beta")
                .local("http://127.0.0.1:9/v1")
                .models(&["b"]),
            Draft::new("Off")
                .local("http://127.0.0.1:9/v1")
                .models(&["o"])
                .enabled(false),
        ],
    );
    let activity = serde_json::json!({"at": "2026-12-05T10:00:00Z", "app_id": "com.example.editor",
        "app_name": "Example Editor", "entry_id": "beta/b", "endpoint": "chat/completions", "status": 200, "duration_ms": 4});
    std::fs::write(dir.path().join("activity.jsonl"), format!("{activity}\n")).expect("activity");
    let session = AppSession::start_in(dir);
    cli(&session, &["model", "hide", "alpha", "a-one"]);

    session.click("#open-apps-see");
    session.wait_until("the entries apps see", || {
        (seen_ids(&session) == ["alpha/a-two", "beta/b"]).then_some(())
    });
    assert!(session
        .text("#apps-see-count")
        .contains("Apps see 2 models"));
    let beta = session.text("[data-id=\"beta/b\"]");
    assert!(
        beta.contains("Default") && beta.contains("Last used by Example Editor"),
        "{beta}"
    );
    assert!(session
        .text("[data-id=\"alpha/a-two\"]")
        .contains("Not used by a paired app yet"));

    session.type_into("#apps-see-search", "beta");
    session.wait_until("the search", || {
        (seen_ids(&session) == ["beta/b"]).then_some(())
    });
    session.script("const search = document.querySelector('#apps-see-search'); search.value = ''; search.dispatchEvent(new Event('input'));");

    // A change elsewhere (the CLI moves Beta first) shows while the view is open.
    cli(&session, &["provider", "move", "beta", "--to", "1"]);
    session.wait_until("the new order", || {
        (seen_ids(&session) == ["beta/b", "alpha/a-two"]).then_some(())
    });
    session.keep_screenshot("what-apps-see.png");
}

#[test]
fn an_app_is_limited_to_chosen_models_from_connected_apps() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Alpha")
            .local("http://127.0.0.1:9/v1")
            .models(&["a-one", "a-two"])],
    );
    let session = AppSession::start_in(dir);
    cli(
        &session,
        &[
            "hosts",
            "issue",
            "--app-id",
            "com.example.editor",
            "--app-name",
            "Example Editor",
        ],
    );
    session.click("#open-hosts");
    session.wait_visible("[data-testid=\"choose-entries-com.example.editor\"]");
    assert!(session
        .text("[data-testid=\"host-entries-com.example.editor\"]")
        .contains("every model"));

    session.click("[data-testid=\"choose-entries-com.example.editor\"]");
    session.wait_visible("#host-entries-dialog");
    session.click("#host-entries-all");
    session.click("[data-testid=\"host-entry-alpha/a-one\"]");
    session.keep_screenshot("host-entries.png");
    session.click("[data-testid=\"host-entries-save\"]");
    session.wait_until("the limit shown", || {
        session
            .text("[data-testid=\"host-entries-com.example.editor\"]")
            .contains("May use 1 model")
            .then_some(())
    });
    let hosts: Value = serde_json::from_str(
        &std::fs::read_to_string(session.config_dir().join("hosts.json")).expect("hosts.json"),
    )
    .expect("JSON");
    assert_eq!(
        hosts["hosts"][0]["entries"],
        serde_json::json!(["alpha/a-two"])
    );
    let listed = cli(&session, &["hosts", "list"]);
    assert_eq!(
        listed["hosts"][0]["entries"],
        serde_json::json!(["alpha/a-two"])
    );
}
