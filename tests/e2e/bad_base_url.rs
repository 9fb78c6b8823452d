//! A bad base URL is shown inline beside the field and nothing is saved.

use patchbay_tests::app::AppSession;

#[test]
fn a_bad_base_url_shows_an_inline_error_and_saves_nothing() {
    let session = AppSession::start();
    let before = std::fs::read(session.config_file()).ok();

    session.click("#add-provider");
    session.type_into("#field-label", "LAN box");
    // Plain http to a LAN address under the default (remote) allowance.
    session.type_into("#field-base-url", "http://192.168.0.123:8000/v1");
    // The live preview already explains the problem, before any save.
    session.wait_visible("[data-testid=\"preview-problem\"]");
    session.click("#auth-none");
    session.type_into("#field-new-model", "llama3.2:3b");
    session.click("#add-model");
    session.click("#save-provider");

    let message = session.text("#error-base-url");
    assert!(
        !message.trim().is_empty(),
        "an inline message beside the base URL"
    );
    assert_eq!(
        session
            .attribute("#field-base-url", "aria-invalid")
            .as_deref(),
        Some("true")
    );
    let described_by = session
        .attribute("#field-base-url", "aria-describedby")
        .unwrap_or_default();
    assert!(
        described_by.split(' ').any(|id| id == "error-base-url"),
        "screen readers get the message: {described_by}"
    );
    assert!(session.text("#form-errors").contains("Nothing was saved"));

    assert_eq!(
        std::fs::read(session.config_file()).ok(),
        before,
        "the config file is unchanged"
    );
    assert!(session
        .driver
        .find_all(".provider-item")
        .map(|items| items.is_empty())
        .unwrap_or(false));

    // Fixing it (allowing the private network) saves.
    session.click("#network-private");
    session.click("#save-provider");
    session.wait_visible("[data-testid=\"provider-item-lan-box\"]");
    assert_eq!(
        session.config_json()["providers"][0]["base_url"],
        "http://192.168.0.123:8000/v1"
    );
}
