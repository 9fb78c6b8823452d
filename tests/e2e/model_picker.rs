//! The model picker fed by discovery stays responsive with 10,000 models: it
//! renders a page at a time, filters as the user types, and a picked model
//! joins the provider's list.

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_testkit::{routes, Canned, Server};
use patchbay_tests::app::AppSession;

fn catalog(count: usize) -> String {
    let entries: Vec<String> = (0..count)
        .map(|index| {
            format!(
                r#"{{"id":"vendor/model-{index:05}","object":"model","context_length":{}}}"#,
                8192 + index
            )
        })
        .collect();
    format!(r#"{{"object":"list","data":[{}]}}"#, entries.join(","))
}

fn rendered_options(session: &AppSession) -> u64 {
    session
        .script("return document.querySelectorAll('#model-picker-list li').length;")
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn ten_thousand_discovered_models_render_a_page_at_a_time_and_filter_while_typing() {
    let server = Server::background_http(routes(&[(
        "GET /v1/models",
        Canned::json(200, catalog(10_000)),
    )]))
    .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ProviderStore::new(
        ConfigPaths::in_dir(dir.path()),
        Arc::new(MemoryStore::default()),
    );
    let draft: ProviderDraft = serde_json::from_value(serde_json::json!({
        "label": "Big catalog", "base_url": server.at("/v1"), "auth": "none",
        "models": ["vendor/model-00000"], "network": "local",
    }))
    .expect("a valid draft");
    store.add(draft).expect("seeded");
    let session = AppSession::start_in(dir);

    session.select_provider("big-catalog");
    session.click("#edit-provider");
    session.click("#discover-models");
    session.wait_until("the picker with every model", || {
        (session.text("#model-picker-count") == "10000").then_some(())
    });
    assert_eq!(
        rendered_options(&session),
        200,
        "a page at a time, not 10,000 rows"
    );

    let typed = Instant::now();
    session.type_into("#model-search", "model-09999");
    session.wait_until("the search to narrow the list", || {
        (session.text("#model-picker-count") == "1 of 10000").then_some(())
    });
    assert!(
        typed.elapsed() < Duration::from_secs(5),
        "filtering 10,000 models took {:?}",
        typed.elapsed()
    );
    assert_eq!(rendered_options(&session), 1);

    session.click("input[data-model-id=\"vendor/model-09999\"]");
    session.wait_until("the model in the form", || {
        session
            .text("#models-list")
            .contains("vendor/model-09999")
            .then_some(())
    });
    session.click("#save-provider");
    session.wait_until("the model saved", || {
        let config = session.config_json();
        let models = config["providers"][0]["models"].as_array()?.clone();
        (models.len() == 2 && models[1]["id"] == "vendor/model-09999").then_some(())
    });
}
