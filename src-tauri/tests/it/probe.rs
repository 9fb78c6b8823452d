//! Testing an unsaved form draft (`test_connection` with a `draft` target)
//! and refreshing a provider's models, through the IPC layer, against
//! servers on 127.0.0.1 started by each test.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::Manager;

use crate::support::{authorizations, invoke_in, models_server, silent_server, typed, TestApp};

const KEY: &str = "sk-draft-0123456789abcdef7c1d";

const TWO_MODELS: &str = r#"{"object":"list","data":[{"id":"model-a"},{"id":"org/model-b:Q6_K"}]}"#;

fn local_draft(base_url: &str) -> Value {
    patchbay_testkit::Draft::new("")
        .local(base_url)
        .key(&format!("{KEY}\n"))
        .models::<&str>(&[])
        .json()
}

#[test]
fn a_draft_is_tested_with_the_typed_key_streaming_each_stage_and_nothing_is_saved() {
    let upstream = models_server(TWO_MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());

    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "t-1", "target": typed(local_draft(&upstream.at("/v1")), None), "onStage": "__CHANNEL__:1"}),
        )
        .expect("the test runs");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["models_count"], 2);
    assert!(!report.to_string().contains(KEY), "no key in the report");
    assert_eq!(
        authorizations(&upstream),
        vec![Some(format!("Bearer {KEY}"))],
        "the typed key, trimmed"
    );

    let stages = app.channel(1);
    let names: Vec<&str> = stages
        .iter()
        .filter_map(|stage| stage["stage"].as_str())
        .collect();
    assert!(
        names.contains(&"url_policy") && names.contains(&"models"),
        "{stages:?}"
    );
    let listing = app.invoke("list_providers", json!({})).expect("list");
    assert_eq!(
        listing["providers"],
        json!([]),
        "a draft test saves nothing"
    );
}

#[test]
fn a_draft_of_a_saved_provider_uses_the_stored_key_it_keeps_and_records_nothing() {
    let upstream = models_server(TWO_MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let mut stored = local_draft(&upstream.at("/v1"));
    stored["label"] = json!("Gateway");
    stored["models"] = json!(["model-a"]);
    app.invoke("add_provider", json!({"draft": stored}))
        .expect("add");

    // The form keeps the stored key and changes only the label.
    let mut edited = local_draft(&upstream.at("/v1"));
    edited["label"] = json!("Renamed, not saved");
    edited["key"] = json!({"action": "keep"});
    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "t-4", "target": typed(edited, Some("gateway")), "onStage": "__CHANNEL__:4"}),
        )
        .expect("the test runs");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        authorizations(&upstream),
        vec![Some(format!("Bearer {KEY}"))],
        "the stored key"
    );
    let provider = app
        .invoke("get_provider", json!({"id": "gateway"}))
        .expect("get");
    assert!(
        provider["last_test"].is_null(),
        "a draft's result is not the saved provider's: {provider}"
    );
    assert_eq!(provider["label"], "Gateway");
}

#[test]
fn a_draft_with_no_authentication_sends_no_authorization_and_a_bad_url_names_the_field() {
    let upstream = models_server(TWO_MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let mut draft = local_draft(&upstream.at("/v1"));
    draft["auth"] = json!("none");
    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "t-2", "target": typed(draft, None), "onStage": "__CHANNEL__:2"}),
        )
        .expect("runs");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(authorizations(&upstream), vec![None]);

    let error = app
        .invoke(
            "test_connection",
            json!({"testId": "t-3", "target": typed(local_draft("ftp://example.com"), None), "onStage": "__CHANNEL__:3"}),
        )
        .expect_err("not a base URL");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    assert_eq!(error["fields"][0]["field"], "base_url", "{error}");
    assert!(
        app.channel(3).is_empty(),
        "nothing was sent: {:?}",
        app.channel(3)
    );

    // A typed key no provider would accept is reported on the form's key
    // field, as a save would, and nothing is sent.
    let mut bad_key = local_draft(&upstream.at("/v1"));
    bad_key["key"] = json!({"action": "set", "value": "Bearer sk-test-bad"});
    let error = app
        .invoke(
            "test_connection",
            json!({"testId": "t-4", "target": typed(bad_key, None), "onStage": "__CHANNEL__:4"}),
        )
        .expect_err("a key with the Bearer prefix");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    assert_eq!(error["fields"][0]["field"], "key", "{error}");
    assert!(!error.to_string().contains("sk-test-bad"), "{error}");
    assert!(app.channel(4).is_empty());
    assert_eq!(authorizations(&upstream), vec![None]);
}

#[test]
fn cancelling_a_draft_test_ends_it_at_once() {
    let upstream = silent_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let handle = app.app.handle().clone();
    let draft = local_draft(&upstream.at("/v1"));
    let started = Instant::now();
    let running = std::thread::spawn(move || {
        let window = handle
            .get_webview_window("settings")
            .expect("the settings window");
        invoke_in(
            &window,
            "test_connection",
            json!({"testId": "slow", "target": typed(draft, None), "onStage": "__CHANNEL__:5"}),
        )
    });
    app.wait_for_stage(5, "tcp_connect");
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "slow"}))
            .expect("cancel"),
        json!(true)
    );
    let error = running
        .join()
        .expect("the invoking thread")
        .expect_err("a cancelled test is an error");
    assert_eq!(error["kind"], "cancelled", "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancel did not wait for the timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "slow"}))
            .expect("cancel"),
        json!(false)
    );
}

