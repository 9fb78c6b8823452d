//! "Test connection" in the window against a server on 127.0.0.1: the stages
//! appear, the result lands in the list and the config, a dead port fails at
//! the connect stage with a hint, models discovered by the test can be
//! picked into the provider, and Cancel stops a test stuck on a server that
//! never answers without recording anything.

use std::time::{Duration, Instant};

use patchbay_testkit::{closed_port, routes, Canned, Draft, Server, SilentServer};
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;

const MODELS: &str = r#"{"object":"list","data":[
  {"id":"model-a","object":"model","owned_by":"local"},
  {"id":"org/model-b:Q6_K","object":"model","owned_by":"local"},
  {"id":"model-c","object":"model","owned_by":"local"}]}"#;

fn stage_status(session: &AppSession, stage: &str) -> Option<String> {
    session
        .script(&format!("const el = document.querySelector('[data-testid=\"stage-{stage}\"]'); return el ? el.dataset.status : null;"))
        .as_str()
        .map(str::to_owned)
}

#[test]
fn testing_a_loopback_provider_shows_the_stages_records_the_result_and_feeds_the_model_picker() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let dead_port = closed_port().expect("a closed port");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            local("Local vLLM", &server.at("/v1")),
            local("Dead port", &format!("http://127.0.0.1:{dead_port}/v1")),
        ],
    );
    let session = AppSession::start_in(dir);

    session.select_provider("local-vllm");
    session.start_test("#test-connection");
    session.wait_until("the models stage to pass", || {
        (stage_status(&session, "models")? == "ok").then_some(())
    });
    for stage in ["url_policy", "tcp_connect"] {
        assert_eq!(
            stage_status(&session, stage).as_deref(),
            Some("ok"),
            "{stage}"
        );
    }
    assert_eq!(
        stage_status(&session, "dns").as_deref(),
        Some("skipped"),
        "an IP literal needs no DNS"
    );
    assert_eq!(
        stage_status(&session, "tls").as_deref(),
        Some("skipped"),
        "plain http has no TLS stage"
    );
    session.wait_until("the summary", || {
        (session.attribute("#test-summary", "class")?.contains("ok")).then_some(())
    });
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|request| request.method == "GET" && request.path == "/v1/models"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|request| request.header("authorization").is_none()),
        "no Authorization header without auth: {seen:?}"
    );

    // The result reaches the list and the shared config.
    session.wait_until("the OK badge in the list", || {
        session
            .text("[data-testid=\"provider-item-local-vllm\"]")
            .contains("OK")
            .then_some(())
    });
    let config = session.config_json();
    let saved = config["providers"]
        .as_array()
        .and_then(|providers| {
            providers
                .iter()
                .find(|provider| provider["id"] == "local-vllm")
        })
        .cloned();
    assert_eq!(
        saved
            .as_ref()
            .map(|provider| provider["last_test"]["ok"].clone()),
        Some(serde_json::Value::Bool(true))
    );

    // Pick a discovered model into the provider.
    session.click("[data-testid=\"choose-models\"]");
    session.wait_visible("#model-picker");
    session.type_into("#model-search", "model-c");
    // The search filters after a short debounce; click once the list settled.
    session.wait_until("the search to filter the list", || {
        (session.text("#model-picker-count") == "1 of 3").then_some(())
    });
    session.click("input[data-model-id=\"model-c\"]");
    session.wait_until("model-c in the form's models", || {
        session
            .text("#models-list")
            .contains("model-c")
            .then_some(())
    });
    session.click("#save-provider");
    session.wait_until("model-c saved", || {
        let config = session.config_json();
        let provider = config["providers"]
            .as_array()?
            .iter()
            .find(|provider| provider["id"] == "local-vllm")?
            .clone();
        let ids: Vec<String> = provider["models"]
            .as_array()?
            .iter()
            .filter_map(|model| model["id"].as_str().map(str::to_owned))
            .collect();
        (ids == ["model-a", "model-c"]).then_some(())
    });

    // Nothing listening: the connect stage fails with a hint, later stages are skipped.
    session.select_provider("dead-port");
    session.start_test("#test-connection");
    session.wait_until("the connect stage to fail", || {
        (stage_status(&session, "tcp_connect")? == "failed").then_some(())
    });
    assert_eq!(stage_status(&session, "models").as_deref(), Some("skipped"));
    let stages = session.text("#test-stages");
    assert!(
        stages.contains(&dead_port.to_string()),
        "the failure names the address: {stages}"
    );
    session.wait_until("the failed badge", || {
        session
            .text("[data-testid=\"provider-item-dead-port\"]")
            .contains("Failed")
            .then_some(())
    });
}

