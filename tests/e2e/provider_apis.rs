//! Providers that do not speak OpenAI's format, in the real window. Azure
//! OpenAI: the preset shows the API choice, a URL pasted from the Azure
//! portal is previewed reduced (the classic API and its version), the
//! form's test checks the deployments with `api-key`, and the saved
//! provider keeps the API and its version. Anthropic: the preset saves the
//! Messages API, and the form's test lists its models and runs a one-token
//! Messages request with `x-api-key`.

use patchbay_testkit::shapes::{anthropic_fake, azure_fake};
use patchbay_testkit::Server;
use patchbay_tests::app::AppSession;

const KEY: &str = "azurecanary-e2e-0123456789abcdef";

#[test]
fn a_portal_url_under_the_azure_preset_is_reduced_tested_and_saved_with_its_api() {
    let azure = Server::background_http(azure_fake(KEY, Some("2024-10-21"), &["gpt4o-prod"]))
        .expect("a fake Azure resource");
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.script(
        "const select = document.getElementById('field-preset'); select.value = 'azure-openai'; select.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    );
    session.wait_visible("[data-testid=\"azure-api\"]");
    session.click("#network-local");
    let portal = azure.at("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
    session.type_into("#field-base-url", &portal);
    let preview = session.wait_until("the reduced preview", || {
        let text = session.text("#base-url-preview");
        text.contains("classic deployments API").then_some(text)
    });
    assert!(
        preview
            .contains("/openai/deployments/<deployment>/chat/completions?api-version=2024-10-21"),
        "{preview}"
    );
    session.type_into("#field-api-key", KEY);
    session.type_into("#field-new-model", "gpt4o-prod");
    session.click("#add-model");
    session.start_test("#form-test");
    session.wait_until("the deployment to answer", || {
        (session.stage_status("form-", "chat")? == "ok").then_some(())
    });
    let card = session.text("#form-test-card");
    assert!(card.contains("deployments answered: gpt4o-prod"), "{card}");
    assert!(azure
        .seen()
        .iter()
        .all(|seen| seen.header("api-key") == Some(KEY) && seen.header("authorization").is_none()));

    session.click("#save-provider");
    session.wait_visible("[data-testid=\"provider-item-azure-openai\"]");
    let provider = session.config_json()["providers"][0].clone();
    assert_eq!(provider["api"], "azure_openai", "{provider}");
    assert_eq!(provider["api_version"], "2024-10-21");
    assert_eq!(provider["base_url"], azure.at("/openai"));

    // Editing shows the classic API chosen, with its version.
    session.select_provider("azure-openai");
    session.click("#edit-provider");
    session.wait_visible("[data-testid=\"azure-api\"]");
    assert!(session.is_checked("#azure-api-classic"));
    assert_eq!(
        session.script("return document.getElementById('field-api-version').value;"),
        "2024-10-21"
    );
    session.keep_screenshot("azure-form");
}

#[test]
fn the_anthropic_preset_tests_the_messages_api_in_the_form_and_saves_it() {
    const ANTHROPIC_KEY: &str = "sk-ant-e2e-canary-0123456789";
    let server = Server::background_http(anthropic_fake(ANTHROPIC_KEY, &["claude-test"]))
        .expect("a fake Anthropic API");
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.script(
        "const select = document.getElementById('field-preset'); select.value = 'anthropic'; select.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    );
    session.wait_visible("#field-base-url");
    session.click("#network-local");
    session.type_into("#field-base-url", &server.at("/v1"));
    session.type_into("#field-api-key", ANTHROPIC_KEY);
    session.type_into("#field-new-model", "claude-test");
    session.click("#add-model");
    session.start_test("#form-test");
    session.wait_until("the Messages probe to answer", || {
        (session.stage_status("form-", "models")? == "ok").then_some(())
    });
    let seen = server.seen();
    assert!(
        seen.iter().any(|seen| seen.path == "/v1/models?limit=1000"),
        "{seen:?}"
    );
    assert!(seen
        .iter()
        .all(|seen| seen.header("x-api-key") == Some(ANTHROPIC_KEY)
            && seen.header("authorization").is_none()));
    session.click("#save-provider");
    session.wait_visible("[data-testid=\"provider-item-anthropic\"]");
    assert_eq!(session.config_json()["providers"][0]["api"], "anthropic");
}
