//! 64 clients listing and subscribed while the `patchbay` CLI, another
//! process, changes the config file: every subscriber gets the change,
//! nobody errors. (On Windows, under Wine, there is no cargo to build the
//! CLI with: the change is made in-process through the store, and the
//! server told, as the app does after its own writes.)

use std::time::Duration;

use patchbay_client::Client;
use tokio::sync::Barrier;

#[cfg(unix)]
use crate::support::cargo_binary;
use crate::support::{TestEnv, LOCAL};
use patchbay_testkit::Draft;

const CLIENTS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_see_a_change_made_by_another_process() {
    // Built first: the clients below wait a bounded time for the change.
    #[cfg(unix)]
    let cli = tokio::task::spawn_blocking(|| cargo_binary("patchbay-cli", None))
        .await
        .expect("join");
    let env = TestEnv::new();
    let models: Vec<String> = (0..20)
        .map(|index| format!("org/model-{index}:q4"))
        .collect();
    let models: Vec<&str> = models.iter().map(String::as_str).collect();
    for provider in 0..10 {
        env.add(
            Draft::new(&format!("Provider {provider}"))
                .local(LOCAL)
                .models(&models)
                .json(),
        );
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
                        assert!(
                            entries.len() == 200 || entries.len() == 201,
                            "a whole list, old or new"
                        );
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
            let changed = changed
                .expect("the change arrived in time")
                .expect("still connected");
            Ok::<_, patchbay_client::ClientError>(
                changed.last().map(|entry| entry.model_id.clone()),
            )
        }));
    }
    barrier.wait().await;

    // The change comes from the `patchbay` CLI, a separate process.
    #[cfg(unix)]
    {
        let config_dir = env.config_dir();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new(cli)
                .env("PATCHBAY_CONFIG_DIR", config_dir)
                .args([
                    "provider",
                    "add",
                    "--label",
                    "From The CLI",
                    "--base-url",
                    "http://127.0.0.1:8080/v1",
                ])
                .args(["--model", "the/new:model", "--no-auth", "--allow-local"])
                .output()
        })
        .await
        .expect("join")
        .expect("run the CLI");
        assert!(
            output.status.success(),
            "the CLI failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    #[cfg(windows)]
    {
        env.add(
            serde_json::json!({"label": "From The CLI", "base_url": "http://127.0.0.1:8080/v1",
            "auth": "none", "network": "local", "models": ["the/new:model"]}),
        );
        server.notify_config_changed().expect("refresh");
    }

    for task in tasks {
        let last = task.await.expect("join").expect("no client errored");
        assert_eq!(last.as_deref(), Some("the/new:model"));
    }
    // Every client has gone, and the server forgot them all.
    crate::support::eventually(Duration::from_secs(5), || server.subscriber_count() == 0).await;
}
