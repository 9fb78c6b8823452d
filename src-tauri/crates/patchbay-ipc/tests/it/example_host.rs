//! The example host program (`patchbay-client/examples/host.rs`) against a
//! live server: pairs (approved here, as the person would), lists, resolves,
//! prints header names only.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{cargo_binary, eventually, TestEnv, LOCAL};
use patchbay_testkit::Draft;

const KEY: &str = "sk-example-host-canary-93b1";

pub(crate) fn host_binary() -> std::path::PathBuf {
    cargo_binary("patchbay-client", Some("host"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_host_pairs_lists_and_resolves_against_a_live_server() {
    let binary = tokio::task::spawn_blocking(host_binary)
        .await
        .expect("join");
    let env = TestEnv::new();
    let keyed = env.add(
        Draft::new("Example Cloud")
            .key(KEY)
            .models(&["vendor/model:latest", "second"])
            .json(),
    );
    env.add(
        Draft::new("Local")
            .local(LOCAL)
            .models(&["llama3.2"])
            .json(),
    );
    let server = env.start().await;
    let token_file = env.world.root().join("host-token");

    let child = tokio::process::Command::new(&binary)
        .arg("--socket")
        .arg(server.endpoint())
        .arg("--token-file")
        .arg(&token_file)
        .args([
            "--app-id",
            "dev.patchbay.example-host",
            "--app-name",
            "Example host",
            "--once",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the example host");

    let mut pending = None;
    eventually(Duration::from_secs(20), || {
        pending = server.pairings().pending().into_iter().next();
        pending.is_some()
    })
    .await;
    let pending = pending.expect("pending");
    assert_eq!(pending.app_name, "Example host");
    server
        .pairings()
        .approve(&pending.request_id)
        .expect("approve");

    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("host finished")
        .expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "host failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("entries: 3"), "{stdout}");
    assert!(
        stdout.contains(&format!("entry: {keyed}/vendor/model:latest")),
        "{stdout}"
    );
    // Protocol 2: the gateway, the entry id as the model, the app's token.
    let gateway = server.gateway_base_url().expect("the gateway runs");
    assert!(
        stdout.contains(&format!("resolved: {keyed}/vendor/model:latest base_url={gateway} model={keyed}/vendor/model:latest headers=[Authorization]")),
        "{stdout}"
    );
    assert!(
        !stdout.contains(KEY),
        "the example prints header names, never values"
    );
    let token = std::fs::read_to_string(&token_file).expect("token cached");
    assert!(token.starts_with("pbt_"));
    assert!(
        !stdout.contains(token.trim()),
        "the token is not printed when it is cached in a file"
    );

    // Second run: the cached token works without a new pairing, and the
    // host prints each change until the server goes away.
    let mut child = tokio::process::Command::new(&binary)
        .arg("--socket")
        .arg(server.endpoint())
        .arg("--token-file")
        .arg(&token_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the example host again");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let resolved = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            let done = line.starts_with("resolved:");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await
    .expect("resolved in time");
    assert!(resolved, "{seen:?}");
    assert!(
        server.pairings().pending().is_empty(),
        "no second pairing request"
    );

    env.add(
        Draft::new("Added Later")
            .local(LOCAL)
            .models(&["new-model"])
            .json(),
    );
    server.notify_config_changed().expect("refresh");
    let changed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if line == "changed: 4 entries" {
                return true;
            }
        }
        false
    })
    .await
    .expect("change printed in time");
    assert!(changed);
    server.shutdown().await;
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(status.success());
}
