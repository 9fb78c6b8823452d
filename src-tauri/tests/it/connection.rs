//! The saved-provider network commands through the IPC layer: the staged
//! test (stages on a channel, the result recorded for the list), Cancel and
//! the registry of running tests, trusting a certificate fingerprint, and
//! discovery for a saved provider and for a typed base URL. Servers run on
//! 127.0.0.1 only.

use serde_json::{json, Value};

use crate::support::{authorizations, invoke_in, models_server, saved, silent_server, TestApp};

const MODELS: &str = r#"{"object":"list","data":[{"id":"model-a"},{"id":"org/model-b:Q6_K"}]}"#;

/// The failure kind of the first failed stage sent on channel `id`.
fn failed_kind(app: &TestApp, id: u32) -> Option<Value> {
    app.channel(id)
        .into_iter()
        .find(|stage| stage["status"] == "failed")
        .map(|stage| stage["failure"]["kind"].clone())
}

fn local(app: &TestApp, label: &str, base_url: &str, key: Option<&str>) -> Value {
    let mut draft = json!({
        "label": label, "base_url": base_url, "models": ["model-a"], "network": "local", "auth": "none",
    });
    if let Some(key) = key {
        draft["auth"] = json!("api_key");
        draft["key"] = json!({"action": "set", "value": key});
    }
    app.invoke("add_provider", json!({"draft": draft}))
        .expect("add_provider")["provider"]
        .clone()
}

#[test]
fn a_saved_provider_is_tested_with_its_stored_key_and_the_result_is_recorded() {
    let server = models_server(MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(
        &app,
        "Gateway",
        &server.at("/v1"),
        Some("sk-test-0123456789abcdef9f3a"),
    );

    // The webview passes a channel as `__CHANNEL__:<id>`; the mock runtime accepts any id.
    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "list-1", "target": saved("gateway"), "model": null, "onStage": "__CHANNEL__:7"}),
        )
        .expect("test_connection");
    assert_eq!(report["ok"], true, "{report}");
    let streamed: Vec<Value> = app
        .channel(7)
        .iter()
        .map(|stage| stage["stage"].clone())
        .collect();
    assert_eq!(
        streamed,
        ["url_policy", "dns", "tcp_connect", "tls", "models", "chat"],
        "each stage is sent on the call's channel as it completes"
    );
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "list-1"}))
            .expect("cancel_test"),
        json!(false),
        "a finished test is no longer registered"
    );
    let models = report["models"].as_array().expect("models");
    assert_eq!(
        models
            .iter()
            .map(|model| model["id"].clone())
            .collect::<Vec<_>>(),
        [json!("model-a"), json!("org/model-b:Q6_K")]
    );
    assert!(
        !report.to_string().contains("sk-test-0123456789abcdef9f3a"),
        "no key in the report"
    );
    assert_eq!(
        authorizations(&server),
        [Some("Bearer sk-test-0123456789abcdef9f3a".to_owned())]
    );

    let provider = app
        .invoke("get_provider", json!({"id": "gateway"}))
        .expect("get_provider");
    assert_eq!(
        provider["last_test"]["ok"], true,
        "the result is kept for the list: {provider}"
    );
    assert!(provider["last_test"]["summary"]
        .as_str()
        .is_some_and(|summary| !summary.is_empty()));
}

