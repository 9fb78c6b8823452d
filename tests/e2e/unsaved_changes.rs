//! Unsaved changes are never lost silently: leaving a form with changes
//! (Connected apps, another provider, Add) asks "Keep editing / Discard";
//! a form without changes leaves at once.

use patchbay_testkit::Draft;
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;

#[test]
fn leaving_a_form_with_changes_asks_first_and_an_unchanged_one_leaves_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Saved One").local("http://127.0.0.1:11434/v1")],
    );
    let session = AppSession::start_in(dir);

    // A new provider half typed: Connected apps asks; Keep editing keeps it.
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.type_into("#field-label", "Half Done");
    session.click("#open-hosts");
    session.wait_visible("#confirm-dialog");
    assert!(session
        .text("#confirm-title")
        .contains("Discard your changes?"));
    assert_eq!(session.text("#confirm-cancel"), "Keep editing");
    session.click("#confirm-cancel");
    session.wait_gone("#confirm-dialog");
    assert!(session.is_visible(&session.wait_visible("#provider-form")));
    let kept = session.script("return document.getElementById('field-label').value;");
    assert_eq!(kept.as_str(), Some("Half Done"));

    // Another provider: asks again; Discard leaves.
    session.click("[data-testid=\"provider-select-saved-one\"]");
    session.wait_visible("#confirm-dialog");
    session.click("#confirm-ok");
    session.wait_visible("#provider-detail");
    assert_eq!(session.text("#detail-title"), "Saved One");

    // An edit form without changes leaves at once.
    session.click("#edit-provider");
    session.wait_visible("#provider-form");
    session.click("#open-hosts");
    session.wait_visible("#hosts-view");
    let asked = session.script("return document.getElementById('confirm-dialog').open;");
    assert_eq!(
        asked.as_bool(),
        Some(false),
        "nothing to discard, nothing asked"
    );
}
