//! The capability file grants the commands to the `settings` window only.

use serde_json::json;

use crate::support::{invoke_in, TestApp};

#[test]
fn commands_are_granted_to_the_settings_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let answer = app
        .invoke("list_presets", json!({}))
        .expect("settings may list presets");
    assert!(answer.as_array().is_some_and(|presets| !presets.is_empty()));
}

#[test]
fn another_window_cannot_call_the_commands() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let other = app.other_window();
    for command in ["list_providers", "list_presets", "delete_provider"] {
        let refused = invoke_in(&other, command, json!({"id": "x"}));
        // The ACL answers with a plain string before the command runs; a
        // `{kind, message}` object would mean the command itself ran.
        match refused {
            Err(serde_json::Value::String(message)) => {
                assert!(message.contains("not allowed"), "{message}")
            }
            other_answer => panic!(
                "{command} must be refused outside the settings window, got {other_answer:?}"
            ),
        }
    }
}
