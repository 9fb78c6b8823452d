//! A host app only talks to a socket only its user could have put there:
//! a listening socket in a directory others can write, or one owned by
//! another user, is refused before a single byte is sent.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use patchbay_client::{Client, ErrorKind};
use tokio::io::AsyncReadExt;

/// A server that records how many bytes a client sent it.
fn listening(path: &std::path::Path) -> tokio::task::JoinHandle<usize> {
    let listener = tokio::net::UnixListener::bind(path).expect("bind");
    tokio::spawn(async move {
        let Ok(Ok((mut stream, _))) =
            tokio::time::timeout(Duration::from_secs(2), listener.accept()).await
        else {
            return 0;
        };
        let mut received = Vec::new();
        let _read = tokio::time::timeout(
            Duration::from_millis(500),
            stream.read_to_end(&mut received),
        )
        .await;
        received.len()
    })
}

#[tokio::test]
async fn a_socket_in_a_directory_others_can_write_is_refused_before_any_byte() {
    let root = tempfile::tempdir().expect("temp dir");
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let socket = shared.join("ipc.sock");
    let server = listening(&socket);

    let error = Client::connect_to(&socket)
        .await
        .expect_err("an untrusted directory");
    assert_eq!(error.kind(), ErrorKind::UntrustedEndpoint, "{error}");
    assert!(error.to_string().contains("mode 777"), "{error}");
    assert_eq!(server.await.expect("join"), 0, "not a byte was sent");

    // The same socket in a private directory is trusted.
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let server = {
        std::fs::remove_file(&socket).expect("remove the old socket");
        listening(&socket)
    };
    let connected = Client::connect_to(&socket).await;
    assert!(connected.is_ok(), "{:?}", connected.err());
    drop(connected);
    drop(server);
}

#[tokio::test]
async fn a_socket_whose_directory_belongs_to_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/self")
        .map(|metadata| metadata.uid())
        .ok()
        != Some(0)
    {
        eprintln!("not root: cannot give a directory to another user here");
        return;
    }
    let root = tempfile::tempdir().expect("temp dir");
    let theirs = root.path().join("theirs");
    std::fs::create_dir(&theirs).expect("mkdir");
    let socket = theirs.join("ipc.sock");
    let server = listening(&socket);
    // Another user's private directory, as if they had created it first.
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    let error = Client::connect_to(&socket)
        .await
        .expect_err("another user's directory");
    assert_eq!(error.kind(), ErrorKind::UntrustedEndpoint, "{error}");
    assert!(error.to_string().contains("uid 65534"), "{error}");
    assert_eq!(server.await.expect("join"), 0, "not a byte was sent");

    // Their socket in our own directory: refused as well.
    std::os::unix::fs::chown(&theirs, Some(0), Some(0)).expect("chown back");
    std::os::unix::fs::chown(&socket, Some(65534), Some(65534)).expect("chown socket");
    let error = Client::connect_to(&socket)
        .await
        .expect_err("another user's socket");
    assert!(
        error
            .to_string()
            .contains("the socket belongs to uid 65534"),
        "{error}"
    );
}