#[test]
fn refreshing_models_marks_chosen_ones_gone_upstream_and_keeps_the_last_good_list_when_the_server_fails(
) {
    let upstream = models_server(TWO_MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let draft = json!({
        "label": "Local", "base_url": upstream.at("/v1"), "auth": "none",
        "models": ["model-a", "retired-model"], "network": "local",
    });
    app.invoke("add_provider", json!({"draft": draft}))
        .expect("add");

    let catalog = app
        .invoke("refresh_models", json!({"id": "local"}))
        .expect("refresh");
    assert_eq!(catalog["stale"], false, "{catalog}");
    let ids: Vec<&str> = catalog["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(ids, ["model-a", "org/model-b:Q6_K"]);
    let chosen = &catalog["provider"]["models"];
    assert_eq!(chosen[0]["id"], "model-a");
    assert_ne!(
        chosen[0]["missing_upstream"], true,
        "still listed upstream: {chosen}"
    );
    assert_eq!(chosen[1]["id"], "retired-model");
    assert_eq!(chosen[1]["missing_upstream"], true, "{chosen}");
    let fetched_at = catalog["fetched_at"].clone();

    // The server goes away: the last good list comes back, marked stale.
    let dead = patchbay_testkit::closed_port().expect("a closed port");
    let moved = json!({
        "label": "Local", "base_url": format!("http://127.0.0.1:{dead}/v1"), "auth": "none",
        "models": ["model-a", "retired-model"], "network": "local",
    });
    app.invoke("edit_provider", json!({"id": "local", "draft": moved}))
        .expect("edit");
    let stale = app
        .invoke("refresh_models", json!({"id": "local"}))
        .expect("the last good list");
    assert_eq!(stale["stale"], true, "{stale}");
    assert_eq!(stale["fetched_at"], fetched_at);
    assert_eq!(stale["models"].as_array().map(Vec::len), Some(2));
    assert!(stale["error"]["kind"].is_string(), "{stale}");
    assert!(stale["last_attempt_at"].is_string(), "{stale}");

    // The catalog is stored in the shared config, not kept in the session:
    // a fresh app (or the CLI) sees the same stale list and its reason.
    drop(app);
    let reopened = TestApp::new(dir.path());
    let view = reopened
        .invoke("get_provider", json!({"id": "local"}))
        .expect("get");
    assert_eq!(view["catalog"]["stale"], true, "{view}");
    assert_eq!(view["catalog"]["count"], 2, "{view}");
    assert_eq!(view["catalog"]["fetched_at"], fetched_at, "{view}");
    assert!(
        view["catalog"]["last_error"]
            .as_str()
            .is_some_and(|reason| reason.contains("Nothing is listening")),
        "{view}"
    );
    assert_eq!(
        view["models"][1]["missing_upstream"], true,
        "the failed refresh kept the marks: {view}"
    );
}

#[test]
fn refreshing_models_with_no_earlier_list_reports_the_failure() {
    let dead = patchbay_testkit::closed_port().expect("a closed port");
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let draft = json!({
        "label": "Nothing", "base_url": format!("http://127.0.0.1:{dead}/v1"), "auth": "none",
        "models": ["m"], "network": "local",
    });
    app.invoke("add_provider", json!({"draft": draft}))
        .expect("add");
    let error = app
        .invoke("refresh_models", json!({"id": "nothing"}))
        .expect_err("nothing listens");
    assert_eq!(error["kind"], "connect_refused", "{error}");
}

#[test]
fn a_proxy_is_saved_shown_and_checked_before_any_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let draft = json!({
        "label": "Proxied", "base_url": "https://api.example.com/v1", "auth": "none",
        "models": ["m"], "proxy": "http://proxy.corp.example:3128/",
    });
    let saved = app
        .invoke("add_provider", json!({"draft": draft}))
        .expect("add");
    assert_eq!(
        saved["provider"]["proxy"], "http://proxy.corp.example:3128",
        "{saved}"
    );

    // An edit from a draft that carries the proxy keeps it; an empty field removes it.
    let kept = json!({
        "label": "Proxied", "base_url": "https://api.example.com/v1", "auth": "none",
        "models": ["m"], "proxy": "http://proxy.corp.example:3128",
    });
    let edited = app
        .invoke("edit_provider", json!({"id": "proxied", "draft": kept}))
        .expect("edit");
    assert_eq!(
        edited["provider"]["proxy"],
        "http://proxy.corp.example:3128"
    );
    let cleared = json!({
        "label": "Proxied", "base_url": "https://api.example.com/v1", "auth": "none",
        "models": ["m"], "proxy": "",
    });
    let edited = app
        .invoke("edit_provider", json!({"id": "proxied", "draft": cleared}))
        .expect("edit");
    assert!(edited["provider"]["proxy"].is_null(), "{edited}");

    // Credentials in a proxy URL are refused by field, before any request.
    let error = app
        .invoke(
            "discover_models_at",
            json!({"draft": {"label": "", "base_url": "https://api.example.com/v1", "network": "remote",
                   "auth": "none", "models": [], "proxy": "http://user:hunter2@proxy.corp.example:3128"}}),
        )
        .expect_err("credentials in the proxy");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    assert_eq!(error["fields"][0]["field"], "proxy", "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    let bad = json!({
        "label": "Proxied", "base_url": "https://api.example.com/v1", "auth": "none",
        "models": ["m"], "proxy": "socks5://proxy.corp.example:1080",
    });
    let error = app
        .invoke(
            "test_connection",
            json!({"testId": "proxy", "target": typed(bad, None), "onStage": "__CHANNEL__:6"}),
        )
        .expect_err("a socks proxy");
    assert_eq!(error["fields"][0]["field"], "proxy", "{error}");
}