#[test]
fn a_dead_port_fails_at_the_connect_stage_and_is_recorded_as_failed() {
    let dead = patchbay_testkit::closed_port().expect("a closed port");
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(&app, "Dead", &format!("http://127.0.0.1:{dead}/v1"), None);
    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "list-2", "target": saved("dead"), "onStage": "__CHANNEL__:8"}),
        )
        .expect("a failed test is still a report");
    assert_eq!(report["ok"], false);
    let failed: Vec<&Value> = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter(|stage| stage["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["stage"], "tcp_connect");
    assert_eq!(failed[0]["failure"]["kind"], "connect_refused");
    assert_eq!(
        app.invoke("get_provider", json!({"id": "dead"}))
            .expect("get")["last_test"]["ok"],
        false
    );
}

#[test]
fn cancel_with_nothing_running_says_so_and_unknown_ids_are_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "nobody"}))
            .expect("cancel_test"),
        json!(false)
    );
    let error = app
        .invoke(
            "test_connection",
            json!({"testId": "list-3", "target": saved("nobody"), "onStage": "__CHANNEL__:9"}),
        )
        .expect_err("unknown");
    assert_eq!(error["kind"], "not_found");
    let error = app
        .invoke(
            "test_connection",
            json!({"testId": "list-4", "target": saved("Not An Id"), "onStage": "__CHANNEL__:9"}),
        )
        .expect_err("not an id");
    assert_eq!(error["kind"], "invalid_input");
    assert_eq!(error["fields"][0]["field"], "id");
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "list-3"}))
            .expect("cancel_test"),
        json!(false),
        "a test that failed to start is not left registered"
    );
    let error = app
        .invoke("discover_models", json!({"id": "nobody"}))
        .expect_err("unknown");
    assert_eq!(error["kind"], "not_found");
}

#[test]
fn only_a_certificate_the_latest_test_saw_can_be_trusted_from_the_window() {
    let identity = patchbay_testkit::self_signed(&["127.0.0.1"]).expect("a certificate");
    let seen = identity.fingerprint.clone();
    let server = patchbay_testkit::Server::background_https(
        patchbay_testkit::routes(&[(
            "GET /v1/models",
            patchbay_testkit::Canned::json(200, MODELS),
        )]),
        identity.server,
    )
    .expect("an https server");
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(&app, "Box", &server.at("/v1"), None);
    let error = app
        .invoke("trust_certificate", json!({"id": "box", "sha256": "AB:CD"}))
        .expect_err("malformed");
    assert_eq!(error["kind"], "invalid_input");
    assert_eq!(error["fields"][0]["field"], "trusted_cert_sha256");

    // Well formed, but no test saw it (script in the window choosing one).
    let made_up = app
        .invoke(
            "trust_certificate",
            json!({"id": "box", "sha256": "ab".repeat(32)}),
        )
        .expect_err("not seen");
    assert_eq!(made_up["fields"][0]["field"], "trusted_cert_sha256");

    // The test sees the self-signed certificate; that one can be trusted.
    let report = app
        .invoke(
            "test_connection",
            json!({"testId": "list-1", "target": saved("box"), "onStage": "__CHANNEL__:9"}),
        )
        .expect("a report");
    assert_eq!(report["certificate_sha256"], seen.as_str(), "{report}");
    let trusted = app
        .invoke("trust_certificate", json!({"id": "box", "sha256": seen}))
        .expect("trust the seen certificate");
    assert_eq!(trusted["trusted_cert_sha256"], seen.as_str());
    let still_made_up = app
        .invoke(
            "trust_certificate",
            json!({"id": "box", "sha256": "ab".repeat(32)}),
        )
        .expect_err("still not seen");
    assert_eq!(still_made_up["kind"], "invalid_input");
    let cleared = app
        .invoke("trust_certificate", json!({"id": "box", "sha256": null}))
        .expect("untrust");
    assert!(cleared["trusted_cert_sha256"].is_null());
}

#[test]
fn discovery_lists_a_saved_providers_models_and_a_typed_url_without_a_key_sends_no_authorization() {
    let server = models_server(MODELS);
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(&app, "Local", &server.at("/v1"), None);

    let saved = app
        .invoke("discover_models", json!({"id": "local"}))
        .expect("discover_models");
    assert_eq!(saved.as_array().map(Vec::len), Some(2), "{saved}");

    // What the form holds, custom headers included (a gateway behind an
    // access proxy needs them before anything is saved).
    let typed = app
        .invoke(
            "discover_models_at",
            json!({"draft": {
                "label": "", "base_url": format!("{}/", server.at("/v1")), "network": "local",
                "auth": "none", "models": [], "timeout_secs": 7,
                "headers": [{"name": "CF-Access-Client-Id", "value": "typed-client-id", "secret": false}],
            }}),
        )
        .expect("discover_models_at");
    assert_eq!(
        server
            .seen()
            .last()
            .and_then(|seen| seen.header("cf-access-client-id").map(str::to_owned)),
        Some("typed-client-id".to_owned()),
        "the typed header went with the request"
    );
    assert_eq!(
        typed[1]["id"], "org/model-b:Q6_K",
        "ids byte for byte: {typed}"
    );
    assert_eq!(
        authorizations(&server),
        [None, None],
        "no key, no Authorization header"
    );

    let refused = app
        .invoke(
            "discover_models_at",
            json!({"draft": {"label": "", "base_url": server.at("/v1"), "network": "remote", "auth": "none", "models": []}}),
        )
        .expect_err("plain http to loopback needs the local allowance");
    assert_eq!(refused["kind"], "invalid_input");
    assert_eq!(refused["fields"][0]["field"], "base_url");
}

