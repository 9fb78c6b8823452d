//! `patchbay chat PROVIDER/MODEL "prompt"`: the answer on stdout as it
//! arrives, how it went on stderr, one object with `--json`, the prompt
//! from stdin, clear refusals, Ctrl-C closing the provider connection, and
//! nothing written to the config directory.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::Duration;

use patchbay_testkit::{handler, Canned, Server};
use serde_json::json;

use crate::support::{TestResult, World};

fn answering_server() -> patchbay_testkit::TestResult<Server> {
    Server::background_http(handler(|seen| {
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let prompt = body["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let events = [
            json!({"choices": [{"index": 0, "delta": {"content": "You said: "}}]}).to_string(),
            json!({"choices": [{"index": 0, "delta": {"content": prompt}, "finish_reason": "stop"}]}).to_string(),
            json!({"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10}}).to_string(),
            "[DONE]".to_owned(),
        ];
        let timed: Vec<(Duration, Option<&str>, &str)> = events
            .iter()
            .map(|event| (Duration::from_millis(20), None, event.as_str()))
            .collect();
        Canned::timed_events(&timed)
    }))
}

fn add(world: &World, base_url: &str) -> TestResult {
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Local",
            "--base-url",
            base_url,
            "--model",
            "org/m:Q4",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    Ok(())
}

#[test]
fn the_answer_streams_to_stdout_and_how_it_went_to_stderr() -> TestResult {
    let server = answering_server()?;
    let world = World::new()?;
    add(&world, &server.at("/v1"))?;
    let config = world.config_bytes();
    let files_before = std::fs::read_dir(world.config_dir())?.count();

    let run = world.run(&["chat", "local/org/m:Q4", "hi there"], None)?;
    run.expect_code(0);
    assert_eq!(run.stdout, "You said: hi there\n");
    assert!(
        run.stderr.contains("first token")
            && run.stderr.contains("6 tokens out, 4 in")
            && run.stderr.contains("tokens/s")
            && run.stderr.contains("stop")
            && run.stderr.contains("(local/org/m:Q4)"),
        "{run:#?}"
    );

    // The prompt from stdin; --json gives one object at the end.
    let json = world.run(
        &["chat", "local/org/m:Q4", "--json", "--max-tokens", "5"],
        Some("from stdin\n"),
    )?;
    json.expect_code(0);
    let answer = json.json()?;
    assert_eq!(answer["text"], "You said: from stdin");
    assert_eq!(answer["entry_id"], "local/org/m:Q4");
    assert_eq!(answer["usage"]["completion_tokens"], 6);
    assert!(answer["first_token_ms"].is_u64(), "{answer}");
    let sent: serde_json::Value = serde_json::from_slice(&server.seen()[1].body)?;
    assert_eq!(sent["max_tokens"], 5);
    assert_eq!(sent["model"], "org/m:Q4");

    assert_eq!(world.config_bytes(), config, "nothing recorded");
    assert_eq!(std::fs::read_dir(world.config_dir())?.count(), files_before);
    Ok(())
}

#[test]
fn a_malformed_entry_an_unknown_provider_and_an_empty_prompt_are_refused() -> TestResult {
    let world = World::new()?;
    let run = world.run(&["chat", "no-slash", "hi", "--json"], None)?;
    run.expect_code(1);
    let error = run.json()?;
    assert_eq!(error["error"]["fields"][0]["field"], "entry");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("PROVIDER/MODEL"));
    let unknown = world.run(&["chat", "ghost/m", "hi", "--json"], None)?;
    unknown.expect_code(1);
    assert_eq!(unknown.json()?["error"]["kind"], "not_found");
    add(&world, "http://127.0.0.1:9/v1")?;
    let empty = world.run(&["chat", "local/m", "--json"], Some("   \n"))?;
    empty.expect_code(1);
    assert_eq!(empty.json()?["error"]["fields"][0]["field"], "prompt");
    Ok(())
}

#[test]
fn ctrl_c_stops_the_answer_and_closes_the_provider_connection() -> TestResult {
    let slow = patchbay_testkit::Stalling::start("Once upon\n")?;
    let world = World::new()?;
    add(&world, slow.base_url())?;
    let mut child = world
        .command(&["chat", "local/org/m:Q4", "tell a story"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?);
    let mut first = String::new();
    stdout.read_line(&mut first)?;
    assert_eq!(
        first, "Once upon\n",
        "the first piece arrived before the end"
    );
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    assert!(interrupted.success());
    let closed_at = slow
        .closed_within(Duration::from_secs(5))
        .ok_or("the provider connection stayed open after Ctrl-C")?;
    let status = child.wait()?;
    assert_eq!(status.code(), Some(1), "a cancelled chat fails");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .ok_or("stderr")?
        .read_to_string(&mut stderr)?;
    assert!(stderr.to_lowercase().contains("cancel"), "{stderr}");
    assert!(closed_at.elapsed() < Duration::from_secs(5));
    Ok(())
}
