//! 64 clients listing and subscribed while another process changes the
//! config file: every subscriber gets the change, nobody errors.

use std::time::Duration;

use patchbay_client::Client;
use tokio::sync::Barrier;

use crate::support::{built_binary, no_auth_draft, TestEnv};

const CLIENTS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_see_a_change_made_by_another_process() {
    let env = TestEnv::new();
    let models: Vec<String> = (0..20).map(|index| format!("org/model-{index}:q4")).collect();
    let models: Vec<&str> = models.iter().map(String::as_str).collect();
    for provider in 0..10 {
        env.add(no_auth_draft(&format!("Provider {provider}"), &models));
    }
    let server = env.start().await;
    let barrier = std::sync::Arc::new(Barrier::new(CLIENTS + 1));

    let mut tasks = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let endpoint = server.endpoint().to_owned();
        let barrier = std::sync::Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            let client = Client::connect_to(&endpoint).await?;
            let mut subscription = client.subscribe().await?;
            assert_eq!(subscription.initial().len(), 200);
            barrier.wait().await;
            // Keep listing while the other process writes.
            let lister = {
                let client = client.clone();
                async move {
                    for _ in 0..20 {
                        let entries = client.list_entries().await?;
                        assert!(entries.len() == 200 || entries.len() == 201, "a whole list, old or new");
                    }
                    Ok::<_, patchbay_client::ClientError>(())
                }
            };
            let watcher = async {
                tokio::time::timeout(Duration::from_secs(20), async {
                    loop {
                        match subscription.next().await {
                            Some(entries) if entries.len() == 201 => return Some(entries),
                            Some(_) => continue,
                            None => return None,
                        }
                    }
                })
                .await
            };
            let (listed, changed) = tokio::join!(lister, watcher);
            listed?;
            let changed = changed.expect("the change arrived in time").expect("still connected");
            Ok::<_, patchbay_client::ClientError>(changed.last().map(|entry| entry.model_id.clone()))
        }));
    }
    barrier.wait().await;

    let writer = built_binary("examples/config_writer");
    assert!(writer.exists(), "cargo builds examples for tests: {}", writer.display());
    let config_dir = env.config_dir();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(writer)
            .arg(config_dir)
            .args(["add", "From Another Process", "http://127.0.0.1:8080/v1", "the/new:model"])
            .output()
    })
    .await
    .expect("join")
    .expect("run the writer");
    assert!(output.status.success(), "writer failed: {}", String::from_utf8_lossy(&output.stderr));

    for task in tasks {
        let last = task.await.expect("join").expect("no client errored");
        assert_eq!(last.as_deref(), Some("the/new:model"));
    }
    // Every client has gone, and the server forgot them all.
    crate::support::eventually(Duration::from_secs(5), || server.subscriber_count() == 0).await;
}
