//! One Patchbay app per user: the app claims a second local endpoint beside
//! the IPC socket (`app.sock`; `app.pipe` on Windows), with the same lock,
//! same-user checks and stale-file handling as the IPC server. A second
//! launch finds it taken, sends the first one what it was asked to do
//! (show the window, or quit) and exits. `patchbay serve` never claims it,
//! so a running `patchbay serve` is followed by the app as before, not
//! fought; and the end-to-end tests' private runtime directories keep their
//! apps apart.
//!
//! The channel speaks one JSON line each way: `{"activate":"show"}` →
//! `{"ok":true}`. It is not part of the documented host protocol.
//!
//! The endpoint is held by whichever process is "Patchbay" for the person
//! now: the app while its window is open, the background server
//! (`patchbay serve --resident`) while it is closed. They hand it over with
//! [`claim_when_free`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::endpoint::Listener;
use crate::error::{IpcError, Result};

/// The instance endpoint's file name, beside the IPC endpoint.
pub const INSTANCE_FILE_NAME: &str = if cfg!(windows) {
    "app.pipe"
} else {
    "app.sock"
};

/// How long a second launch waits for the first one's answer (it may still
/// be starting its window).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request is one short line; anything longer is not ours.
const MAX_REQUEST_BYTES: u64 = 256;

/// What a second launch asks the running app to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Show (or re-create) the settings window and focus it.
    Show,
    /// Stop serving and exit (`patchbay-app --quit`).
    Quit,
    /// Nothing to show: a login start while the app already runs.
    Background,
}

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    activate: Activation,
}

/// The instance endpoint beside `ipc_endpoint`.
pub fn instance_endpoint(ipc_endpoint: &Path) -> PathBuf {
    ipc_endpoint
        .parent()
        .map(|dir| dir.join(INSTANCE_FILE_NAME))
        .unwrap_or_else(|| PathBuf::from(INSTANCE_FILE_NAME))
}

/// The outcome of [`claim`].
#[derive(Debug)]
pub enum Claim {
    /// This process is the app: serve activations with [`Instance::serve`].
    First(Instance),
    /// Another app runs and has been told.
    Running,
}

/// The claimed endpoint. Dropping it (or the handle [`Instance::serve`]
/// returns) releases it.
#[derive(Debug)]
pub struct Instance {
    listener: Listener,
}

/// Claims the instance endpoint at `endpoint`, or tells the app holding it
/// to `activation`. Must run on the runtime that will serve it.
pub async fn claim(endpoint: &Path, activation: Activation) -> Result<Claim> {
    let mut last_error = None;
    // The holder may be stopping (its lock still held, nobody answering):
    // a few rounds, then the last error.
    for _ in 0..5 {
        match Listener::bind(endpoint).await {
            Ok(listener) => return Ok(Claim::First(Instance { listener })),
            Err(IpcError::AlreadyRunning { .. }) => match tell(endpoint, activation).await {
                Ok(()) => return Ok(Claim::Running),
                Err(error) => last_error = Some(error),
            },
            Err(error) => return Err(error),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last_error.unwrap_or_else(|| IpcError::Internal {
        detail: "the running Patchbay did not answer".to_owned(),
    }))
}

/// Claims the instance endpoint once the process holding it lets go (a
/// hand-over: the window handing serving to the background server, or
/// back), waiting up to `wait`. `None` when it is still held then.
pub async fn claim_when_free(endpoint: &Path, wait: Duration) -> Result<Option<Instance>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match Listener::bind(endpoint).await {
            Ok(listener) => return Ok(Some(Instance { listener })),
            Err(IpcError::AlreadyRunning { .. }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(IpcError::AlreadyRunning { .. }) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
}

/// Sends `activation` to the app at `endpoint` and waits for its answer.
pub async fn tell(endpoint: &Path, activation: Activation) -> Result<()> {
    let exchange = async {
        let stream = patchbay_client::connect_stream(endpoint)
            .await
            .map_err(|error| IpcError::Internal {
                detail: format!("could not reach the running Patchbay: {error}"),
            })?;
        exchange(stream, activation).await
    };
    tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| IpcError::Internal {
            detail: format!(
                "the running Patchbay did not answer within {} s",
                ANSWER_TIMEOUT.as_secs()
            ),
        })?
}

async fn exchange(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    activation: Activation,
) -> Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = serde_json::to_vec(&Request {
        activate: activation,
    })
    .map_err(|error| IpcError::Internal {
        detail: error.to_string(),
    })?;
    line.push(b'\n');
    let io = |error: std::io::Error| IpcError::Internal {
        detail: format!("talking to the running Patchbay: {error}"),
    };
    stream.get_mut().write_all(&line).await.map_err(io)?;
    stream.get_mut().flush().await.map_err(io)?;
    let mut answer = String::new();
    (&mut stream)
        .take(MAX_REQUEST_BYTES)
        .read_line(&mut answer)
        .await
        .map_err(io)?;
    if answer.trim() == r#"{"ok":true}"# {
        Ok(())
    } else {
        Err(IpcError::Internal {
            detail: "the running Patchbay did not accept the request".to_owned(),
        })
    }
}

/// Serves activations until the handle is dropped.
#[derive(Debug)]
pub struct InstanceHandle {
    task: tokio::task::JoinHandle<()>,
}

impl InstanceHandle {
    /// Stops serving activations and releases the endpoint: the socket file
    /// (and the lock) are gone when this returns. Dropping the handle stops
    /// it too, but the release then happens a moment later on the runtime,
    /// which a process about to exit may not give it.
    pub async fn close(mut self) {
        self.task.abort();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        if let Err(error) = task.await {
            if !error.is_cancelled() {
                tracing::debug!(%error, "the instance task ended abnormally");
            }
        }
    }
}

impl Drop for InstanceHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Instance {
    /// Calls `on_activation` for each request from a later launch (after
    /// answering it), on the current tokio runtime.
    pub fn serve(
        self,
        on_activation: impl Fn(Activation) + Send + Sync + 'static,
    ) -> InstanceHandle {
        let on_activation = Arc::new(on_activation);
        let task = tokio::spawn(async move {
            loop {
                let stream = match self.listener.accept().await {
                    Ok((stream, _pid)) => stream,
                    Err(error) => {
                        tracing::debug!(%error, "instance accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let on_activation = Arc::clone(&on_activation);
                tokio::spawn(async move {
                    match tokio::time::timeout(ANSWER_TIMEOUT, answer(stream)).await {
                        Ok(Ok(activation)) => on_activation(activation),
                        Ok(Err(error)) => tracing::debug!(%error, "ignored an instance request"),
                        Err(_) => tracing::debug!("an instance request never came"),
                    }
                });
            }
        });
        InstanceHandle { task }
    }

    pub fn path(&self) -> &Path {
        self.listener.path()
    }
}

async fn answer(stream: impl AsyncRead + AsyncWrite + Unpin) -> std::io::Result<Activation> {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    (&mut stream)
        .take(MAX_REQUEST_BYTES)
        .read_line(&mut line)
        .await?;
    let request: Request = serde_json::from_str(line.trim())
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
    stream.get_mut().write_all(b"{\"ok\":true}\n").await?;
    stream.get_mut().flush().await?;
    Ok(request.activate)
}
