//! The scripted peer's end of the channel, on the platform's own transport:
//! a Unix socket in a temp dir, or on Windows a named pipe named after that
//! (unique) temp dir, since pipe names are machine-global.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the client under test.
pub(crate) trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// A fresh directory only this user can use (0700), like Patchbay's runtime
/// directory: the client trusts a socket only there.
pub(crate) fn private_dir() -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temp dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod 0700");
    }
    directory
}

/// The endpoint a test's listener binds and its client connects to.
pub(crate) fn endpoint(directory: &tempfile::TempDir) -> PathBuf {
    #[cfg(unix)]
    {
        directory.path().join("ipc.sock")
    }
    #[cfg(windows)]
    {
        let unique = directory
            .path()
            .file_name()
            .expect("temp dir name")
            .to_string_lossy()
            .into_owned();
        PathBuf::from(format!(
            r"\\.\pipe\pbclient-{unique}-{}",
            std::process::id()
        ))
    }
}

/// Listens on an endpoint, one connection at a time.
#[cfg(unix)]
pub(crate) struct Listener(tokio::net::UnixListener);

#[cfg(unix)]
impl Listener {
    pub(crate) fn bind(endpoint: &Path) -> Self {
        Self(tokio::net::UnixListener::bind(endpoint).expect("bind"))
    }

    pub(crate) async fn accept(&self) -> io::Result<Box<dyn Duplex>> {
        let (stream, _address) = self.0.accept().await?;
        Ok(Box::new(stream))
    }
}

/// Listens on a named pipe: one instance waits for the next client, and a
/// fresh one is created as soon as it connects.
#[cfg(windows)]
pub(crate) struct Listener {
    name: PathBuf,
    next: tokio::sync::Mutex<tokio::net::windows::named_pipe::NamedPipeServer>,
}

#[cfg(windows)]
impl Listener {
    pub(crate) fn bind(endpoint: &Path) -> Self {
        use tokio::net::windows::named_pipe::ServerOptions;
        let first = ServerOptions::new()
            .first_pipe_instance(true)
            .reject_remote_clients(true)
            .create(endpoint.as_os_str())
            .expect("create the pipe");
        Self {
            name: endpoint.to_owned(),
            next: tokio::sync::Mutex::new(first),
        }
    }

    pub(crate) async fn accept(&self) -> io::Result<Box<dyn Duplex>> {
        use tokio::net::windows::named_pipe::ServerOptions;
        let mut next = self.next.lock().await;
        next.connect().await?;
        let fresh = ServerOptions::new()
            .reject_remote_clients(true)
            .create(self.name.as_os_str())?;
        Ok(Box::new(std::mem::replace(&mut *next, fresh)))
    }
}
