//! Claiming the named pipe on Windows. The default, a published-name file:
//! a fresh random pipe name per server, written atomically beside the lock,
//! found by clients through the file, removed on shutdown only while it is
//! ours, a missing or stale file "not running", a second server refused
//! without touching the first one's file. A fixed `\\.\pipe\…` name: one
//! server per name (by the lock file, which Wine needs too: it lets a second
//! "first instance" through), the lock and pid files where the docs say,
//! the pipe free again after a shutdown, remote names refused, "not
//! running" without a server. The pipe's DACL is checked by the unit tests in
//! `src/endpoint.rs`; a foreign pipe without our lock can't be tested under
//! Wine, which lets anyone create another "first" instance.

use std::path::{Path, PathBuf};
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
        PathBuf::from(r"\\.\pipe\"),
        r"\\.\pipe\a\b".into(),
        r"\\otherhost\pipe\patchbay".into(),
    ] {
        let options = ServerOptions::at(bad.clone(), env.service());
        let error = Server::start(options).await.expect_err("not a local pipe");
        assert!(matches!(error, IpcError::Io { .. }), "{bad:?}: {error:?}");
        assert!(
            error.to_string().contains(r"\\.\pipe\patchbay-<user>"),
            "{error}"
        );
    }
}

/// The published-name file in this test's own runtime directory.
fn pipe_file(env: &TestEnv) -> PathBuf {
    env.world.root().join("run").join("ipc.pipe")
}

fn published_options(env: &TestEnv) -> ServerOptions {
    ServerOptions::at(pipe_file(env), env.service())
}

fn published_name(file: &Path) -> String {
    std::fs::read_to_string(file).expect("the pipe-name file")
}

/// `\\.\pipe\patchbay-<user>-<32 lowercase hex digits>`.
fn assert_random_pipe_name(name: &str) {
    let leaf = name
        .strip_prefix(r"\\.\pipe\patchbay-")
        .unwrap_or_else(|| panic!("not a Patchbay pipe name: {name:?}"));
    let (user, nonce) = leaf.rsplit_once('-').expect("user and nonce");
    assert!(!user.is_empty(), "{name}");
    assert_eq!(nonce.len(), 32, "{name}");
    assert!(
        nonce
            .chars()
            .all(|digit| digit.is_ascii_digit() || ('a'..='f').contains(&digit)),
        "{name}"
    );
}

/// Waits until connecting through `endpoint` says "not running": a stopped
/// server's last waiting instance closes a moment after `shutdown` returns.
async fn until_not_running(endpoint: &Path) -> patchbay_client::ClientError {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Client::connect_to(endpoint).await {
            Err(error) if error.kind() == ErrorKind::NotRunning => return error,
            _ => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "still reachable through {}",
                    endpoint.display()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_publishes_a_random_pipe_name_that_clients_find() {
    let env = TestEnv::new();
    let server = Server::start(published_options(&env))
        .await
        .expect("server starts");
    assert_eq!(server.endpoint(), pipe_file(&env));
    let name = published_name(&pipe_file(&env));
    assert_random_pipe_name(&name);
    let directory = pipe_file(&env).parent().expect("dir").to_owned();
    assert!(directory.join("ipc.pipe.lock").is_file());
    assert_eq!(
        std::fs::read_to_string(directory.join("ipc.pipe.pid"))
            .expect("pid file")
            .trim(),
        std::process::id().to_string()
    );
    // Only the pipe-name file, the lock and the pid file: no temp file left.
    let mut files: Vec<String> = std::fs::read_dir(&directory)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files, ["ipc.pipe", "ipc.pipe.lock", "ipc.pipe.pid"]);

    // Through the file, and through the pipe's name itself.
    Client::connect_to(&pipe_file(&env))
        .await
        .expect("connect through the file")
        .hello()
        .await
        .expect("hello");
    Client::connect_to(Path::new(&name))
        .await
        .expect("connect by name")
        .hello()
        .await
        .expect("hello");

    // Another runtime directory, another server: another name.
    let other_env = TestEnv::new();
    let other = Server::start(published_options(&other_env))
        .await
        .expect("second server elsewhere");
    let other_name = published_name(&pipe_file(&other_env));
    assert_random_pipe_name(&other_name);
    assert_ne!(name, other_name);
    drop(other);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipe_name_file_is_removed_on_shutdown_and_a_stale_one_is_not_running() {
    let env = TestEnv::new();
    let file = pipe_file(&env);
    let server = Server::start(published_options(&env))
        .await
        .expect("server starts");
    let name = published_name(&file);
    server.shutdown().await;
    assert!(!file.exists(), "{} is still there", file.display());

    // What a crash leaves behind: the file naming a pipe that is gone.
    std::fs::write(&file, &name).expect("write a stale file");
    let error = until_not_running(&file).await;
    let message = error.to_string();
    assert!(message.contains(&name), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("patchbay serve"), "{message}");

    // The next server holds the lock, so it simply replaces it.
    let again = Server::start(published_options(&env))
        .await
        .expect("starts over a stale file");
    let new_name = published_name(&file);
    assert_random_pipe_name(&new_name);
    assert_ne!(new_name, name);
    Client::connect_to(&file)
        .await
        .expect("connect")
        .hello()
        .await
        .expect("serving again");
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_pipe_name_file_patchbay_is_not_running() {
    let env = TestEnv::new();
    let file = pipe_file(&env);
    let error = Client::connect_to(&file).await.expect_err("no file");
    assert_eq!(error.kind(), ErrorKind::NotRunning);
    let message = error.to_string();
    assert!(message.starts_with("Patchbay is not running"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_name_file_without_a_local_pipe_name_is_refused_clearly() {
    let env = TestEnv::new();
    let file = pipe_file(&env);
    std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
    for contents in [
        "",
        "patchbay-alice-00",
        r"C:\somewhere\else",
        r"\\otherhost\pipe\patchbay",
        r"\\.\pipe\",
        r"\\.\pipe\a\b",
    ] {
        std::fs::write(&file, contents).expect("write");
        let error = Client::connect_to(&file).await.expect_err(contents);
        assert_eq!(error.kind(), ErrorKind::Io, "{contents:?}: {error}");
        let message = error.to_string();
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains(r"\\.\pipe\"), "{message}");
        assert!(message.contains("Delete the file"), "{message}");
    }
    std::fs::write(&file, vec![b'x'; 4096]).expect("write");
    let error = Client::connect_to(&file).await.expect_err("too large");
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(error.to_string().contains("too large"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_file_is_refused_and_leaves_the_first_ones_name() {
    let env = TestEnv::new();
    let file = pipe_file(&env);
    let first = Server::start(published_options(&env))
        .await
        .expect("first server");
    let name = published_name(&file);
    let error = Server::start(published_options(&env))
        .await
        .expect_err("second server");
    assert_eq!(error.kind().as_str(), "already_running");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "Patchbay is already serving on {}",
            file.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert_eq!(published_name(&file), name);
    Client::connect_to(first.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("first still serves");
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_name_file_that_names_another_pipe_is_left_on_shutdown() {
    let env = TestEnv::new();
    let file = pipe_file(&env);
    let server = Server::start(published_options(&env))
        .await
        .expect("server starts");
    let someone_else = r"\\.\pipe\patchbay-someone-else";
    std::fs::write(&file, someone_else).expect("overwrite");
    server.shutdown().await;
    assert_eq!(published_name(&file), someone_else);
}
