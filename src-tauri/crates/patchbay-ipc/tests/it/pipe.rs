//! Claiming the named pipe on Windows: one server per pipe name (by the lock
//! file, which Wine needs too: it lets a second "first instance" through),
//! the lock and pid files where the docs say, the pipe free again after a
//! shutdown, names outside `\\.\pipe\` refused, "not running" without a
//! server. The pipe's DACL is checked by the unit tests in
//! `src/endpoint.rs`; a foreign pipe without our lock can't be tested under
//! Wine, which lets anyone create another "first" instance.

use std::time::Duration;

use patchbay_client::{Client, ErrorKind};
use patchbay_ipc::{IpcError, Server, ServerOptions};

use crate::support::TestEnv;

fn leaf(env: &TestEnv) -> String {
    env.endpoint()
        .to_str()
        .expect("unicode")
        .trim_start_matches(r"\\.\pipe\")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_is_refused_with_the_first_ones_pid() {
    let env = TestEnv::new();
    let first = env.start().await;
    let error = Server::start(env.options())
        .await
        .expect_err("second server");
    assert_eq!(error.kind(), "already_running");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            r"Patchbay is already serving on {}",
            env.endpoint().display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    // The first one is untouched.
    Client::connect_to(first.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("first still serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_and_pid_files_sit_in_the_runtime_directory() {
    let env = TestEnv::new();
    let server = env.start().await;
    let directory = patchbay_protocol::paths::runtime_dir().expect("runtime dir");
    let lock = directory.join(format!("{}.lock", leaf(&env)));
    let pid = directory.join(format!("{}.pid", leaf(&env)));
    assert!(lock.is_file(), "{}", lock.display());
    assert_eq!(
        std::fs::read_to_string(&pid).expect("pid file").trim(),
        std::process::id().to_string()
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipe_can_be_claimed_again_after_shutdown() {
    let env = TestEnv::new();
    let server = env.start().await;
    Client::connect_to(server.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("hello");
    server.shutdown().await;
    // The last waiting instance closes once the runtime has processed its
    // cancelled connect, a moment after `shutdown` returns (a socket file is
    // removed at once). Meanwhile a client may still open it and is then
    // hung up on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Client::connect_to(&env.endpoint()).await {
            Err(error) if error.kind() == ErrorKind::NotRunning => break,
            _ => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the pipe is still there"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    let again = env.start().await;
    Client::connect_to(again.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("serving again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_without_a_server_is_not_running() {
    let env = TestEnv::new();
    let error = Client::connect_to(&env.endpoint())
        .await
        .expect_err("no server");
    assert_eq!(error.kind(), ErrorKind::NotRunning);
    let message = error.to_string();
    assert!(
        message.contains(&env.endpoint().display().to_string()),
        "{message}"
    );
    assert!(message.contains("patchbay serve"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_outside_the_pipe_namespace_is_refused() {
    let env = TestEnv::new();
    for bad in [
        env.root.path().join("ipc.sock"),
        r"\\.\pipe\".into(),
        r"\\.\pipe\a\b".into(),
        r"\\otherhost\pipe\patchbay".into(),
    ] {
        let options = ServerOptions::at(bad.clone(), std::sync::Arc::clone(&env.store));
        let error = Server::start(options).await.expect_err("not a local pipe");
        assert!(matches!(error, IpcError::Io { .. }), "{bad:?}: {error:?}");
        assert!(
            error.to_string().contains(r"\\.\pipe\patchbay-<user>"),
            "{error}"
        );
    }
}
