//! Add a provider through the form, see it listed, rename it, disable and
//! enable it, delete it after confirming — checking the shared config file
//! (and that it never holds the key) at every step.

use patchbay_tests::app::AppSession;

const KEY: &str = "sk-e2e-lifecycle-0123456789abcdef9f3a";

fn provider_in_config(session: &AppSession, id: &str) -> Option<serde_json::Value> {
    session.config_json()["providers"]
        .as_array()?
        .iter()
        .find(|provider| provider["id"] == id)
        .cloned()
}

#[test]
fn add_edit_disable_enable_and_delete_a_provider_in_the_window() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");

    // Add through the form.
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "Team Gateway");
    session.type_into("#field-base-url", "http://127.0.0.1:4000/v1/");
    session.click("#network-local");
    let preview = session.wait_until("the URL preview", || {
        let text = session.text("#base-url-preview");
        text.contains("/v1/chat/completions").then_some(text)
    });
    assert!(preview.contains("GET"), "{preview}");
    assert!(
        preview.contains("http://127.0.0.1:4000/v1/models"),
        "{preview}"
    );
    session.type_into("#field-api-key", KEY);
    session.type_into("#field-new-model", "qwen/qwen-2.5-72b-instruct");
    session.click("#add-model");
    session.type_into("#field-new-model", "hf.co/org/model-GGUF:Q6_K");
    session.click("#add-model");
    session.click("#save-provider");

    let row = "[data-testid=\"provider-item-team-gateway\"]";
    session.wait_visible(row);
    let listed = session.text(row);
    assert!(listed.contains("Team Gateway"), "{listed}");
    assert!(listed.contains("127.0.0.1"), "{listed}");
    assert!(listed.contains("qwen/qwen-2.5-72b-instruct"), "{listed}");
    assert!(listed.contains("…9f3a"), "the key hint is listed: {listed}");
    assert!(!listed.contains(KEY), "the key itself is never shown");
    let page = session.script("return document.documentElement.outerHTML;");
    assert!(
        !page.to_string().contains(KEY),
        "no trace of the key anywhere in the page"
    );

    let saved =
        provider_in_config(&session, "team-gateway").expect("the provider is in providers.json");
    assert_eq!(saved["label"], "Team Gateway");
    assert_eq!(saved["base_url"], "http://127.0.0.1:4000/v1");
    assert_eq!(saved["models"][1]["id"], "hf.co/org/model-GGUF:Q6_K");
    let file = std::fs::read_to_string(session.config_file()).expect("providers.json");
    assert!(
        !file.contains(KEY),
        "providers.json must not contain the key"
    );

    // Edit the label: the id stays.
    session.select_provider("team-gateway");
    session.click("#edit-provider");
    session.type_into("#field-label", "Team Gateway (EU)");
    session.click("#save-provider");
    session.wait_until("the renamed provider in the list", || {
        session
            .text(row)
            .contains("Team Gateway (EU)")
            .then_some(())
    });
    assert_eq!(
        provider_in_config(&session, "team-gateway").expect("still there")["label"],
        "Team Gateway (EU)"
    );
    assert_eq!(session.text("#detail-title"), "Team Gateway (EU)");

    // Disable, then enable: everything else is kept.
    let toggle = "[data-testid=\"provider-toggle-team-gateway\"]";
    assert!(session.is_checked(toggle));
    session.click(&format!("{row} .switch"));
    session.wait_until("the provider to be disabled in the config", || {
        (provider_in_config(&session, "team-gateway")?["enabled"] == false).then_some(())
    });
    session.wait_until("the row to show it is disabled", || {
        (!session.is_checked(toggle) && session.text(row).contains("Disabled")).then_some(())
    });
    session.click(&format!("{row} .switch"));
    session.wait_until("the provider to be enabled again", || {
        (provider_in_config(&session, "team-gateway")?["enabled"] == true).then_some(())
    });
    session.wait_until("the row to show it is enabled", || {
        (session.is_checked(toggle) && !session.text(row).contains("Disabled")).then_some(())
    });
    let enabled_again = provider_in_config(&session, "team-gateway").expect("still there");
    assert_eq!(enabled_again["models"].as_array().map(Vec::len), Some(2));
    assert!(
        session.text(row).contains("…9f3a"),
        "the key survived disable/enable"
    );

    // Delete: a real dialog asks first, and Cancel keeps it.
    session.select_provider("team-gateway");
    session.click("#delete-provider");
    session.wait_visible("#confirm-dialog");
    let question = session.text("#confirm-text");
    assert!(
        question.contains("keychain"),
        "the dialog says the key goes too: {question}"
    );
    session.click("#confirm-cancel");
    session.wait_gone("#confirm-dialog");
    assert!(
        provider_in_config(&session, "team-gateway").is_some(),
        "cancel deletes nothing"
    );

    session.click("#delete-provider");
    session.click("#confirm-ok");
    session.wait_gone(row);
    session.wait_visible("#empty-state");
    session.wait_until("the provider to leave providers.json", || {
        provider_in_config(&session, "team-gateway")
            .is_none()
            .then_some(())
    });
}
