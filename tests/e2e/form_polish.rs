//! The form's finish, in the real window: the first error scrolls into
//! full view (label and field, clear of the sticky footer), every view
//! starts at its header, nothing changes width with its state, the model
//! checklist stays under the pointer, a name over the limit is said (not
//! cut), messages say what is true (no key sent → "choose API key"; a chat
//! check not asked for; discovery failures as errors), and dark mode draws
//! its own radios and checkboxes and gives the window (so GTK's menus) the
//! dark theme.

use patchbay_testkit::{routes, Canned, Server};
use patchbay_tests::app::AppSession;
use serde_json::Value;

const MODELS: &str = r#"{"object":"list","data":[{"id":"model-a"},{"id":"model-b"},{"id":"model-c"},{"id":"model-d"}]}"#;

/// `[top, bottom]` of `css` relative to the page's visible area, and the
/// visible area's bottom above the sticky footer.
fn placement(session: &AppSession, css: &str) -> (f64, f64, f64) {
    let value = session.script(&format!(
        "const page = document.getElementById('detail').getBoundingClientRect();
         const box = document.querySelector('{css}').getBoundingClientRect();
         const footer = document.querySelector('.form-footer').getBoundingClientRect();
         return [box.top - page.top, box.bottom - page.top, Math.min(page.bottom, footer.top) - page.top];"
    ));
    let number = |index: usize| value[index].as_f64().unwrap_or(f64::NAN);
    (number(0), number(1), number(2))
}

fn width(session: &AppSession, css: &str) -> f64 {
    session
        .script(&format!(
            "return document.querySelector('{css}').getBoundingClientRect().width;"
        ))
        .as_f64()
        .unwrap_or(f64::NAN)
}

#[test]
fn the_first_error_shows_whole_and_views_start_at_their_header() {
    let session = AppSession::start();
    session
        .driver
        .set_window_size(800, 600)
        .unwrap_or_else(|error| session.fail(&format!("no resize: {error}")));
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    session.click("#auth-none");
    // From the bottom of the form, where the sticky Save is.
    session.script("document.getElementById('detail').scrollTop = 100000;");
    session.click("#save-provider");
    session.wait_visible("#error-label");
    session.wait_until("the name field focused", || {
        (session.focused().contains("field-label")).then_some(())
    });
    let label = placement(&session, "label[for=\"field-label\"]");
    let message = placement(&session, "#error-label");
    assert!(
        label.0 >= 0.0 && message.1 <= message.2,
        "the label ({label:?}) and the message ({message:?}) must both be in view above the footer"
    );

    // Cancel (discarding) and the next view starts at its header.
    session.click("#cancel-form");
    session.wait_visible("#confirm-dialog");
    session.click("#confirm-ok");
    session.wait_until("the page at its top", || {
        (session.script("return document.getElementById('detail').scrollTop;") == 0).then_some(())
    });
}

#[test]
fn controls_keep_their_size_and_the_checklist_stays_under_the_pointer() {
    let server = Server::background_http(routes(&[("GET /v1/models", Canned::json(200, MODELS))]))
        .expect("a loopback server");
    let session = AppSession::start();
    session.click("#add-provider");
    session.wait_visible("#provider-form");

    // Show / Hide: the button and the key field keep their width.
    let button = width(&session, "#toggle-key-visibility");
    let field = width(&session, "#field-api-key");
    session.click("#toggle-key-visibility");
    session.wait_until("the key shown", || {
        (session.text("#toggle-key-visibility") == "Hide").then_some(())
    });
    assert_eq!(width(&session, "#toggle-key-visibility"), button);
    assert_eq!(width(&session, "#field-api-key"), field);

    // Ticking models in the checklist: the list does not move under the pointer.
    session.type_into("#field-base-url", &server.at("/v1"));
    session.click("#network-local");
    session.click("#auth-none");
    session.click("#discover-models");
    session.wait_visible("#model-picker");
    let before = placement(&session, "#model-picker").0;
    for model in ["model-a", "model-b", "model-c"] {
        session.click(&format!("input[data-model-id=\"{model}\"]"));
        session.wait_until(&format!("{model} chosen"), || {
            session.text("#models-list").contains(model).then_some(())
        });
        let after = placement(&session, "#model-picker").0;
        assert!(
            (after - before).abs() < 1.0,
            "the checklist moved from {before} to {after} when {model} was ticked"
        );
    }
}

