//! The gateway in the window: Connected apps shows where it listens, a
//! token created in the window ("Create a token for an app") is shown once
//! and works against the gateway, and the switch turns it off (nothing
//! listens) and on again. The provider is a server on 127.0.0.1.

use patchbay_testkit::{handler, Canned, Draft, Server};
use patchbay_tests::app::AppSession;
use patchbay_tests::gateway_chat;
use patchbay_tests::seed::seed;

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;

#[test]
fn a_token_created_in_the_window_works_through_the_gateway_and_the_switch_turns_it_off() {
    let upstream = Server::background_http(handler(|_| Canned::json(200, COMPLETION)))
        .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Local")
            .local(&upstream.at("/v1"))
            .models(&["m"])],
    );
    let session = AppSession::start_in(dir);
    session.click("#open-hosts");
    session.wait_visible("[data-testid=\"gateway-url\"]");
    patchbay_tests::screenshot("gateway-card.png");
    let base_url = session.text("[data-testid=\"gateway-url\"]");
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"),
        "{base_url}"
    );
    let published = std::fs::read_to_string(session.runtime_dir().join("gateway.json"))
        .expect("gateway.json in the runtime directory");
    assert!(published.contains(&base_url), "{published}");

    // Create a token: shown once, works, then forgotten by the page.
    session.click("#gateway-create-token");
    session.wait_visible("#token-app-name");
    session.type_into("#token-app-name", "Notes App");
    session.click("#token-create");
    session.wait_visible("[data-testid=\"token-value\"]");
    patchbay_tests::screenshot("token-dialog.png");
    let token = session.text("[data-testid=\"token-value\"]");
    assert!(token.starts_with("pbt_"), "{token}");
    assert!(session
        .text("[data-testid=\"token-base-url\"]")
        .contains(&base_url));
    assert_eq!(gateway_chat(&base_url, &token), Some(200));
    assert_eq!(upstream.seen().len(), 1);
    session.click("#token-done");
    session.wait_gone("#token-dialog");
    let still_shown = session.script("return document.getElementById('token-value').textContent;");
    assert_eq!(still_shown.as_str(), Some(""), "the page forgot the token");
    session.wait_visible("[data-testid=\"paired-manual.notes-app\"]");
    // The request shows under Gateway requests (refreshed by the button).
    session.click("#hosts-refresh");
    session.wait_until("the request to show under Gateway requests", || {
        let rows = session.text("[data-testid=\"activity\"]");
        (rows.contains("Notes App") && rows.contains("local/m") && rows.contains("200"))
            .then_some(())
    });
    assert!(session
        .text("[data-testid=\"paired-manual.notes-app\"]")
        .contains("Last used"));
    assert_eq!(gateway_chat(&base_url, "pbt_not_a_real_token"), Some(401));

    // Raw keys for this app: only after a warning, and shown on its row.
    session.click("[data-testid=\"toggle-raw-keys-manual.notes-app\"]");
    session.wait_visible("#confirm-dialog");
    assert!(session.text("#confirm-text").contains("outside Patchbay"));
    session.click("#confirm-ok");
    session.wait_visible("[data-testid=\"raw-keys-manual.notes-app\"]");
    let hosts =
        std::fs::read_to_string(session.config_dir().join("hosts.json")).expect("hosts.json");
    assert!(hosts.contains("\"raw_keys\": true"), "{hosts}");
    session.click("[data-testid=\"toggle-raw-keys-manual.notes-app\"]");
    session.wait_gone("[data-testid=\"raw-keys-manual.notes-app\"]");

    // Off: nothing listens, the address is no longer published.
    session.click("#gateway-card .switch");
    session.wait_until("the gateway to be off", || {
        session
            .text("#gateway-status")
            .contains("Off")
            .then_some(())
    });
    patchbay_tests::screenshot("gateway-off.png");
    assert!(!session.runtime_dir().join("gateway.json").exists());
    assert_eq!(
        gateway_chat(&base_url, &token),
        None,
        "nothing listens any more"
    );
    let settings =
        std::fs::read_to_string(session.config_dir().join("settings.json")).expect("settings.json");
    assert!(settings.contains("\"enabled\": false"), "{settings}");

    // On again: a gateway answers, and the token still works.
    session.click("#gateway-card .switch");
    session.wait_visible("[data-testid=\"gateway-url\"]");
    let again = session.text("[data-testid=\"gateway-url\"]");
    assert_eq!(gateway_chat(&again, &token), Some(200));
}
