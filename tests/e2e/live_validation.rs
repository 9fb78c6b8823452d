//! After a failed save, each error goes the moment its field is fixed —
//! re-checked by the same Rust validation that saving uses — and the banner
//! goes with the last one. No error is left under a value that is no
//! longer in the field.

use patchbay_tests::app::AppSession;

fn shown(session: &AppSession, css: &str) -> bool {
    session
        .script(&format!(
            "const el = document.querySelector('{css}'); return !!el && !el.hidden && el.textContent.trim() !== '';"
        ))
        .as_bool()
        == Some(true)
}

#[test]
fn errors_clear_as_each_field_is_fixed_and_the_banner_with_the_last() {
    let session = AppSession::start();
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.click("#auth-none");
    session.click("#save-provider");
    session.wait_until("the errors after a failed save", || {
        (shown(&session, "#error-label") && shown(&session, "#error-models")).then_some(())
    });
    assert!(shown(&session, "#form-errors"));

    // The name: its error goes, the models' stays.
    session.type_into("#field-label", "Local box");
    session.wait_until("the name's error to clear", || {
        (!shown(&session, "#error-label")).then_some(())
    });
    assert_eq!(session.attribute("#field-label", "aria-invalid"), None);
    assert!(
        shown(&session, "#error-models"),
        "the models are still missing"
    );
    assert!(shown(&session, "#form-errors"));

    // The base URL: a new problem replaces the old text, never both.
    session.type_into("#field-base-url", "ftp://files.example");
    session.wait_until("the base URL's own error", || {
        session
            .text("#error-base-url")
            .contains("ftp")
            .then_some(())
    });
    session.click("#network-local");
    session.type_into("#field-base-url", "http://127.0.0.1:11434/v1");
    session.wait_until("the base URL's error to clear", || {
        (!shown(&session, "#error-base-url")).then_some(())
    });

    // The last one: a model. The banner goes with it.
    session.type_into("#field-new-model", "llama3.2:3b");
    session.click("#add-model");
    session.wait_until("every error and the banner to clear", || {
        (!shown(&session, "#error-models") && !shown(&session, "#form-errors")).then_some(())
    });
    let marked = session.script(
        "return document.querySelectorAll('#provider-form [aria-invalid=\"true\"]').length;",
    );
    assert_eq!(marked.as_u64(), Some(0));
}
