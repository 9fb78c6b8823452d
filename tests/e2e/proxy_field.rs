//! The per-provider proxy in the real window: typed in the form's Advanced
//! section, saved to the shared config, shown in the Endpoint card, kept by
//! an edit that does not touch it, and a proxy URL with credentials refused
//! inline beside the field.

use patchbay_tests::app::AppSession;

#[test]
fn a_proxy_typed_in_advanced_is_saved_shown_and_kept_across_edits() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "Behind Proxy");
    session.type_into("#field-base-url", "http://127.0.0.1:4000/v1");
    session.click("#network-local");
    session.click("#auth-none");
    session.type_into("#field-new-model", "m");
    session.click("#add-model");
    session.click("#advanced > summary");
    session.wait_visible("#field-proxy");

    // Credentials in the proxy URL: an inline error, nothing saved.
    session.type_into(
        "#field-proxy",
        "http://user:hunter2@proxy.corp.example:3128",
    );
    session.click("#save-provider");
    let message = session.wait_until("the proxy error", || {
        let text = session.text("#error-proxy");
        (!text.is_empty()).then_some(text)
    });
    assert!(
        message.contains("enter the user name and password in their own fields"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(session.config_json()["providers"]
        .as_array()
        .is_none_or(Vec::is_empty));

    session.type_into("#field-proxy", "http://proxy.corp.example:3128");
    session.click("#save-provider");
    let row = "[data-testid=\"provider-item-behind-proxy\"]";
    session.wait_visible(row);
    session.select_provider("behind-proxy");
    let shown = session.wait_until("the proxy in the Endpoint card", || {
        let text = session.text("#detail-proxy");
        (!text.is_empty()).then_some(text)
    });
    assert_eq!(shown, "http://proxy.corp.example:3128");
    assert_eq!(
        session.config_json()["providers"][0]["proxy"],
        "http://proxy.corp.example:3128"
    );

    // An edit of something else keeps the proxy.
    session.click("#edit-provider");
    session.type_into("#field-label", "Behind Proxy (EU)");
    session.click("#save-provider");
    session.wait_until("the renamed provider", || {
        session.text(row).contains("(EU)").then_some(())
    });
    assert_eq!(
        session.config_json()["providers"][0]["proxy"],
        "http://proxy.corp.example:3128"
    );
}
