//! The server's end of the local channel: claiming the endpoint exactly once
//! per user, accepting connections from the same user only, and leaving
//! nothing behind.
//!
//! On Unix the endpoint is a socket file in a directory of mode 0700 that we
//! own; the socket is 0600; each peer's uid is checked with `SO_PEERCRED`. A
//! lock file beside the socket (`ipc.sock.lock`, holding the server's pid)
//! makes "is another server running?" a question the kernel answers; an
//! existing socket file is removed only when it is a socket, we hold the
//! lock, and connecting to it is refused (nobody is listening). On Windows it
//! is a named pipe created with `first_pipe_instance`, so a second server
//! fails to create it, and remote clients are rejected.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::{IpcError, Result};

/// A connected client stream.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The platform's default endpoint: `paths::socket_path()` on Unix,
/// `paths::pipe_name()` on Windows.
pub fn default_endpoint() -> Result<PathBuf> {
    #[cfg(windows)]
    {
        Ok(PathBuf::from(patchbay_protocol::paths::pipe_name()))
    }
    #[cfg(not(windows))]
    {
        patchbay_protocol::paths::socket_path().ok_or(IpcError::NoEndpoint { what: "IPC socket" })
    }
}

#[cfg(unix)]
pub(crate) use unix::Listener;
#[cfg(windows)]
pub(crate) use windows::Listener;

#[cfg(unix)]
mod unix {
    use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::{
        DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
    };

    use tokio::net::{UnixListener, UnixStream};

    use super::*;

    /// The bound socket. Dropping it removes the socket file (only if it is
    /// still the one we created) and releases the lock.
    #[derive(Debug)]
    pub(crate) struct Listener {
        listener: UnixListener,
        path: PathBuf,
        identity: (u64, u64),
        own_uid: u32,
        // Held for the server's lifetime: the kernel releases it if we crash.
        _lock: File,
    }