#[test]
fn cancel_ends_a_test_stuck_on_a_server_that_never_answers_and_records_nothing() {
    let silent = silent_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(&app, "Silent", &silent.at("/v1"), None);

    let window = app.settings();
    let started = std::time::Instant::now();
    let test = std::thread::spawn(move || {
        invoke_in(
            &window,
            "test_connection",
            json!({"testId": "list-5", "target": saved("silent"), "onStage": "__CHANNEL__:10"}),
        )
    });
    // Connected, and now waiting for an answer that never comes.
    app.wait_for_stage(10, "tcp_connect");
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "list-5"}))
            .expect("cancel_test"),
        json!(true)
    );
    let error = test
        .join()
        .expect("the test thread")
        .expect_err("a cancelled test answers `cancelled`");
    assert_eq!(error["kind"], "cancelled", "{error}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "cancel is prompt, not the 20 s timeout"
    );
    assert_eq!(
        failed_kind(&app, 10),
        Some(json!("cancelled")),
        "the stages sent say where it stopped"
    );
    let provider = app
        .invoke("get_provider", json!({"id": "silent"}))
        .expect("get_provider");
    assert!(
        provider["last_test"].is_null(),
        "a cancelled test says nothing about the endpoint: {provider}"
    );
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "list-5"}))
            .expect("cancel_test"),
        json!(false)
    );
}

#[test]
fn a_second_test_of_the_same_provider_cancels_the_first_but_not_a_form_test_of_it() {
    let silent = silent_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    local(&app, "Silent", &silent.at("/v1"), None);
    let start = |test_id: &'static str, target: Value, channel: u32| {
        let window = app.settings();
        std::thread::spawn(move || {
            invoke_in(
                &window,
                "test_connection",
                json!({"testId": test_id, "target": target, "onStage": format!("__CHANNEL__:{channel}")}),
            )
        })
    };

    let form_draft = json!({
        "label": "Silent", "base_url": silent.at("/v1"), "auth": "none", "models": [], "network": "local",
    });
    let form = start(
        "form-1",
        crate::support::typed(form_draft, Some("silent")),
        20,
    );
    app.wait_for_stage(20, "tcp_connect");
    let first = start("list-6", saved("silent"), 21);
    app.wait_for_stage(21, "tcp_connect");
    let second = start("list-7", saved("silent"), 22);
    app.wait_for_stage(22, "tcp_connect");

    let error = first
        .join()
        .expect("the first test's thread")
        .expect_err("replaced by the second test");
    assert_eq!(error["kind"], "cancelled", "{error}");
    assert_eq!(failed_kind(&app, 21), Some(json!("cancelled")));
    assert_eq!(
        app.invoke("cancel_test", json!({"testId": "list-6"}))
            .expect("cancel_test"),
        json!(false),
        "the first is no longer registered"
    );
    for test_id in ["list-7", "form-1"] {
        assert_eq!(
            app.invoke("cancel_test", json!({"testId": test_id}))
                .expect("cancel_test"),
            json!(true),
            "{test_id} was still running"
        );
    }
    for (name, thread) in [("second", second), ("form", form)] {
        let error = thread
            .join()
            .expect("the test's thread")
            .expect_err("cancelled");
        assert_eq!(error["kind"], "cancelled", "{name}: {error}");
    }
    let provider = app
        .invoke("get_provider", json!({"id": "silent"}))
        .expect("get_provider");
    assert!(
        provider["last_test"].is_null(),
        "no cancelled test recorded anything: {provider}"
    );
}
