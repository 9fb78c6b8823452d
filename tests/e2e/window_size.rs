//! The window comes back at the size the person left it: resized through
//! WebDriver (as dragging its edge would), closed, opened again on the same
//! data directory. The size lives in the app's own `ui-state.json`, never
//! in the shared provider config.

use patchbay_tests::app::AppSession;
use serde_json::Value;

/// Clearly different from the 960×680 default and above the 720×480 minimum.
const WIDTH: i64 = 1100;
const HEIGHT: i64 = 620;

fn ui_state_file(session: &AppSession) -> std::path::PathBuf {
    session
        .data_home()
        .join("dev.patchbay.settings")
        .join("ui-state.json")
}

/// The page's viewport, which is what the person sees of the window.
fn viewport(session: &AppSession) -> (i64, i64) {
    let size = session.script("return [window.innerWidth, window.innerHeight];");
    let number = |index: usize| size[index].as_i64().unwrap_or_default();
    (number(0), number(1))
}

#[test]
fn the_window_size_is_restored_after_a_restart() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    let (_, _, default_width, default_height) = session.driver.window_rect().expect("window rect");
    assert_ne!(
        (default_width, default_height),
        (WIDTH, HEIGHT),
        "the test size must differ from the default"
    );

    session
        .driver
        .set_window_size(WIDTH, HEIGHT)
        .unwrap_or_else(|error| session.fail(&format!("could not resize the window: {error}")));
    session.wait_until("the window to take the new size", || {
        let (_, _, width, height) = session.driver.window_rect().ok()?;
        ((width, height) == (WIDTH, HEIGHT)).then_some(())
    });
    let resized_viewport = viewport(&session);
    // Saved (debounced) before the window closes; waiting for the file
    // rather than for a fixed time.
    let file = ui_state_file(&session);
    session.wait_until("the size in ui-state.json", || {
        let saved: Value = serde_json::from_slice(&std::fs::read(&file).ok()?).ok()?;
        let size = &saved["window_size"];
        (size["width"].as_f64()? as i64 == resized_viewport.0
            && size["height"].as_f64()? as i64 == resized_viewport.1)
            .then_some(())
    });

    let session = session.restart();
    session.wait_visible("#empty-state");
    session.wait_until("the window at the saved size", || {
        let (_, _, width, height) = session.driver.window_rect().ok()?;
        ((width, height) == (WIDTH, HEIGHT)).then_some(())
    });
    assert_eq!(viewport(&session), resized_viewport);
    assert!(
        !session.config_file().exists(),
        "the window size never goes into the shared config"
    );
}