#[test]
fn a_404_without_v1_offers_use_v1_and_the_button_saves_it_and_tests_again() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    let bare = format!("http://127.0.0.1:{}", server.port());
    seed(dir.path(), &[local("Gateway", &bare)]);
    let session = AppSession::start_in(dir);

    session.select_provider("gateway");
    session.start_test("#test-connection");
    session.wait_until("the models stage to fail", || {
        (stage_status(&session, "models")? == "failed").then_some(())
    });
    let offer = session.text("[data-testid=\"offer-use-v1\"]");
    assert!(offer.contains(&format!("{bare}/v1")), "{offer}");
    let unchanged = session.config_json();
    assert_eq!(
        unchanged["providers"][0]["base_url"],
        bare.as_str(),
        "never changed silently"
    );

    session.click("[data-testid=\"use-suggestion\"]");
    session.wait_until("the /v1 base URL saved", || {
        (session.config_json()["providers"][0]["base_url"] == format!("{bare}/v1").as_str())
            .then_some(())
    });
    session.wait_until("the test to pass with /v1", || {
        (stage_status(&session, "models")? == "ok").then_some(())
    });
}

#[test]
fn cancel_stops_a_saved_providers_test_stuck_on_a_server_that_never_answers() {
    let stuck = patchbay_testkit::block_on(SilentServer::start()).expect("a silent server");
    let port = stuck.address.port();
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[local("Stuck", &format!("http://127.0.0.1:{port}/v1"))],
    );
    let session = AppSession::start_in(dir);

    session.select_provider("stuck");
    session.start_test("#test-connection");
    session.wait_visible("#cancel-test");
    session.wait_until("the connect stage", || {
        (stage_status(&session, "tcp_connect")? == "ok").then_some(())
    });
    let started = Instant::now();
    session.click("#cancel-test");
    session.wait_until("the cancelled summary", || {
        (session.text("#test-summary") == "Cancelled.").then_some(())
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancel took {:?}",
        started.elapsed()
    );
    assert_eq!(stage_status(&session, "models").as_deref(), Some("failed"));
    session.wait_visible("#test-connection");
    session.wait_gone("#cancel-test");
    assert!(
        session.config_json()["providers"][0]["last_test"].is_null(),
        "a cancelled test records nothing"
    );
}

#[test]
fn a_server_without_models_is_checked_with_the_chosen_model_and_passes() {
    // Only chat is routed (a gateway that does not list models): 404 elsewhere.
    let server = Server::background_http(routes(&[(
        "POST /v1/chat/completions",
        Canned::events(&[r#"{"choices":[{"delta":{"content":"O"}}]}"#]),
    )]))
    .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Chat only")
            .local(&server.at("/v1"))
            .models(&["model-a", "model-b"])],
    );
    let session = AppSession::start_in(dir);
    session.select_provider("chat-only");
    let note = session.text("[data-testid=\"test-billing-note\"]");
    assert!(
        note.contains("does not list its models") && note.contains("bill"),
        "{note}"
    );

    // Unasked, the first model is checked: the test passes and says why.
    session.click("#test-connection");
    session.wait_until("the test to pass", || {
        (session.attribute("#test-summary", "class")?.contains("ok")).then_some(())
    });
    assert_eq!(stage_status(&session, "models").as_deref(), Some("skipped"));
    assert_eq!(stage_status(&session, "chat").as_deref(), Some("ok"));
    let summary = session.text("#test-summary");
    assert!(summary.contains("does not list models"), "{summary}");
    assert!(session
        .text("[data-testid=\"stage-chat\"]")
        .contains("model-a"));

    // Any of the provider's models can be picked for the chat request.
    session.script(
        "const select = document.getElementById('test-chat-model'); select.value = 'model-b'; select.dispatchEvent(new Event('change')); return true;",
    );
    session.click("label[for=\"test-chat\"]");
    session.click("#test-connection");
    session.wait_until("the chat stage with model-b", || {
        session
            .text("[data-testid=\"stage-chat\"]")
            .contains("model-b")
            .then_some(())
    });
    let asked: Vec<String> = server
        .seen()
        .iter()
        .filter(|seen| seen.path == "/v1/chat/completions")
        .map(|seen| String::from_utf8_lossy(&seen.body).into_owned())
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[0].contains(r#""model":"model-a""#), "{asked:?}");
    assert!(asked[1].contains(r#""model":"model-b""#), "{asked:?}");
    assert_eq!(
        session.config_json()["providers"][0]["last_test"]["ok"],
        serde_json::json!(true)
    );
}

/// A loopback provider with no authentication and `model-a`.
fn local(label: &str, base_url: &str) -> Draft {
    Draft::new(label).local(base_url).models(&["model-a"])
}
