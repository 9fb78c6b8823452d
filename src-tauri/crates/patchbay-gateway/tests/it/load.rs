//! 64 clients at once, half of them streaming, while another process
//! changes the config: every request completes with its own answer, and a
//! client that stops reading holds up nobody.

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::ProviderId;
use patchbay_testkit::{handler, Canned, Draft, Seen, Server};

use crate::support::{keyed, World};

/// Answers with the request's own `user` marker, streamed or not.
fn echo(seen: &Seen) -> Canned {
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    let marker = body["user"].as_str().unwrap_or("none").to_owned();
    if body["stream"] == true {
        let events: Vec<String> = (0..5)
            .map(|index| format!(r#"{{"marker":"{marker}","n":{index}}}"#))
            .collect();
        let timed: Vec<(Duration, Option<&str>, &str)> = events
            .iter()
            .map(|event| (Duration::from_millis(5), None, event.as_str()))
            .collect();
        Canned::timed_events(&timed)
    } else {
        Canned::json(200, format!(r#"{{"marker":"{marker}"}}"#))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_get_their_own_answers_while_the_config_changes() {
    let upstream = Server::http(handler(echo)).await.expect("server");
    let world = World::new(&[
        keyed("Busy", &upstream.at("/v1"), &["m"]),
        Draft::new("Churn")
            .local("http://127.0.0.1:9/v1")
            .models(&["x"]),
    ])
    .await;

    // A client that starts a stream and never reads it.
    let body = r#"{"model":"busy/m","stream":true,"user":"stuck"}"#;
    let stuck = world.start_chat(body, false).await;

    // Another process keeps changing the config meanwhile.
    let paths = ConfigPaths::in_dir(world.store.paths().dir.clone());
    let churn = tokio::task::spawn_blocking(move || {
        let other = ProviderStore::new(paths, Arc::new(MemoryStore::new()));
        let id = ProviderId::parse("churn").expect("id");
        for round in 0..40 {
            other.set_enabled(&id, round % 2 == 0).expect("toggle");
            std::thread::sleep(Duration::from_millis(5));
        }
    });

    let world = Arc::new(world);
    let mut clients = Vec::new();
    for client in 0..64 {
        let world = Arc::clone(&world);
        clients.push(tokio::spawn(async move {
            for round in 0..3 {
                let marker = format!("c{client}-r{round}");
                let stream = client % 2 == 0;
                let answer = world
                    .post(
                        "chat/completions",
                        &format!(r#"{{"model":"busy/m","stream":{stream},"user":"{marker}"}}"#),
                    )
                    .await;
                assert_eq!(answer.status, 200, "{marker}: {}", answer.text());
                let text = answer.text();
                let expected = if stream { 5 } else { 1 };
                assert_eq!(
                    text.matches(&format!("\"marker\":\"{marker}\"")).count(),
                    expected,
                    "{marker} got: {text}"
                );
                assert!(
                    !text.contains("\"marker\":\"c")
                        || text.matches("\"marker\":\"").count() == expected,
                    "{text}"
                );
            }
        }));
    }
    for client in clients {
        tokio::time::timeout(Duration::from_secs(60), client)
            .await
            .expect("every client finishes")
            .expect("no client failed");
    }
    churn.await.expect("the config churn ran");
    drop(stuck);
    assert_eq!(upstream.seen().len(), 64 * 3 + 1);
}
