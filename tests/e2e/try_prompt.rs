//! "Try a prompt" in a provider's page: the answer streams in the window
//! with its time to first token, tokens/s and usage; Stop ends a slow
//! answer and the provider sees its connection closed; nothing typed or
//! answered reaches the disk.

use std::time::Duration;

use patchbay_testkit::{handler, Canned, Draft, Server, Stalling};
use patchbay_tests::app::AppSession;
use patchbay_tests::seed::seed;
use serde_json::json;

fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().is_file())
                .map(|entry| {
                    (
                        entry.file_name().to_string_lossy().into_owned(),
                        std::fs::read(entry.path()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn a_prompt_streams_its_answer_with_timing_and_stop_closes_the_provider_connection() {
    let answering = Server::background_http(handler(|_| {
        let events = [
            json!({"choices": [{"index": 0, "delta": {"content": "Bonjour"}}]}).to_string(),
            json!({"choices": [{"index": 0, "delta": {"content": " tout le monde"}, "finish_reason": "stop"}]}).to_string(),
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}).to_string(),
            "[DONE]".to_owned(),
        ];
        let timed: Vec<(Duration, Option<&str>, &str)> = events
            .iter()
            .map(|event| (Duration::from_millis(150), None, event.as_str()))
            .collect();
        Canned::timed_events(&timed)
    }))
    .expect("a loopback server");

    // A slow model: one piece, then silence until Patchbay hangs up.
    let slow = Stalling::start("Il était une fois").expect("a loopback server");

    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[
            Draft::new("Local")
                .local(&answering.at("/v1"))
                .models(&["org/m:Q4", "other"]),
            Draft::new("Slow")
                .local(slow.base_url())
                .models(&["slow-model"]),
        ],
    );
    let session = AppSession::start_in(dir);
    let before = files_under(session.config_dir());

    session.select_provider("local");
    session.type_into("#prompt-text", "Say hello in French");
    session.click("#prompt-send");
    session.wait_until("the first piece while the rest streams", || {
        let answer = session.text("#prompt-answer");
        (answer.starts_with("Bonjour")).then_some(())
    });
    session.wait_until("the whole answer and its numbers", || {
        let stats = session.text("#prompt-stats");
        stats.contains("First token").then_some(())
    });
    assert_eq!(session.text("#prompt-answer"), "Bonjour tout le monde");
    let stats = session.text("#prompt-stats");
    assert!(
        stats.contains("tokens/s")
            && stats.contains("3 tokens in, 4 out")
            && stats.contains("finished: stop"),
        "{stats}"
    );
    let sent: serde_json::Value =
        serde_json::from_slice(&answering.seen()[0].body).expect("a JSON request");
    assert_eq!(sent["model"], "org/m:Q4");
    assert_eq!(sent["messages"][0]["content"], "Say hello in French");
    session.keep_screenshot("try-a-prompt.png");

    session.select_provider("slow");
    let cleared = session.script(
        "return [document.querySelector('#prompt-result').hidden, document.querySelector('#prompt-answer').textContent, document.querySelector('#prompt-text').value];",
    );
    assert_eq!(
        cleared,
        json!([true, "", ""]),
        "another provider starts empty"
    );
    session.type_into("#prompt-text", "Tell a long story");
    session.click("#prompt-send");
    session.wait_until("the first piece of the slow answer", || {
        session
            .text("#prompt-answer")
            .contains("Il était une fois")
            .then_some(())
    });
    session.click("#prompt-stop");
    slow.closed_within(Duration::from_secs(5))
        .expect("Stop closes the provider connection");
    session.wait_until("the prompt marked stopped", || {
        (session.text("#prompt-stats") == "Stopped.").then_some(())
    });
    assert!(session.is_visible(&session.wait_visible("#prompt-send")));

    assert_eq!(
        files_under(session.config_dir()),
        before,
        "nothing written to the config directory"
    );
    let ui_state = std::fs::read_to_string(
        session
            .data_home()
            .join("dev.patchbay.settings/ui-state.json"),
    )
    .unwrap_or_default();
    assert!(
        !ui_state.contains("French")
            && !ui_state.contains("Bonjour")
            && !ui_state.contains("long story"),
        "{ui_state}"
    );
}
