//! Opening the local channel: a Unix domain socket on Unix, a named pipe on
//! Windows. Everything above this module sees a byte stream only.
//!
//! On Windows the endpoint is either a pipe name (`\\.\pipe\…`, opened as
//! is) or the file in which the running server published its randomly
//! named pipe (`<runtime dir>\ipc.pipe`, the default): read the name, then
//! open that pipe.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::ClientError;

/// A connected byte stream to the server.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The default endpoint ([`patchbay_protocol::paths::ipc_endpoint`]): the
/// socket on Unix; on Windows the file naming the server's pipe, or the
/// pipe `PATCHBAY_PIPE_NAME` names.
pub fn default_endpoint() -> Result<PathBuf, ClientError> {
    patchbay_protocol::paths::ipc_endpoint().ok_or(ClientError::NoEndpoint {
        what: if cfg!(windows) {
            "IPC pipe-name file"
        } else {
            "IPC socket"
        },
    })
}

/// A byte stream to one of Patchbay's local endpoints, opened with the same
/// checks as the IPC connection (this user's directory, this user's
/// listener): what the app's single-instance channel uses.
pub async fn connect_stream(
    endpoint: &Path,
) -> Result<impl AsyncRead + AsyncWrite + Send + Unpin + 'static, ClientError> {
    connect(endpoint).await
}

/// Whether a connect error means "no server there" rather than a real fault.
fn means_not_running(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

/// Connects to the socket at `endpoint` after checking, before a byte is
/// sent, that only this user could have put it there: its directory is a
/// real directory owned by this user that no one else can use (mode 0700,
/// as the server makes it), the socket is a socket owned by this user, and
/// the process listening runs as this user (its peer credentials).
#[cfg(unix)]
pub(crate) async fn connect(endpoint: &Path) -> Result<Box<dyn Stream>, ClientError> {
    let own_uid = patchbay_protocol::paths::current_uid();
    trust_socket(endpoint, own_uid)?;
    let stream = tokio::net::UnixStream::connect(endpoint)
        .await
        .map_err(|error| unreachable(endpoint, "connect to", error))?;
    let untrusted = |reason: String| untrusted(endpoint, reason);
    match (stream.peer_cred(), own_uid) {
        (Ok(peer), Some(uid)) if peer.uid() == uid => Ok(Box::new(stream)),
        (Ok(peer), _) => Err(untrusted(format!(
            "the server listening there runs as uid {}, not as you",
            peer.uid()
        ))),
        (Err(error), _) => Err(untrusted(format!(
            "the server's user could not be checked ({error})"
        ))),
    }
}

/// "Not running" when nothing is there (or nothing answers), else the I/O error.
#[cfg(unix)]
fn unreachable(endpoint: &Path, action: &str, error: io::Error) -> ClientError {
    if means_not_running(&error) {
        ClientError::NotRunning {
            endpoint: endpoint.display().to_string(),
            source: error,
        }
    } else {
        ClientError::io(format!("{action} {}", endpoint.display()), error)
    }
}

#[cfg(unix)]
fn untrusted(endpoint: &Path, reason: String) -> ClientError {
    ClientError::UntrustedEndpoint {
        path: endpoint.display().to_string(),
        reason,
    }
}

/// The checks on the socket and its directory (see [`connect`]). A socket
/// that is not there is "not running", as before.
#[cfg(unix)]
fn trust_socket(endpoint: &Path, own_uid: Option<u32>) -> Result<(), ClientError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    let untrusted = |reason: String| untrusted(endpoint, reason);
    let socket = std::fs::symlink_metadata(endpoint)
        .map_err(|error| unreachable(endpoint, "inspect", error))?;
    let Some(uid) = own_uid else {
        return Err(untrusted(
            "this process's user could not be determined".to_owned(),
        ));
    };
    let directory = endpoint
        .parent()
        .filter(|directory| !directory.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = std::fs::symlink_metadata(directory)
        .map_err(|error| ClientError::io(format!("inspect {}", directory.display()), error))?;
    if !folder.file_type().is_dir() {
        return Err(untrusted(format!(
            "{} is not a real directory (a symlink?)",
            directory.display()
        )));
    }
    if folder.uid() != uid {
        return Err(untrusted(format!(
            "its directory {} belongs to uid {}, not to you (uid {uid})",
            directory.display(),
            folder.uid()
        )));
    }
    if folder.mode() & 0o077 != 0 {
        return Err(untrusted(format!(
            "other users can use its directory {} (mode {:o}; Patchbay makes it 0700)",
            directory.display(),
            folder.mode() & 0o777
        )));
    }
    if !socket.file_type().is_socket() {
        return Err(untrusted("it is not a socket".to_owned()));
    }
    if socket.uid() != uid {
        return Err(untrusted(format!(
            "the socket belongs to uid {}, not to you (uid {uid})",
            socket.uid()
        )));
    }
    Ok(())
}

/// A published pipe name is one short line; anything longer is not one.
#[cfg(windows)]
const MAX_PIPE_FILE_BYTES: u64 = 1024;

#[cfg(windows)]
pub(crate) async fn connect(endpoint: &Path) -> Result<Box<dyn Stream>, ClientError> {
    use patchbay_protocol::paths::{is_local_pipe_name, names_a_pipe};

    if names_a_pipe(endpoint) {
        let is_local = endpoint.to_str().is_some_and(is_local_pipe_name);
        if !is_local {
            return Err(ClientError::io(
                format!("open {}", endpoint.display()),
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    r"only pipes on this machine (\\.\pipe\…) can be Patchbay's",
                ),
            ));
        }
        return open_pipe(endpoint, || endpoint.display().to_string()).await;
    }
    let name = read_pipe_file(endpoint)?;
    open_pipe(Path::new(&name), || {
        format!("{name}, named in {}", endpoint.display())
    })
    .await
}

