//! The main flows without a mouse: Tab and Shift+Tab reach the Add button,
//! the form's fields in order and Save; Enter and the arrow keys operate
//! them; Escape closes the form (asking first when it has changes) and dialogs; whatever has focus shows it
//! (the `:focus-visible` outline).

use patchbay_tests::app::AppSession;
use patchbay_tests::webdriver::keys;
use serde_json::Value;

/// Whether the focused element matches `:focus-visible` and draws an
/// outline (itself, or the switch track that stands in for a hidden checkbox).
fn focus_is_visible(session: &AppSession) -> bool {
    let script = "const el = document.activeElement; \
        if (!el || el === document.body) return false; \
        const drawn = (node) => { if (!node) return false; const style = getComputedStyle(node); \
          return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0; }; \
        return el.matches(':focus-visible') && (drawn(el) || drawn(el.nextElementSibling));";
    session.script(script) == Value::Bool(true)
}

/// Presses Tab until `target` has focus, checking that focus stays visible
/// on the way; returns what was focused, in order.
fn tab_to(session: &AppSession, target: &str) -> Vec<String> {
    let mut visited = Vec::new();
    for _ in 0..40 {
        session.press(&[keys::TAB]);
        let focused = session.focused();
        assert!(
            focus_is_visible(session),
            "focus on `{focused}` is not visible (after {visited:?})"
        );
        visited.push(focused.clone());
        if focused == target {
            return visited;
        }
    }
    session.fail(&format!(
        "Tab never reached `{target}`; it went {visited:?}"
    ));
}

fn type_text(session: &AppSession, text: &str) {
    let characters: Vec<String> = text.chars().map(String::from).collect();
    let characters: Vec<&str> = characters.iter().map(String::as_str).collect();
    session.press(&characters);
}

fn wait_for_focus(session: &AppSession, target: &str) {
    session.wait_until(&format!("focus on `{target}`"), || {
        (session.focused() == target).then_some(())
    });
}

fn assert_in_order(visited: &[String], expected: &[&str]) {
    let mut position = 0;
    for name in expected {
        match visited[position..].iter().position(|seen| seen == name) {
            Some(offset) => position += offset + 1,
            None => panic!("`{name}` not reached in order; Tab went {visited:?}"),
        }
    }
}

#[test]
fn a_provider_is_added_checked_and_its_dialogs_closed_with_the_keyboard_alone() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    session.script("document.activeElement && document.activeElement.blur(); return true;");

    // From the top of the page: the skip link, then Add; Shift+Tab goes back.
    let visited = tab_to(&session, "add-provider");
    assert!(visited.len() <= 2, "the skip link, then Add: {visited:?}");
    session.press_shift_tab();
    assert_ne!(
        session.focused(),
        "add-provider",
        "Shift+Tab moves focus back"
    );
    session.press(&[keys::TAB]);
    assert_eq!(session.focused(), "add-provider");

    // Enter opens the form on its first field; Tab walks the fields in order.
    session.press(&[keys::ENTER]);
    session.wait_visible("#provider-form");
    wait_for_focus(&session, "field-preset");
    assert!(focus_is_visible(&session), "the first field shows focus");
    let visited = tab_to(&session, "field-label");
    assert_eq!(visited, ["field-label"]);
    type_text(&session, "Keyboard Local");
    let visited = tab_to(&session, "field-base-url");
    assert_eq!(visited, ["field-base-url"]);
    type_text(&session, "http://127.0.0.1:11434/v1");
    let visited = tab_to(&session, "auth-api-key");
    assert_eq!(visited, ["auth-api-key"], "the checked choice of the group");
    // Arrow keys pick within a radio group.
    session.press(&[keys::ARROW_DOWN]);
    wait_for_focus(&session, "auth-none");
    assert_eq!(
        session.script("return document.getElementById('auth-none').checked;"),
        Value::Bool(true)
    );
    tab_to(&session, "field-new-model");
    type_text(&session, "llama3.2:3b");
    session.press(&[keys::ENTER]);
    session.wait_until("the model in the list", || {
        session
            .text("[data-testid=\"models-list\"]")
            .contains("llama3.2:3b")
            .then_some(())
    });
    wait_for_focus(&session, "field-new-model");
    let visited = tab_to(&session, "network-remote");
    assert_in_order(&visited, &["add-model", "network-remote"]);
    session.press(&[keys::ARROW_DOWN]);
    wait_for_focus(&session, "network-local");
    let visited = tab_to(&session, "save-provider");
    assert_in_order(
        &visited,
        &["form-test", "field-enabled", "cancel-form", "save-provider"],
    );
    session.press_shift_tab();
    assert_eq!(
        session.focused(),
        "cancel-form",
        "Shift+Tab goes back to Cancel"
    );
    session.press(&[keys::TAB]);
    assert_eq!(session.focused(), "save-provider");

    // Enter on Save saves; focus lands on the new provider in the list.
    session.press(&[keys::ENTER]);
    session.wait_gone("#provider-form");
    session.wait_visible("[data-testid=\"provider-item-keyboard-local\"]");
    wait_for_focus(&session, "provider-select-keyboard-local");
    let saved = session.config_json();
    assert_eq!(saved["providers"][0]["label"], "Keyboard Local", "{saved}");
    assert_eq!(saved["providers"][0]["auth"], "none", "{saved}");
    assert_eq!(saved["providers"][0]["network"], "local", "{saved}");

    // Escape closes the edit form without saving — after asking, since it
    // has changes: "Keep editing" has the focus, Tab reaches "Discard".
    // Focus returns to the list.
    tab_to(&session, "edit-provider");
    session.press(&[keys::ENTER]);
    session.wait_visible("#provider-form");
    wait_for_focus(&session, "field-label");
    type_text(&session, " (changed)");
    session.press(&[keys::ESCAPE]);
    session.wait_visible("#confirm-dialog");
    wait_for_focus(&session, "confirm-cancel");
    session.press(&[keys::TAB]);
    wait_for_focus(&session, "confirm-ok");
    session.press(&[keys::ENTER]);
    session.wait_gone("#provider-form");
    session.wait_visible("#provider-detail");
    wait_for_focus(&session, "provider-select-keyboard-local");
    assert_eq!(
        session.config_json()["providers"][0]["label"],
        "Keyboard Local",
        "Escape saves nothing"
    );

    // Escape closes a confirmation dialog; nothing is deleted, focus returns.
    tab_to(&session, "delete-provider");
    session.press(&[keys::ENTER]);
    session.wait_visible("#confirm-dialog");
    wait_for_focus(&session, "confirm-cancel");
    assert!(
        focus_is_visible(&session),
        "the dialog's default button shows focus"
    );
    session.press(&[keys::ESCAPE]);
    session.wait_gone("#confirm-dialog");
    wait_for_focus(&session, "delete-provider");
    assert_eq!(
        session.config_json()["providers"][0]["label"],
        "Keyboard Local",
        "Escape deletes nothing"
    );
}
