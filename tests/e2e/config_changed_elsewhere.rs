//! A provider added by another process (the `patchbay` CLI) while the window
//! is open appears in the list without a restart: the app watches the shared
//! config and emits `providers-changed`.

use std::process::Command;
use std::time::Duration;

use patchbay_tests::app::AppSession;

/// Adds a no-auth Ollama provider the way a terminal user would: through the
/// real `patchbay` CLI binary, a separate process writing the same file.
fn add_from_another_process(session: &AppSession) {
    let cli = patchbay_tests::target_debug_dir().join("patchbay");
    assert!(
        cli.is_file(),
        "{} is missing: build it first (`cargo build -p patchbay-cli`; scripts/test.sh does)",
        cli.display()
    );
    let output = Command::new(&cli)
        .args([
            "provider",
            "add",
            "--label",
            "Ollama (CLI)",
            "--base-url",
            "http://127.0.0.1:11434/v1",
        ])
        .args([
            "--model",
            "llama3.2:3b",
            "--no-auth",
            "--allow-local",
            "--preset",
            "ollama",
        ])
        .env("PATCHBAY_CONFIG_DIR", session.config_dir())
        .output()
        .expect("the patchbay CLI runs");
    assert!(
        output.status.success(),
        "patchbay provider add failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_provider_added_by_the_cli_while_the_app_is_open_appears_in_the_list() {
    let session = AppSession::start();
    session.wait_visible("#empty-state");

    add_from_another_process(&session);

    let row = "[data-testid=\"provider-item-ollama-cli\"]";
    session.wait_visible(row);
    let listed = session.text(row);
    assert!(listed.contains("Ollama (CLI)"), "{listed}");
    assert!(listed.contains("No authentication"), "{listed}");
    assert!(listed.contains("llama3.2:3b"), "{listed}");
    session.wait_gone("#empty-state");
}

/// Issue 4's load case against the real app: 64 host apps subscribed to
/// the window's own IPC server keep listing while the CLI, another process,
/// changes the config. Every host receives the change, none sees an error,
/// and the window's list updates too.
#[test]
fn sixty_four_hosts_and_the_window_see_a_change_made_by_the_cli() {
    const HOSTS: usize = 64;
    let session = AppSession::start();
    session.wait_visible("#empty-state");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let socket = session.runtime_dir().join("ipc.sock");
    runtime.block_on(wait_until_serving(&socket));

    let (subscribed, mut ready) = tokio::sync::mpsc::channel(HOSTS);
    let hosts: Vec<_> = (0..HOSTS)
        .map(|_| runtime.spawn(host_until_changed(socket.clone(), subscribed.clone())))
        .collect();
    drop(subscribed);
    // Every host is subscribed before the change, so each must see it.
    runtime.block_on(async {
        for _ in 0..HOSTS {
            tokio::time::timeout(Duration::from_secs(30), ready.recv())
                .await
                .expect("all hosts subscribe in time")
                .expect("a host failed before subscribing; see its outcome below");
        }
    });

    add_from_another_process(&session);

    session.wait_visible("[data-testid=\"provider-item-ollama-cli\"]");
    let outcomes: Vec<Result<usize, String>> = runtime.block_on(async {
        let mut outcomes = Vec::with_capacity(HOSTS);
        for host in hosts {
            outcomes.push(host.await.unwrap_or_else(|error| Err(error.to_string())));
        }
        outcomes
    });
    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {HOSTS} hosts failed: {failures:?}",
        failures.len()
    );
    let lists: usize = outcomes.iter().flatten().sum();
    assert!(
        lists >= HOSTS,
        "every host listed while it waited ({lists} lists)"
    );
}

/// The app starts its IPC server as it opens; waits for the socket.
async fn wait_until_serving(socket: &std::path::Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match patchbay_client::Client::connect_to(socket).await {
            Ok(_) => return,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the app's IPC server never answered: {error}"),
        }
    }
}

/// One host: subscribes, says so, then lists over and over until the
/// subscription delivers the CLI's provider. Returns how many lists it made.
async fn host_until_changed(
    socket: std::path::PathBuf,
    subscribed: tokio::sync::mpsc::Sender<()>,
) -> Result<usize, String> {
    let client = patchbay_client::Client::connect_to(&socket)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let mut subscription = client
        .subscribe()
        .await
        .map_err(|error| format!("subscribe: {error}"))?;
    if !subscription.initial().is_empty() {
        return Err(format!(
            "entries before the change: {:?}",
            subscription.initial()
        ));
    }
    subscribed
        .send(())
        .await
        .map_err(|_| "the test stopped waiting".to_owned())?;
    let change = subscription.next();
    tokio::pin!(change);
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    let mut lists = 0;
    loop {
        tokio::select! {
            changed = &mut change => {
                let entries = changed.ok_or("the subscription ended before the change")?;
                let ids: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
                return if ids == ["ollama-cli/llama3.2:3b"] {
                    Ok(lists)
                } else {
                    Err(format!("unexpected change: {ids:?}"))
                };
            }
            () = &mut deadline => return Err("no entries.changed within 60 s".to_owned()),
            listed = client.list_entries() => {
                listed.map_err(|error| format!("entries.list: {error}"))?;
                lists += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}