/// The pipe name in a published-name file. No file: nobody has served
/// since the runtime directory was last cleaned (a server removes its file
/// when it stops). A small local file, so it is read in place.
#[cfg(windows)]
fn read_pipe_file(file: &Path) -> Result<String, ClientError> {
    use std::io::Read;

    let invalid = |detail: &str| {
        ClientError::io(
            format!("read Patchbay's pipe name from {}", file.display()),
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    r"{detail}; it should hold one name like \\.\pipe\patchbay-<user>-<hex>. Delete the file and start Patchbay again (the server rewrites it)."
                ),
            ),
        )
    };
    let mut contents = Vec::new();
    let read = std::fs::File::open(file).and_then(|opened| {
        opened
            .take(MAX_PIPE_FILE_BYTES + 1)
            .read_to_end(&mut contents)
    });
    match read {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ClientError::NotRunning {
                endpoint: file.display().to_string(),
                source: error,
            })
        }
        Err(error) => {
            return Err(ClientError::io(
                format!("read Patchbay's pipe name from {}", file.display()),
                error,
            ))
        }
    }
    if contents.len() as u64 > MAX_PIPE_FILE_BYTES {
        return Err(invalid("the file is too large"));
    }
    let text = String::from_utf8(contents).map_err(|_| invalid("the file is not UTF-8 text"))?;
    let name = text.trim();
    let leaf = name
        .get(patchbay_protocol::paths::PIPE_PREFIX.len()..)
        .filter(|_| patchbay_protocol::paths::is_local_pipe_name(name));
    match leaf {
        Some(leaf) if !leaf.is_empty() && !leaf.contains(['\\', '\0']) => Ok(name.to_owned()),
        _ => Err(invalid(r"the file does not hold a \\.\pipe\ name")),
    }
}

/// Opens a pipe by name; `describe` says which endpoint, for errors.
#[cfg(windows)]
async fn open_pipe(
    name: &Path,
    describe: impl Fn() -> String,
) -> Result<Box<dyn Stream>, ClientError> {
    use std::time::Duration;
    use tokio::net::windows::named_pipe::ClientOptions;

    // ERROR_PIPE_BUSY: every server instance is taken for a moment; the
    // server creates the next one right after accepting, so retry briefly.
    // ERROR_FILE_NOT_FOUND (no such pipe) is `NotFound`: not running (or a
    // published name left by a server that crashed).
    // tokio opens with SECURITY_IDENTIFICATION, so whoever serves the pipe
    // can identify this process but never impersonate it.
    const ERROR_PIPE_BUSY: i32 = 231;
    let mut attempts = 0;
    loop {
        match ClientOptions::new().open(name.as_os_str()) {
            Ok(pipe) => return Ok(Box::new(pipe)),
            Err(error) if error.raw_os_error() == Some(ERROR_PIPE_BUSY) && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) if means_not_running(&error) => {
                return Err(ClientError::NotRunning {
                    endpoint: describe(),
                    source: error,
                })
            }
            Err(error) => return Err(ClientError::io(format!("open {}", describe()), error)),
        }
    }
}
