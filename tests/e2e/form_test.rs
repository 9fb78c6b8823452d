//! "Test connection" inside the add form, before saving, against servers on
//! 127.0.0.1: the staged report fills in row by row, the "Use …/v1" offer
//! fills the base URL only when clicked, discovered models go into the
//! provider through the picker, and Cancel aborts a test stuck on a server
//! that never answers. "Check with the server" on a saved provider marks
//! chosen models the server no longer lists and, when the server is gone,
//! keeps the last list marked stale.

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_testkit::{routes, Canned, Server, SilentServer};
use patchbay_tests::app::{AppSession, UI_TIMEOUT};
use patchbay_tests::wait;

const MODELS: &str = r#"{"object":"list","data":[
  {"id":"model-a","object":"model","owned_by":"local"},
  {"id":"org/model-b:Q6_K","object":"model","owned_by":"local"}]}"#;

fn stage_status(session: &AppSession, stage: &str) -> Option<String> {
    session
        .script(&format!(
            "const el = document.querySelector('[data-testid=\"form-stage-{stage}\"]'); return el ? el.dataset.status : null;"
        ))
        .as_str()
        .map(str::to_owned)
}

fn fill_local_form(session: &AppSession, label: &str, base_url: &str) {
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", label);
    session.type_into("#field-base-url", base_url);
    session.click("#network-local");
    session.click("#auth-none");
}

#[test]
fn testing_the_form_before_saving_shows_the_stages_offers_v1_and_feeds_the_picker() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let session = AppSession::start();

    // The base URL lacks /v1: the models stage fails, and /v1 is offered, not applied.
    let without_version = format!("http://127.0.0.1:{}", server.port());
    fill_local_form(&session, "Local vLLM", &without_version);
    session.start_test("#form-test");
    let failed = wait::until_or_none(UI_TIMEOUT, || {
        (stage_status(&session, "models")? == "failed").then_some(())
    });
    if failed.is_none() {
        panic!(
            "the models stage did not fail; the form shows:\n{}\nserver saw {:?}",
            session.text("#form-test-card"),
            server.seen()
        );
    }
    for stage in ["url_policy", "tcp_connect"] {
        assert_eq!(
            stage_status(&session, stage).as_deref(),
            Some("ok"),
            "{stage}"
        );
    }
    session.wait_visible("[data-testid=\"form-offer-use-v1\"]");
    let typed = session.script("return document.getElementById('field-base-url').value;");
    assert_eq!(
        typed,
        without_version.as_str(),
        "the URL is never changed silently"
    );
    session.click("[data-testid=\"form-use-suggestion\"]");
    let filled = session.script("return document.getElementById('field-base-url').value;");
    assert_eq!(filled, format!("{without_version}/v1").as_str());

    // With /v1 every stage that applies passes, row by row.
    session.start_test("#form-test");
    let passed = wait::until_or_none(UI_TIMEOUT, || {
        (stage_status(&session, "models")? == "ok").then_some(())
    });
    if passed.is_none() {
        panic!(
            "the models stage did not pass; the form shows:\n{}",
            session.text("#form-test-card")
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
        "plain http has no TLS"
    );
    let summary = session.text("#form-test-summary");
    assert!(summary.starts_with("Connected"), "{summary}");
    assert!(
        server
            .seen()
            .iter()
            .all(|request| request.header("authorization").is_none()),
        "no Authorization without auth"
    );
    assert!(session.config_json().is_null(), "testing saves nothing");
    wait::until("the toasts to fade", Duration::from_secs(10), || {
        (session.script("return document.getElementById('toasts').children.length;") == 0)
            .then_some(())
    });
    patchbay_tests::screenshot("screenshot-test.png");

    // Discovered models go into the provider through the picker.
    session.click("[data-testid=\"form-choose-models\"]");
    session.wait_visible("#model-picker");
    session.click("input[data-model-id=\"org/model-b:Q6_K\"]");
    session.click("#save-provider");
    wait::until(
        "the provider saved with the picked model",
        UI_TIMEOUT,
        || {
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
            (ids == ["org/model-b:Q6_K"]).then_some(())
        },
    );
}

#[test]
fn cancel_stops_a_form_test_stuck_on_a_server_that_never_answers() {
    let stuck = patchbay_testkit::block_on(SilentServer::start()).expect("a silent server");
    let port = stuck.address.port();
    let session = AppSession::start();
    fill_local_form(&session, "Stuck", &format!("http://127.0.0.1:{port}/v1"));
    session.start_test("#form-test");
    session.wait_visible("#form-test-cancel");
    wait::until("the connect stage", UI_TIMEOUT, || {
        (stage_status(&session, "tcp_connect")? == "ok").then_some(())
    });
    let started = Instant::now();
    session.click("#form-test-cancel");
    wait::until("the cancelled summary", UI_TIMEOUT, || {
        (session.text("#form-test-summary") == "Cancelled.").then_some(())
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancel took {:?}",
        started.elapsed()
    );
    session.wait_visible("#form-test");
    session.wait_gone("#form-test-cancel");
}

#[test]
fn checking_models_with_the_server_marks_retired_ones_and_keeps_the_last_list_when_it_goes_away() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ProviderStore::new(
        ConfigPaths::in_dir(dir.path()),
        Arc::new(MemoryStore::default()),
    );
    let draft: ProviderDraft = serde_json::from_value(serde_json::json!({
        "label": "Local vLLM", "base_url": server.at("/v1"), "auth": "none",
        "models": ["model-a", "retired-model"], "network": "local",
    }))
    .expect("a valid draft");
    store.add(draft).expect("seeded");
    let session = AppSession::start_in(dir);
    session.click("[data-testid=\"provider-select-local-vllm\"]");
    session.click("#refresh-models");
    let fresh = wait::until_or_none(UI_TIMEOUT, || {
        session
            .text("#refresh-models-status")
            .contains("The server lists 2 models")
            .then_some(())
    });
    if fresh.is_none() {
        panic!(
            "no fresh list; the card shows:\n{}\nserver saw {:?}",
            session.text("#detail-models + .models-refresh"),
            server.seen()
        );
    }
    let chips = session.text("#detail-models");
    assert!(
        chips.contains("retired-model") && chips.contains("no longer listed"),
        "{chips}"
    );
    assert!(session
        .text("#refresh-models-status")
        .contains("1 chosen model is no longer listed"));

    drop(server);
    session.click("#refresh-models");
    wait::until("the stale list", UI_TIMEOUT, || {
        let status = session.text("#refresh-models-status");
        (status.contains("Stale — last refresh failed")
            && status.contains("2 models, may be out of date"))
        .then_some(())
    });
    assert_eq!(
        session
            .attribute("#refresh-models-status", "data-stale")
            .as_deref(),
        Some("true")
    );
}