    impl Listener {
        pub(crate) async fn bind(path: &Path) -> Result<Self> {
            let directory = path.parent().ok_or_else(|| IpcError::UnsafeDirectory {
                path: path.to_owned(),
                reason: "the socket path has no parent directory".to_owned(),
            })?;
            let own_uid = current_uid()?;
            prepare_directory(directory, own_uid)?;
            let lock = claim_lock(path)?;
            remove_stale_socket(path).await?;
            let listener =
                UnixListener::bind(path).map_err(|error| IpcError::io("listen on", path, error))?;
            // The 0700 directory already keeps other users out; 0600 on the
            // socket is the second fence the issue asks for.
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(|error| IpcError::io("set permissions of", path, error))?;
            let metadata =
                fs::symlink_metadata(path).map_err(|error| IpcError::io("inspect", path, error))?;
            Ok(Self {
                listener,
                path: path.to_owned(),
                identity: (metadata.dev(), metadata.ino()),
                own_uid,
                _lock: lock,
            })
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// The next connection from our own uid. Connections from other uids
        /// (only possible if someone loosened the directory's mode) are
        /// closed at once and logged.
        pub(crate) async fn accept(&self) -> io::Result<Box<dyn Stream>> {
            loop {
                let (stream, _address) = self.listener.accept().await?;
                match stream.peer_cred() {
                    Ok(credentials) if credentials.uid() == self.own_uid => {
                        return Ok(Box::new(stream))
                    }
                    Ok(credentials) => {
                        tracing::warn!(
                            peer_uid = credentials.uid(),
                            "refused an IPC connection from another user"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, "refused an IPC connection whose peer could not be identified")
                    }
                }
            }
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            // Another server may have replaced the file after a forced
            // takeover; only remove the socket we created.
            let ours = fs::symlink_metadata(&self.path)
                .map(|metadata| (metadata.dev(), metadata.ino()) == self.identity)
                .unwrap_or(false);
            if ours {
                if let Err(error) = fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), %error, "could not remove the IPC socket");
                }
            }
        }
    }

    /// The process's effective uid without `libc` (the workspace forbids
    /// `unsafe`): the owner of `/proc/self`, or of a file we just created.
    fn current_uid() -> Result<u32> {
        if let Ok(metadata) = fs::metadata("/proc/self") {
            return Ok(metadata.uid());
        }
        let path = std::env::temp_dir().join(format!(".patchbay-ipc-uid-{}", std::process::id()));
        let file = File::create(&path).map_err(|error| IpcError::io("create", &path, error))?;
        let uid = file
            .metadata()
            .map_err(|error| IpcError::io("inspect", &path, error))?
            .uid();
        drop(file);
        fs::remove_file(&path).map_err(|error| IpcError::io("remove", &path, error))?;
        Ok(uid)
    }

    /// Creates the runtime directory 0700, or checks an existing one: a real
    /// directory (not a symlink), owned by us. A mode looser than 0700 on our
    /// own directory is tightened rather than refused.
    fn prepare_directory(directory: &Path, own_uid: u32) -> Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(directory)
            .map_err(|error| IpcError::io("create", directory, error))?;
        let metadata = fs::symlink_metadata(directory)
            .map_err(|error| IpcError::io("inspect", directory, error))?;
        if !metadata.file_type().is_dir() {
            return Err(IpcError::UnsafeDirectory {
                path: directory.to_owned(),
                reason: "it is not a directory (a symlink?)".to_owned(),
            });
        }
        if metadata.uid() != own_uid {
            return Err(IpcError::UnsafeDirectory {
                path: directory.to_owned(),
                reason: format!(
                    "it belongs to uid {}, not to this user (uid {own_uid})",
                    metadata.uid()
                ),
            });
        }
        if metadata.mode() & 0o077 != 0 {
            fs::set_permissions(directory, fs::Permissions::from_mode(0o700))
                .map_err(|error| IpcError::io("set permissions of", directory, error))?;
        }
        Ok(())
    }

    /// Takes the exclusive lock next to the socket and writes our pid into
    /// it. Failing to get it means another server is running.
    fn claim_lock(socket: &Path) -> Result<File> {
        let lock_path = lock_path(socket);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|error| IpcError::io("open", &lock_path, error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut contents = String::new();
                let pid = match file.read_to_string(&mut contents) {
                    Ok(_) => contents.trim().parse().ok(),
                    Err(_) => None,
                };
                return Err(IpcError::AlreadyRunning {
                    endpoint: socket.display().to_string(),
                    pid,
                });
            }
            Err(TryLockError::Error(error)) => return Err(IpcError::io("lock", &lock_path, error)),
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        written.map_err(|error| IpcError::io("write", &lock_path, error))?;
        Ok(file)
    }

    pub(super) fn lock_path(socket: &Path) -> PathBuf {
        let mut name = socket
            .file_name()
            .map(|name| name.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        socket.with_file_name(name)
    }

    /// Removes a socket file left by a crashed server. Never removes a
    /// non-socket file, and never a socket someone is listening on.
    async fn remove_stale_socket(path: &Path) -> Result<()> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(IpcError::io("inspect", path, error)),
        };
        if !metadata.file_type().is_socket() {
            return Err(IpcError::NotASocket {
                path: path.to_owned(),
            });
        }
        match UnixStream::connect(path).await {
            Ok(stream) => {
                // Someone is serving without our lock (an older Patchbay):
                // theirs to keep.
                let pid = stream
                    .peer_cred()
                    .ok()
                    .and_then(|credentials| credentials.pid());
                Err(IpcError::AlreadyRunning {
                    endpoint: path.display().to_string(),
                    pid: pid.and_then(|pid| u32::try_from(pid).ok()),
                })
            }
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "removing a stale IPC socket left by a previous run");
                fs::remove_file(path)
                    .map_err(|error| IpcError::io("remove the stale socket", path, error))
            }
            Err(error) => Err(IpcError::io("probe the existing socket", path, error)),
        }
    }
}

#[cfg(windows)]
mod windows {
    use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
    use tokio::sync::Mutex;

    use super::*;

    /// The named pipe. The next instance is created right after each
    /// connection, so clients never find it missing.
    #[derive(Debug)]
    pub(crate) struct Listener {
        next: Mutex<NamedPipeServer>,
        path: PathBuf,
    }

    impl Listener {
        pub(crate) async fn bind(path: &Path) -> Result<Self> {
            let first = ServerOptions::new()
                .first_pipe_instance(true)
                .reject_remote_clients(true)
                .create(path.as_os_str())
                .map_err(|error| match error.kind() {
                    io::ErrorKind::PermissionDenied => IpcError::AlreadyRunning {
                        endpoint: path.display().to_string(),
                        pid: None,
                    },
                    _ => IpcError::io("create the named pipe", path, error),
                })?;
            Ok(Self {
                next: Mutex::new(first),
                path: path.to_owned(),
            })
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        pub(crate) async fn accept(&self) -> io::Result<Box<dyn Stream>> {
            let mut next = self.next.lock().await;
            next.connect().await?;
            let fresh = ServerOptions::new()
                .reject_remote_clients(true)
                .create(self.path.as_os_str())?;
            let connected = std::mem::replace(&mut *next, fresh);
            Ok(Box::new(connected))
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::unix::lock_path;
    use super::*;

    #[test]
    fn lock_file_sits_beside_the_socket() {
        assert_eq!(
            lock_path(Path::new("/run/user/1/patchbay/ipc.sock")),
            PathBuf::from("/run/user/1/patchbay/ipc.sock.lock")
        );
    }
}
