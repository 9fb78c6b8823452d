//! Claiming the endpoint: permissions, one server per user, stale sockets,
//! files that are not ours to remove, other users refused.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use patchbay_client::Client;
use patchbay_ipc::{IpcError, Server};

use crate::support::{eventually, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_0600_in_a_0700_directory_and_removed_on_shutdown() {
    let env = TestEnv::new();
    // A pre-existing directory with a loose mode is tightened.
    std::fs::create_dir_all(env.runtime_dir()).expect("mkdir");
    std::fs::set_permissions(env.runtime_dir(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let server = env.start().await;
    let directory = std::fs::metadata(env.runtime_dir()).expect("dir");
    assert_eq!(directory.mode() & 0o777, 0o700);
    let socket = std::fs::symlink_metadata(env.socket()).expect("socket");
    assert_eq!(socket.mode() & 0o777, 0o600);
    let lock = std::fs::read_to_string(env.runtime_dir().join("ipc.sock.lock")).expect("lock file");
    assert_eq!(lock.trim(), std::process::id().to_string());

    server.shutdown().await;
    assert!(!env.socket().exists(), "the socket file is removed");
    // And the endpoint can be claimed again.
    let again = env.start().await;
    Client::connect_to(again.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_socket_left_by_a_crash_is_replaced() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.runtime_dir()).expect("mkdir");
    std::fs::set_permissions(env.runtime_dir(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    // A socket file nobody listens on, as a killed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(env.socket()).expect("bind"));
    assert!(env.socket().exists());
    let server = env.start().await;
    Client::connect_to(server.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("serving on the replaced socket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_live_socket_and_non_socket_files_are_never_removed() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.runtime_dir()).expect("mkdir");
    std::fs::set_permissions(env.runtime_dir(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");

    // A live listener without our lock (an older Patchbay, another tool).
    let foreign = tokio::net::UnixListener::bind(env.socket()).expect("bind");
    let error = Server::start(env.options()).await.expect_err("live socket");
    assert_eq!(error.kind().as_str(), "already_running");
    assert!(env.socket().exists());
    let probe = tokio::net::UnixStream::connect(env.socket());
    let (accepted, connected) = tokio::join!(foreign.accept(), probe);
    accepted.expect("the foreign listener still works");
    connected.expect("connect");
    drop(foreign);
    std::fs::remove_file(env.socket()).expect("cleanup");

    // A regular file where the socket should be.
    std::fs::write(env.socket(), b"important").expect("write");
    let error = Server::start(env.options())
        .await
        .expect_err("not a socket");
    assert!(matches!(error, IpcError::NotASocket { .. }), "{error:?}");
    assert_eq!(
        std::fs::read(env.socket()).expect("still there"),
        b"important"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_directory_owned_by_another_user_is_refused() {
    let env = TestEnv::new();
    if std::fs::metadata("/proc/self").expect("procfs").uid() != 0 {
        // Creating a directory owned by someone else needs root; as a normal
        // user the ownership check is exercised by every other test (our
        // own directory passes it).
        eprintln!("not root: skipping the foreign-owner part");
        return;
    }
    std::fs::create_dir_all(env.runtime_dir()).expect("mkdir");
    std::os::unix::fs::chown(env.runtime_dir(), Some(65534), Some(65534)).expect("chown");
    let error = Server::start(env.options())
        .await
        .expect_err("foreign directory");
    assert_eq!(error.kind().as_str(), "unsafe_directory");
    assert!(!env.socket().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_from_another_uid_is_dropped() {
    let env = TestEnv::new();
    if std::fs::metadata("/proc/self").expect("procfs").uid() != 0 {
        eprintln!("not root: cannot connect as another user here");
        return;
    }
    let server = env.start().await;
    // Open the fences the directory and socket modes provide, so only the
    // peer-uid check stands between another user and the server.
    std::fs::set_permissions(env.world.root(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod root");
    std::fs::set_permissions(env.runtime_dir(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    std::fs::set_permissions(env.socket(), std::fs::Permissions::from_mode(0o666))
        .expect("chmod socket");
    // Prints how many bytes of an answer the other user got: 0 when the
    // server hangs up (EOF, reset or a broken pipe all mean that).
    let script = format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.settimeout(5)\ntry:\n s.sendall(b'{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"patchbay.hello\"}}\\n')\n print(len(s.recv(4096)))\nexcept (BrokenPipeError, ConnectionResetError):\n print(0)",
        env.socket().display().to_string()
    );
    let output = tokio::task::spawn_blocking(move || {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .uid(65534)
            .gid(65534)
            .output()
    })
    .await
    .expect("join");
    let output = match output {
        Ok(output) => output,
        Err(error) => panic!("could not run python3 as nobody: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        "0",
        "the other user read nothing: stdout {stdout:?} stderr {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // We, the right user, are still served, and the refused connection was
    // never counted as one. (Our client trusts only a private directory, so
    // the fences go back up first.)
    std::fs::set_permissions(env.runtime_dir(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod dir back");
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    client.hello().await.expect("hello");
    eventually(Duration::from_secs(5), || server.connection_count() == 1).await;
    drop(client);
}
