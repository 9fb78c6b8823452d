//! A company gateway behind an internal CA, and a proxy with a password, in
//! the real window: the form's test names the unknown authority and offers
//! "Add CA certificate…", which opens the field; with the CA pasted there
//! the test passes and the certificate itself is saved; a proxy user name
//! and password typed in Advanced reach the proxy (never the config file)
//! and the saved provider's test passes through it.

use std::collections::HashMap;

use patchbay_testkit::{routes, Canned, Proxy, ProxyMode, Server, TestCa};
use patchbay_tests::app::AppSession;

const MODELS: &str = r#"{"object":"list","data":[{"id":"gateway-model","object":"model"}]}"#;

/// Sets a field's value as pasting would (one input event).
fn paste(session: &AppSession, id: &str, text: &str) {
    let script = format!(
        "const field = document.getElementById('{id}'); field.value = {}; field.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
        serde_json::to_string(text).expect("json string")
    );
    session.script(&script);
}

#[test]
fn an_unknown_company_ca_is_named_added_in_the_form_and_saved_as_the_certificate() {
    let company = TestCa::new("Example Corp Internal Root CA").expect("a CA");
    let server = Server::background_https(
        routes(&[("GET /v1/models", Canned::json(200, MODELS))]),
        company.issue(&["127.0.0.1"]).expect("a leaf").server,
    )
    .expect("a loopback TLS server");
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "Corp gateway");
    session.type_into("#field-base-url", &server.at("/v1"));
    session.click("#network-local");
    session.click("#auth-none");
    session.type_into("#field-new-model", "gateway-model");
    session.click("#add-model");

    session.start_test("#form-test");
    session.wait_until("the TLS stage to fail", || {
        (session.stage_status("form-", "tls")? == "failed").then_some(())
    });
    session.wait_visible("[data-testid=\"form-offer-certificate\"]");
    let text = session.text("[data-testid=\"form-offer-certificate\"]");
    assert!(
        text.contains("If “Example Corp Internal Root CA” is your organisation's authority"),
        "{text}"
    );
    assert!(
        text.contains("Issued to"),
        "the certificate is described: {text}"
    );
    assert!(text.contains("127.0.0.1"), "{text}");
    session.keep_screenshot("trust-unknown-ca-offer");

    session.click("[data-testid=\"form-add-ca\"]");
    session.wait_visible("#field-ca-certificate");
    assert_eq!(session.focused(), "field-ca-certificate");
    paste(&session, "field-ca-certificate", &company.pem());
    session.start_test("#form-test");
    session.wait_until("the test to pass with the CA", || {
        (session.stage_status("form-", "models")? == "ok").then_some(())
    });
    assert!(session.config_json().is_null(), "testing saves nothing");

    session.click("#save-provider");
    session.wait_visible("[data-testid=\"provider-item-corp-gateway\"]");
    let stored = session.config_json()["providers"][0]["ca_certificate"].clone();
    assert!(
        stored
            .as_str()
            .is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----")),
        "{stored}"
    );
    session.select_provider("corp-gateway");
    let shown = session.wait_until("the CA in the Endpoint card", || {
        let text = session.text("#detail-ca");
        (!text.is_empty()).then_some(text)
    });
    assert!(
        shown.starts_with("Example Corp Internal Root CA (valid until "),
        "{shown}"
    );
}

#[test]
fn a_proxy_password_typed_in_advanced_reaches_the_proxy_and_not_the_file() {
    const PASSWORD: &str = "proxycanary-e2e-1357";
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let proxy = Proxy::background(
        ProxyMode::Basic("alice", PASSWORD),
        HashMap::from([("10.20.30.40:8080".to_owned(), server.address)]),
    )
    .expect("a proxy");
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "LAN behind proxy");
    session.type_into("#field-base-url", "http://10.20.30.40:8080/v1");
    session.click("#network-private");
    session.click("#auth-none");
    session.type_into("#field-new-model", "gateway-model");
    session.click("#add-model");
    session.click("#advanced > summary");
    session.wait_visible("#field-proxy");
    session.type_into("#field-proxy", &proxy.at());

    // A password without a user name: said beside the field.
    session.type_into("#field-proxy-password", PASSWORD);
    session.click("#save-provider");
    let message = session.wait_until("the user name error", || {
        let text = session.text("#error-proxy-username");
        (!text.is_empty()).then_some(text)
    });
    assert!(message.contains("user name too"), "{message}");

    session.type_into("#field-proxy-username", "alice");
    session.script("document.getElementById('field-proxy-username').scrollIntoView({ block: 'start' }); return true;");
    session.keep_screenshot("advanced-proxy-and-ca");
    session.click("#save-provider");
    session.wait_visible("[data-testid=\"provider-item-lan-behind-proxy\"]");
    let file = std::fs::read_to_string(session.config_file()).expect("the config");
    assert!(file.contains("\"proxy_username\": \"alice\""), "{file}");
    assert!(!file.contains(PASSWORD));

    session.select_provider("lan-behind-proxy");
    let shown = session.text("#detail-proxy");
    assert!(
        shown.contains("(user alice, password in the keychain)"),
        "{shown}"
    );
    session.start_test("#test-connection");
    session.wait_until(
        "the saved provider's test to pass through the proxy",
        || (session.stage_status("", "models")? == "ok").then_some(()),
    );
    assert!(
        proxy
            .request_lines()
            .iter()
            .any(|line| line == "GET http://10.20.30.40:8080/v1/models HTTP/1.1"),
        "{:?}",
        proxy.request_lines()
    );
    let page = session.script("return document.body.innerText;");
    assert!(!page.to_string().contains(PASSWORD));
}
