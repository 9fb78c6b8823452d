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

/// A server on this computer typed under Remote access is one click from
/// working; an address that is never allowed gets no such offer.
#[test]
fn a_loopback_url_under_remote_access_offers_local_access_and_metadata_does_not() {
    let session = AppSession::start();
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-base-url", "http://127.0.0.1:8080/v1");
    session.wait_visible("[data-testid=\"preview-switch-network\"]");
    assert_eq!(
        session.text("[data-testid=\"preview-switch-network\"]"),
        "Switch to Local access"
    );
    session.click("[data-testid=\"preview-switch-network\"]");
    session.wait_visible("[data-testid=\"preview-models\"]");
    assert!(session.is_checked("#network-local"));

    session.click("#network-remote");
    session.type_into("#field-base-url", "http://169.254.169.254/v1");
    session.wait_until("the metadata address to be refused", || {
        let shown = session.attribute("[data-testid=\"preview-policy\"]", "data-reason")?;
        (shown == "metadata").then_some(())
    });
    let offered = session.script(
        "return document.querySelector('[data-testid=\"preview-switch-network\"]') !== null;",
    );
    assert_eq!(
        offered.as_bool(),
        Some(false),
        "no offer for an address never allowed"
    );
    let message = session.text("[data-testid=\"preview-policy\"]");
    assert!(
        !message.contains("Local") && !message.contains("Private"),
        "{message}"
    );
}
