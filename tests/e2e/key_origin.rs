//! A key goes only where the person sent it, in the window: editing the
//! base URL of a provider with a stored key to another origin asks "Send
//! your key for <old> to <new>?" before a test or a save sends it, and a
//! base URL changed in providers.json by hand leaves the provider in a
//! visible "Key withheld" state that sends nothing until the person says
//! yes. Two servers on 127.0.0.1 (two ports: two origins) record what
//! reaches them; the key lives in the real Secret Service.

use std::sync::Arc;

use patchbay_core::keychain::KeyringStore;
use patchbay_testkit::{handler, models_body, Canned, Draft, Seen, Server};
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed_with;

const KEY: &str = "sk-e2e-origin-canary-6d2f91";

fn keyed_server() -> Server {
    Server::background_http(handler(|seen: &Seen| {
        if seen.header("authorization") == Some(format!("Bearer {KEY}").as_str()) {
            Canned::json(200, models_body(&["m1"]))
        } else {
            Canned::json(401, r#"{"error":{"message":"no key"}}"#)
        }
    }))
    .expect("a loopback server")
}

fn with_key(server: &Server) -> usize {
    server
        .seen()
        .iter()
        .filter(|seen| seen.header("authorization").is_some())
        .count()
}

#[test]
fn a_stored_key_moves_to_another_origin_only_when_the_person_says_so() {
    let given = keyed_server();
    let elsewhere = keyed_server();
    let dir = tempfile::tempdir().expect("temp dir");
    seed_with(
        dir.path(),
        Arc::new(KeyringStore::new()),
        &[Draft::new("Origin Bound")
            .local(&given.at("/v1"))
            .key(KEY)
            .models(&["m1"])],
    );
    let session = AppSession::start_in(dir);
    session.select_provider("origin-bound");

    // Editing the base URL to another port: Save asks first; Cancel keeps
    // everything as it was.
    session.click("#edit-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-base-url", &elsewhere.at("/v1"));
    session.click("#save-provider");
    session.wait_visible("#move-key-dialog");
    patchbay_tests::screenshot("move-key-dialog.png");
    let title = session.text("#move-key-title");
    let (old, new) = (
        given
            .at("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned(),
        elsewhere
            .at("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned(),
    );
    assert!(title.contains(&old) && title.contains(&new), "{title}");
    session.click("#move-key-cancel");
    session.wait_gone("#move-key-dialog");
    assert_eq!(
        session.config_json()["providers"][0]["base_url"],
        given.at("/v1"),
        "nothing saved"
    );

    // Test connection asks too; with the person's yes the key goes there.
    session.click("#form-test");
    session.wait_visible("#move-key-dialog");
    session.click("#move-key-send");
    session.wait_until(
        "the form's test to reach the new server with the key",
        || (with_key(&elsewhere) > 0).then_some(()),
    );
    session.wait_until("the form's test to pass", || {
        session
            .text("#form-test-summary")
            .contains("Connected")
            .then_some(())
    });

    // Save: the yes holds for that origin; no second question.
    session.click("#save-provider");
    session.wait_visible("#provider-detail");
    let saved = session.config_json();
    assert_eq!(saved["providers"][0]["base_url"], elsewhere.at("/v1"));
    assert_eq!(
        saved["providers"][0]["key_origin"],
        elsewhere.at("").trim_end_matches('/')
    );

    // Someone edits providers.json by hand, back to the first server.
    let file = session.config_file();
    let text = std::fs::read_to_string(&file).expect("config");
    std::fs::write(&file, text.replace(&elsewhere.at("/v1"), &given.at("/v1"))).expect("hand edit");
    session.wait_visible("[data-testid=\"key-withheld\"]");
    patchbay_tests::screenshot("key-withheld.png");
    let notice = session.text("[data-testid=\"key-withheld\"]");
    assert!(
        notice.contains("Key withheld") && notice.contains(&new),
        "{notice}"
    );
    assert!(session
        .text("[data-testid=\"provider-item-origin-bound\"]")
        .contains("Key withheld"));
    let before = with_key(&given);
    session.start_test("#test-connection");
    session.wait_until("the test to say the key was withheld", || {
        session
            .text("#test-report")
            .contains("did not send the key")
            .then_some(())
    });
    assert_eq!(
        with_key(&given),
        before,
        "no key reached the hand-edited URL"
    );

    // The person says yes: the notice goes and the key goes there.
    session.click("[data-testid=\"withheld-send\"]");
    session.wait_gone("[data-testid=\"key-withheld\"]");
    session.start_test("#test-connection");
    session.wait_until("the first server to get the key", || {
        (with_key(&given) > before).then_some(())
    });
}
