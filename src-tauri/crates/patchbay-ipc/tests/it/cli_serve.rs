//! The real `patchbay serve` (the CLI binary): a second one is refused, the
//! example host pairs against it with the approval given by
//! `patchbay hosts approve`, and after a crash (SIGKILL) the stale socket is
//! replaced by the next `patchbay serve`.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use patchbay_client::Client;
use serde_json::Value;

use crate::example_host::host_binary;
use crate::support::cargo_binary;

struct Cli {
    binary: PathBuf,
    config: PathBuf,
    runtime: PathBuf,
}

impl Cli {
    fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .env("PATCHBAY_CONFIG_DIR", &self.config)
            .env("PATCHBAY_RUNTIME_DIR", &self.runtime)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    async fn run(&self, arguments: &[&str]) -> Output {
        let output = tokio::time::timeout(
            Duration::from_secs(30),
            self.command().args(arguments).output(),
        )
        .await;
        output
            .expect("the CLI finished in time")
            .expect("run the CLI")
    }

    fn serve(&self) -> tokio::process::Child {
        self.command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn patchbay serve")
    }

    fn socket(&self) -> PathBuf {
        self.runtime.join("ipc.sock")
    }
}

async fn wait_until_serving(socket: &Path) -> Client {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(client) = Client::connect_to(socket).await {
            if client.hello().await.is_ok() {
                return client;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "patchbay serve did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patchbay_serve_is_single_instance_pairs_hosts_and_recovers_from_a_crash() {
    let binaries =
        tokio::task::spawn_blocking(|| (cargo_binary("patchbay-cli", None), host_binary()))
            .await
            .expect("join");
    let (cli_binary, host) = binaries;
    let root = tempfile::Builder::new()
        .prefix("pbcli")
        .tempdir_in("/tmp")
        .expect("temp dir");
    let cli = Cli {
        binary: cli_binary,
        config: root.path().join("config"),
        runtime: root.path().join("run"),
    };

    let added = cli
        .run(&[
            "provider",
            "add",
            "--label",
            "Local",
            "--base-url",
            "http://127.0.0.1:11434/v1",
            "--model",
            "llama3.2:1b",
            "--model",
            "org/m",
            "--no-auth",
            "--allow-local",
        ])
        .await;
    assert!(added.status.success(), "{}", text(&added.stderr));

    let mut first = cli.serve();
    wait_until_serving(&cli.socket()).await;

    // A second `patchbay serve` exits at once with a clear message.
    let second = cli.run(&["serve"]).await;
    assert!(!second.status.success());
    let message = text(&second.stderr);
    assert!(message.contains("already serving on"), "{message}");
    assert!(
        message.contains(&cli.socket().display().to_string()),
        "{message}"
    );
    let first_pid = first.id().expect("running");
    assert!(message.contains(&format!("pid {first_pid}")), "{message}");

    // The example host pairs; the person approves from a terminal.
    let token_file = root.path().join("token");
    let host_run = tokio::process::Command::new(&host)
        .arg("--socket")
        .arg(cli.socket())
        .arg("--token-file")
        .arg(&token_file)
        .args(["--app-name", "Terminal Host", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the example host");
    let request_id = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let pending = cli.run(&["hosts", "pending", "--json"]).await;
            assert!(pending.status.success(), "{}", text(&pending.stderr));
            let parsed: Value = serde_json::from_slice(&pending.stdout).expect("--json output");
            if let Some(id) = parsed["pending"][0]["request_id"].as_str() {
                assert_eq!(parsed["pending"][0]["app_name"], "Terminal Host");
                break id.to_owned();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pending request appeared"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let approved = cli.run(&["hosts", "approve", &request_id]).await;
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    let host_output = tokio::time::timeout(Duration::from_secs(20), host_run.wait_with_output())
        .await
        .expect("in time")
        .expect("output");
    let stdout = text(&host_output.stdout);
    assert!(
        host_output.status.success(),
        "{stdout}\n{}",
        text(&host_output.stderr)
    );
    assert!(stdout.contains("entries: 2"), "{stdout}");
    // Protocol 2: the gateway `patchbay serve` runs, the entry id, the token.
    assert!(
        stdout.contains("resolved: local/llama3.2:1b base_url=http://127.0.0.1:")
            && stdout.contains("/v1 model=local/llama3.2:1b headers=[Authorization]"),
        "the gateway's answer: {stdout}"
    );
    let hosts = cli.run(&["hosts", "list", "--json"]).await;
    let hosts: Value = serde_json::from_slice(&hosts.stdout).expect("--json output");
    assert_eq!(hosts["hosts"][0]["app_name"], "Terminal Host");
    assert!(hosts["hosts"][0]["last_used"].is_string());

    // A crash leaves the socket file behind; the next server replaces it.
    first.start_kill().expect("SIGKILL");
    first.wait().await.expect("reaped");
    assert!(
        cli.socket().exists(),
        "a killed server leaves its socket file"
    );
    let mut third = cli.serve();
    wait_until_serving(&cli.socket()).await;

    // SIGTERM stops it cleanly and removes the socket.
    let pid = third.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), third.wait())
        .await
        .expect("stopped in time")
        .expect("status");
    assert!(status.success(), "patchbay serve exits 0 on SIGTERM");
    assert!(
        !cli.socket().exists(),
        "the socket is removed on a clean stop"
    );
}
