//! A test result in the form belongs to the values it tested: each kind of
//! edit (key, base URL, authentication, headers, models) marks it out of
//! date, and putting the tested values back makes it current again. A test
//! that passed on exactly the draft being saved becomes the provider's last
//! test (decided in Rust, by the draft's digest); replacing the key later
//! clears it, in the config file as in the window.

use patchbay_testkit::{routes, Canned, Server};
use patchbay_tests::app::{AppSession, UI_TIMEOUT};
use patchbay_tests::wait;

const MODELS: &str = r#"{"object":"list","data":[{"id":"model-a","object":"model"},{"id":"model-b","object":"model"}]}"#;

fn stale(session: &AppSession) -> bool {
    session
        .script("return document.getElementById('form-test-report').dataset.stale === 'true' && !document.getElementById('form-test-stale').hidden;")
        .as_bool()
        == Some(true)
}

fn expect_stale(session: &AppSession, after: &str, expected: bool) {
    let seen = wait::until_or_none(UI_TIMEOUT, || (stale(session) == expected).then_some(()));
    if seen.is_none() {
        session.fail(&format!(
            "after {after} the result should be {}; the test card shows:\n{}",
            if expected { "out of date" } else { "current" },
            session.text("#form-test-card")
        ));
    }
}

fn remove_last(session: &AppSession, rows: &str) {
    session.script(&format!(
        "const rows = document.querySelectorAll('{rows}'); rows[rows.length - 1].querySelector('button[aria-label^=\"Remove\"]').click();"
    ));
}

#[test]
fn each_edit_marks_the_form_result_out_of_date_and_a_passing_draft_carries_over_on_save() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let session = AppSession::start();
    let base_url = server.at("/v1");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "Stale check");
    session.type_into("#field-base-url", &base_url);
    session.click("#network-local");
    session.click("#auth-api-key");
    session.type_into("#field-api-key", "sk-test-stale-0001");
    session.type_into("#field-new-model", "model-a");
    session.click("#add-model");

    session.start_test("#form-test");
    session.wait_until("a passing form test", || {
        session
            .text("#form-test-summary")
            .starts_with("Connected")
            .then_some(())
    });
    assert!(!stale(&session), "a fresh result is current");

    // The key.
    session.type_into("#field-api-key", "sk-test-stale-0002");
    expect_stale(&session, "a new key", true);
    session.type_into("#field-api-key", "sk-test-stale-0001");
    expect_stale(&session, "the tested key typed back", false);

    // The base URL.
    session.type_into("#field-base-url", &format!("{base_url}/x"));
    expect_stale(&session, "another base URL", true);
    session.type_into("#field-base-url", &base_url);
    expect_stale(&session, "the tested base URL typed back", false);

    // Authentication.
    session.click("#auth-none");
    expect_stale(&session, "no authentication", true);
    session.click("#auth-api-key");
    expect_stale(&session, "the key again", false);

    // Headers.
    session.click("#advanced > summary");
    session.click("#add-header");
    expect_stale(&session, "a header", true);
    remove_last(&session, "[data-testid=\"header-row\"]");
    expect_stale(&session, "the header removed", false);

    // Models.
    session.type_into("#field-new-model", "model-b");
    session.click("#add-model");
    expect_stale(&session, "another model", true);
    remove_last(&session, "[data-testid=\"model-row\"]");
    expect_stale(&session, "the model removed", false);
    patchbay_tests::screenshot("stale-result-current.png");

    // The name is not part of what was tested; saving carries the pass over.
    session.type_into("#field-label", "Stale check server");
    expect_stale(&session, "a new name", false);
    session.click("#save-provider");
    let last_test = wait::until("the saved provider", UI_TIMEOUT, || {
        let config = session.config_json();
        config["providers"].as_array()?.first().cloned()
    });
    assert_eq!(last_test["last_test"]["ok"], true, "{last_test}");
    let id = last_test["id"].as_str().expect("an id").to_owned();
    session.wait_until("the detail to say the test passed", || {
        session
            .text("#detail-last-test")
            .starts_with("Last test passed")
            .then_some(())
    });
    assert_eq!(
        session.text(&format!(
            "[data-testid=\"provider-select-{id}\"] [data-testid=\"test-badge\"]"
        )),
        "OK"
    );

    // Replacing the key clears the status, in the store.
    session.click("#edit-provider");
    session.wait_visible("#provider-form");
    session.click("#replace-key");
    session.type_into("#field-api-key", "sk-test-stale-0003");
    session.click("#save-provider");
    let untested = wait::until("the key change recorded", UI_TIMEOUT, || {
        let config = session.config_json();
        let provider = config["providers"].as_array()?.first()?.clone();
        provider.get("untested_since").is_some().then_some(provider)
    });
    assert_eq!(untested["untested_since"]["change"], "key", "{untested}");
    assert!(untested.get("last_test").is_none(), "{untested}");
    session.wait_until("the detail to say why it is untested", || {
        session
            .text("#detail-last-test")
            .starts_with("Not tested since the key changed")
            .then_some(())
    });
    assert_eq!(
        session.text(&format!(
            "[data-testid=\"provider-select-{id}\"] [data-testid=\"test-badge\"]"
        )),
        "Untested"
    );
    patchbay_tests::screenshot("stale-untested-after-key-change.png");
}