#[test]
fn messages_say_what_is_true() {
    let server = Server::background_http(routes(&[
        (
            "GET /v1/models",
            Canned::json(401, r#"{"error":{"message":"missing key"}}"#),
        ),
        (
            "GET /broken/v1/models",
            Canned::json(500, r#"{"error":"boom"}"#),
        ),
    ]))
    .expect("a loopback server");
    let session = AppSession::start();
    session.click("#add-provider");
    session.wait_visible("#provider-form");

    // A 20,000-character name is not cut: it is said to be too long.
    session.script("const field = document.getElementById('field-label'); field.value = 'n'.repeat(20000); field.dispatchEvent(new Event('input', {bubbles: true}));");
    session.wait_until("the name's length said", || {
        session
            .text("#error-label")
            .contains("20000 characters")
            .then_some(())
    });
    let kept = session.script("return document.getElementById('field-label').value.length;");
    assert_eq!(kept.as_u64(), Some(20_000), "nothing was cut");
    session.type_into("#field-label", "Local server");
    session.wait_until("the error gone with the long name", || {
        session
            .script("return document.getElementById('error-label').hidden;")
            .as_bool()
            .filter(|hidden| *hidden)
    });

    // No key sent, a 401: asks for a key instead of saying one was rejected.
    session.type_into("#field-base-url", &server.at("/v1"));
    session.click("#network-local");
    session.click("#auth-none");
    session.start_test("#form-test");
    let models = session.wait_until("the models stage to ask for a key", || {
        let text = session.text("[data-testid=\"form-stage-models\"]");
        text.contains("API key").then_some(text)
    });
    assert!(!models.contains("replace it"), "{models}");
    // The chat check was not asked for, and the row says so.
    let chat = session.text("[data-testid=\"form-stage-chat\"]");
    assert!(chat.contains("did not ask for a chat request"), "{chat}");
    assert!(!chat.contains('`'), "{chat}");

    // A failed discovery is an error, in the error style, not grey text.
    session.type_into("#field-base-url", &server.at("/broken/v1"));
    session.click("#discover-models");
    session.wait_visible("#discover-error");
    let style = session.script(
        "const el = document.getElementById('discover-error'); return [el.className, getComputedStyle(el).color, getComputedStyle(document.getElementById('error-label')).color];",
    );
    assert!(
        style[0].as_str().unwrap_or("").contains("field-error"),
        "{style}"
    );
    assert_eq!(style[1], style[2], "styled like every field error");
    assert!(
        session.text("#discover-error").contains("Could not list"),
        "{}",
        session.text("#discover-error")
    );
}

#[test]
fn dark_mode_draws_its_own_controls_and_darkens_the_window() {
    let session = AppSession::start();
    session.click("#add-provider");
    session.wait_visible("#provider-form");
    let colors = |session: &AppSession| -> Value {
        session.script(
            "const radio = document.getElementById('network-local');
             const box = document.getElementById('form-test-chat');
             const card = document.querySelector('.card');
             return [getComputedStyle(radio).backgroundColor, getComputedStyle(box).backgroundColor, getComputedStyle(card).backgroundColor, getComputedStyle(radio).appearance ?? getComputedStyle(radio).webkitAppearance];",
        )
    };
    for theme in ["dark", "light"] {
        session.script(&format!(
            "const select = document.getElementById('theme-choice'); select.value = '{theme}'; select.dispatchEvent(new Event('change'));"
        ));
        // The window's own theme follows (GTK's menus with it): the page sees it as the system's.
        session.wait_until(&format!("the window in the {theme} theme"), || {
            (session.script(&format!(
                "return matchMedia('(prefers-color-scheme: {theme})').matches;"
            )) == true)
                .then_some(())
        });
        let seen = colors(&session);
        assert_eq!(
            seen[0], seen[2],
            "{theme}: an unticked radio is drawn in the card's colour: {seen}"
        );
        assert_eq!(
            seen[1], seen[2],
            "{theme}: an unticked checkbox too: {seen}"
        );
    }
}
