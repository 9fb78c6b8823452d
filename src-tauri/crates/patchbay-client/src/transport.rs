//! Opening the local channel: a Unix domain socket on Unix, a named pipe on
//! Windows. Everything above this module sees a byte stream only.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::ClientError;

/// A connected byte stream to the server.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The default endpoint: [`patchbay_protocol::paths::socket_path`] on Unix,
/// [`patchbay_protocol::paths::pipe_name`] on Windows.
pub fn default_endpoint() -> Result<PathBuf, ClientError> {
    #[cfg(windows)]
    {
        Ok(PathBuf::from(patchbay_protocol::paths::pipe_name()))
    }
    #[cfg(not(windows))]
    {
        patchbay_protocol::paths::socket_path()
            .ok_or(ClientError::NoEndpoint { what: "IPC socket" })
    }
}

/// Whether a connect error means "no server there" rather than a real fault.
fn means_not_running(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

#[cfg(unix)]
pub(crate) async fn connect(endpoint: &Path) -> Result<Box<dyn Stream>, ClientError> {
    match tokio::net::UnixStream::connect(endpoint).await {
        Ok(stream) => Ok(Box::new(stream)),
        Err(error) if means_not_running(&error) => Err(ClientError::NotRunning {
            endpoint: endpoint.display().to_string(),
            source: error,
        }),
        Err(error) => Err(ClientError::io(
            format!("connect to {}", endpoint.display()),
            error,
        )),
    }
}

#[cfg(windows)]
pub(crate) async fn connect(endpoint: &Path) -> Result<Box<dyn Stream>, ClientError> {
    use std::time::Duration;
    use tokio::net::windows::named_pipe::ClientOptions;

    // ERROR_PIPE_BUSY: every server instance is taken for a moment; the
    // server creates the next one right after accepting, so retry briefly.
    // ERROR_FILE_NOT_FOUND (no such pipe) is `NotFound`: not running.
    // tokio opens with SECURITY_IDENTIFICATION, so whoever serves the pipe
    // can identify this process but never impersonate it.
    const ERROR_PIPE_BUSY: i32 = 231;
    let mut attempts = 0;
    loop {
        match ClientOptions::new().open(endpoint.as_os_str()) {
            Ok(pipe) => return Ok(Box::new(pipe)),
            Err(error) if error.raw_os_error() == Some(ERROR_PIPE_BUSY) && attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) if means_not_running(&error) => {
                return Err(ClientError::NotRunning {
                    endpoint: endpoint.display().to_string(),
                    source: error,
                })
            }
            Err(error) => {
                return Err(ClientError::io(
                    format!("open {}", endpoint.display()),
                    error,
                ))
            }
        }
    }
}
