//! The local gateway beside the socket (`patchbay-gateway`): started with
//! the server, switched on or off while it runs (the window's switch), its
//! base URL in `patchbay.hello` and in `gateway.json` in the runtime
//! directory while it runs. A gateway that cannot start (its port is taken)
//! leaves the IPC server running and says why.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use patchbay_gateway::{Gateway, GatewayHandle, GatewayOptions};
use patchbay_protocol::rpc::GatewayInfo;
use patchbay_service::{HostRegistry, Service};
use serde::Serialize;

/// `{state: "on"|"off"|"failed", base_url?, message?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayStatus {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Default)]
struct Current {
    handle: Option<GatewayHandle>,
    error: Option<String>,
}

/// The server's gateway, shared by the server (for `patchbay.hello`) and
/// its handle (to switch it).
#[derive(Debug)]
pub(crate) struct GatewaySlot {
    service: Arc<Service>,
    registry: HostRegistry,
    /// `gateway.json` beside the socket.
    file: PathBuf,
    current: Mutex<Current>,
    /// One switch at a time.
    switching: tokio::sync::Mutex<()>,
}

impl GatewaySlot {
    pub(crate) fn new(service: Arc<Service>, registry: HostRegistry, file: PathBuf) -> Self {
        Self {
            service,
            registry,
            file,
            current: Mutex::default(),
            switching: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What `patchbay.hello` reports.
    pub(crate) fn info(&self) -> Option<GatewayInfo> {
        self.current().handle.as_ref().map(|handle| GatewayInfo {
            base_url: handle.base_url(),
        })
    }

    pub(crate) fn status(&self) -> GatewayStatus {
        let current = self.current();
        match (&current.handle, &current.error) {
            (Some(handle), _) => GatewayStatus {
                state: "on",
                base_url: Some(handle.base_url()),
                message: None,
            },
            (None, Some(error)) => GatewayStatus {
                state: "failed",
                base_url: None,
                message: Some(error.clone()),
            },
            (None, None) => GatewayStatus {
                state: "off",
                base_url: None,
                message: None,
            },
        }
    }

    /// Stops the running gateway (if any), then starts one with `options`
    /// (`None`: off). Publishes or removes `gateway.json`.
    pub(crate) async fn switch(&self, options: Option<GatewayOptions>) -> GatewayStatus {
        let _one_at_a_time = self.switching.lock().await;
        let previous = self.current().handle.take();
        if let Some(previous) = previous {
            previous.shutdown().await;
        }
        let (handle, error) = match options {
            None => (None, None),
            Some(options) => {
                match Gateway::start(options, Arc::clone(&self.service), self.registry.clone())
                    .await
                {
                    Ok(handle) => (Some(handle), None),
                    Err(error) => {
                        tracing::warn!(%error, "the gateway did not start; serving host apps over IPC only");
                        (None, Some(error.to_string()))
                    }
                }
            }
        };
        match &handle {
            Some(handle) => self.publish(&GatewayInfo {
                base_url: handle.base_url(),
            }),
            None => self.unpublish(),
        }
        *self.current() = Current { handle, error };
        self.status()
    }

    fn publish(&self, info: &GatewayInfo) {
        let written = serde_json::to_vec(info)
            .map_err(std::io::Error::other)
            .and_then(|body| patchbay_core::config::write_atomic(&self.file, &body));
        if let Err(error) = written {
            tracing::warn!(path = %self.file.display(), %error, "could not publish the gateway's address");
        }
    }

    pub(crate) fn unpublish(&self) {
        if let Err(error) = std::fs::remove_file(&self.file) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::debug!(path = %self.file.display(), %error, "could not remove the gateway file");
            }
        }
    }

    /// Stops the gateway at once, without waiting (the server is dropped):
    /// dropping its handle stops its accept loop.
    pub(crate) fn halt(&self) {
        let previous = self.current().handle.take();
        drop(previous);
        self.unpublish();
    }

    /// Stops the gateway for good (the server is shutting down): its port
    /// is free and `gateway.json` gone when this returns; the returned
    /// handle still has the requests in flight (drain it).
    pub(crate) async fn stop_accepting(&self) -> Option<patchbay_gateway::GatewayHandle> {
        let previous = self.current().handle.take();
        self.unpublish();
        match previous {
            Some(mut previous) => {
                previous.stop_accepting().await;
                Some(previous)
            }
            None => None,
        }
    }
}
