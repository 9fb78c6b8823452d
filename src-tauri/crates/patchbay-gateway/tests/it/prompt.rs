//! "Try a prompt" (`patchbay_gateway::prompt::try_prompt`) against fake
//! providers on 127.0.0.1: the answer streams piece by piece with its
//! timing and usage, Anthropic's Messages API is translated like the
//! gateway's, a refusal is classified, a key echoed by a hostile endpoint
//! is redacted, cancelling drops the provider connection, and nothing is
//! written to disk.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use patchbay_core::{Kind, ProviderId};
use patchbay_gateway::prompt::{try_prompt, PromptOutcome, PromptRequest};
use patchbay_service::{Service, ServiceError};
use patchbay_testkit::{handler, shapes, Canned, Draft, Server};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{keyed, service_over, KEY};

struct Setup {
    root: tempfile::TempDir,
    service: Service,
}

fn setup(drafts: &[Draft]) -> Setup {
    let (root, service) = service_over(drafts);
    Setup { root, service }
}

/// Every file under the config directory and its bytes.
fn snapshot(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(root)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

async fn run(
    service: &Service,
    provider: &str,
    model: &str,
    cancel: CancellationToken,
) -> (Vec<String>, Result<PromptOutcome, ServiceError>) {
    let pieces = Mutex::new(Vec::new());
    let request = PromptRequest {
        provider: ProviderId::parse(provider).expect("id"),
        model: model.to_owned(),
        prompt: "Say hello".to_owned(),
        max_tokens: Some(32),
    };
    let outcome = try_prompt(service, request, cancel, &|text: &str| {
        pieces.lock().expect("lock").push(text.to_owned());
    })
    .await;
    (pieces.into_inner().expect("lock"), outcome)
}

fn stream_with_usage(pieces: &[&str], pause: Duration) -> Canned {
    let mut events: Vec<String> = pieces
        .iter()
        .map(|piece| {
            json!({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]})
                .to_string()
        })
        .collect();
    events
        .push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).to_string());
    events.push(json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": pieces.len(), "total_tokens": 9 + pieces.len()}}).to_string());
    events.push("[DONE]".to_owned());
    let timed: Vec<(Duration, Option<&str>, &str)> = events
        .iter()
        .map(|event| (pause, None, event.as_str()))
        .collect();
    Canned::timed_events(&timed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_streams_with_time_to_first_token_usage_and_rate_and_nothing_is_stored() {
    let upstream = Server::http(handler(|_| {
        stream_with_usage(&["Hel", "lo, ", "world"], Duration::from_millis(40))
    }))
    .await
    .expect("server");
    // A disabled provider and a hidden model can still be tried.
    let setup =
        setup(&[keyed("Local", &upstream.at("/v1"), &["org/m:Q4", "other"]).enabled(false)]);
    let local = ProviderId::parse("local").expect("id");
    setup
        .service
        .change_model(
            &local,
            patchbay_core::curation::ModelChange::Hide {
                id: "org/m:Q4".into(),
            },
        )
        .expect("hidden");
    let before = snapshot(setup.root.path());

    let (pieces, outcome) = run(
        &setup.service,
        "local",
        "org/m:Q4",
        CancellationToken::new(),
    )
    .await;
    let outcome = outcome.expect("answered");
    assert_eq!(pieces, ["Hel", "lo, ", "world"], "each piece as it arrived");
    assert_eq!(outcome.entry_id, "local/org/m:Q4");
    let first = outcome.first_token_ms.expect("a first token");
    assert!(first >= 30 && first < outcome.duration_ms, "{outcome:?}");
    let usage = outcome.usage.as_ref().expect("usage");
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens),
        (Some(9), Some(3))
    );
    assert!(
        outcome.tokens_per_second.is_some_and(|rate| rate > 0.0),
        "{outcome:?}"
    );
    assert_eq!(outcome.finish_reason.as_deref(), Some("stop"));
    assert_eq!(outcome.characters, 12);

    let seen = upstream.seen();
    let request = seen.first().expect("a request");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(body["model"], "org/m:Q4", "the raw upstream id");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(
        snapshot(setup.root.path()),
        before,
        "nothing typed or answered is written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_is_translated_like_the_gateway_translates_it() {
    let upstream = Server::http(shapes::anthropic_fake(KEY, &["claude-test"]))
        .await
        .expect("server");
    let setup = setup(&[keyed("Claude", &upstream.at("/v1"), &["claude-test"]).api("anthropic")]);
    let (pieces, outcome) = run(
        &setup.service,
        "claude",
        "claude-test",
        CancellationToken::new(),
    )
    .await;
    let outcome = outcome.expect("answered");
    assert_eq!(pieces.concat(), "Hello there");
    assert_eq!(outcome.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        outcome.usage.as_ref().and_then(|usage| usage.prompt_tokens),
        Some(5)
    );
    assert_eq!(upstream.seen()[0].path, "/v1/messages");

    let (_, unknown) = run(
        &setup.service,
        "claude",
        "claude-nope",
        CancellationToken::new(),
    )
    .await;
    let error = unknown.expect_err("an unknown model");
    assert_eq!(error.kind(), Kind::UpstreamNotFound, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_named_and_an_echoed_key_is_redacted() {
    let limited = Server::http(handler(|_| {
        Canned::json(429, r#"{"error":{"message":"slow down"}}"#).header("retry-after", "7")
    }))
    .await
    .expect("server");
    let echo = Server::http(handler(|_| {
        stream_with_usage(&[&format!("your key is {KEY}")], Duration::ZERO)
    }))
    .await
    .expect("server");
    let setup = setup(&[
        keyed("Limited", &limited.at("/v1"), &["m"]),
        keyed("Echo", &echo.at("/v1"), &["m"]),
    ]);
    let (_, outcome) = run(&setup.service, "limited", "m", CancellationToken::new()).await;
    let error = outcome.expect_err("rate limited");
    assert_eq!(error.kind(), Kind::RateLimited);
    let shown = error.to_payload().message;
    assert!(
        shown.contains("7 s") && shown.contains("slow down"),
        "{shown}"
    );

    let (pieces, outcome) = run(&setup.service, "echo", "m", CancellationToken::new()).await;
    outcome.expect("answered");
    let text = pieces.concat();
    assert!(!text.contains(KEY) && text.contains("[redacted]"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_drops_the_provider_connection_at_once() {
    let slow = patchbay_testkit::Stalling::start("Once upon").expect("server");
    let setup = setup(&[keyed("Slow", slow.base_url(), &["m"])]);
    let cancel = CancellationToken::new();
    let on_first = cancel.clone();
    let pieces = Mutex::new(Vec::new());
    let request = PromptRequest {
        provider: ProviderId::parse("slow").expect("id"),
        model: "m".to_owned(),
        prompt: "Tell a long story".to_owned(),
        max_tokens: None,
    };
    let started = Instant::now();
    let outcome = try_prompt(&setup.service, request, cancel, &|text: &str| {
        pieces.lock().expect("lock").push(text.to_owned());
        on_first.cancel();
    })
    .await;
    let error = outcome.expect_err("cancelled");
    assert!(error.is_cancelled(), "{error}");
    assert_eq!(pieces.into_inner().expect("lock"), ["Once upon"]);
    let closed_at = tokio::task::spawn_blocking(move || slow.closed_within(Duration::from_secs(5)))
        .await
        .expect("joined")
        .expect("the provider saw the connection close");
    assert!(
        closed_at.duration_since(started) < Duration::from_secs(3),
        "closed after {:?}",
        closed_at.duration_since(started)
    );
}
