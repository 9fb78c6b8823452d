//! Host apps in the window: runs `patchbay-ipc`'s [`HostSupervisor`] (serve
//! host apps, or follow the Patchbay that already serves them) when the app
//! starts, turns its observer calls into the `pairing-requested` and
//! `hosts-changed` events the page listens to, and is the IPC surface of
//! the "Connected apps" section (pending requests, approve, deny, paired
//! apps, revoke, the resolve log), each command one call to the supervisor.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use std::path::PathBuf;
use std::sync::Arc;

use patchbay_ipc::{HostSupervisor, HostsObserver, HostsStatus};
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};
use tauri::{AppHandle, Emitter, Manager, Runtime, State, UserAttentionType};

use crate::error::AppError;
use crate::state::Providers;

/// Sent with the [`PendingPairing`] when a host asks to pair: the window
/// shows "Allow <app_name> to use your AI endpoints?".
pub const PAIRING_REQUESTED: &str = "pairing-requested";
/// Sent when a request was decided or expired, an app was paired or
/// revoked, or the server's status changed: the section reloads.
pub const HOSTS_CHANGED: &str = "hosts-changed";

/// Overrides the socket path (tests); without it the platform default
/// (`PATCHBAY_RUNTIME_DIR` or `$XDG_RUNTIME_DIR/patchbay/ipc.sock`) is used.
#[derive(Debug, Clone)]
pub struct IpcEndpoint(pub PathBuf);

/// The app's supervisor, shared with the task that runs it.
pub(crate) struct Hosts(pub(crate) Arc<HostSupervisor>);

/// The window's side of the supervisor: events for the page, and the
/// taskbar's attention for a request (it comes from another app).
struct Window<R: Runtime>(AppHandle<R>);

impl<R: Runtime> HostsObserver for Window<R> {
    fn pairing_requested(&self, request: &PendingPairing) {
        if let Err(error) = self.0.emit(PAIRING_REQUESTED, request) {
            tracing::warn!(%error, "could not show the pairing request");
        }
        if let Some(window) = self.0.get_webview_window("settings") {
            if let Err(error) =
                window.request_user_attention(Some(UserAttentionType::Informational))
            {
                tracing::debug!(%error, "could not ask for attention");
            }
        }
    }

    fn changed(&self, what: &str) {
        if let Err(error) = self.0.emit(HOSTS_CHANGED, what) {
            tracing::warn!(%error, "could not tell the window that connected apps changed");
        }
    }
}

/// Starts serving host apps on the async runtime; `setup` does not wait.
/// The outcome (serving, someone else serves, unavailable) reaches the
/// window as [`HOSTS_CHANGED`] and through `hosts_status`.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>) {
    let providers = app.state::<Providers>();
    let supervisor = Arc::new(HostSupervisor::new(&providers.paths().dir));
    let service = providers.service();
    app.manage(Hosts(Arc::clone(&supervisor)));
    let observer: Arc<dyn HostsObserver> = Arc::new(Window(app.handle().clone()));
    let endpoint = match app.try_state::<IpcEndpoint>() {
        Some(endpoint) => Ok(endpoint.0.clone()),
        None => patchbay_ipc::default_endpoint(),
    };
    tauri::async_runtime::spawn(async move {
        match endpoint {
            Ok(endpoint) => supervisor.run(service, endpoint, observer).await,
            Err(error) => supervisor.unavailable(error.to_string(), observer.as_ref()),
        }
    });
}

#[tauri::command]
pub(crate) fn hosts_status(hosts: State<'_, Hosts>) -> HostsStatus {
    hosts.0.status()
}

#[tauri::command]
pub(crate) async fn list_paired_hosts(
    hosts: State<'_, Hosts>,
) -> Result<Vec<PairedHost>, AppError> {
    Ok(hosts.0.paired().await?)
}

/// Requests waiting for the person, oldest first.
#[tauri::command]
pub(crate) async fn pending_pairings(
    hosts: State<'_, Hosts>,
) -> Result<Vec<PendingPairing>, AppError> {
    Ok(hosts.0.pending().await?)
}

/// Allows a pending request: the waiting host receives its token (never the window).
#[tauri::command]
pub(crate) async fn approve_pairing(
    hosts: State<'_, Hosts>,
    request_id: String,
) -> Result<PairedHost, AppError> {
    Ok(hosts.0.approve(request_id).await?)
}

#[tauri::command]
pub(crate) async fn deny_pairing(
    hosts: State<'_, Hosts>,
    request_id: String,
) -> Result<PendingPairing, AppError> {
    Ok(hosts.0.deny(request_id).await?)
}

/// Forgets a paired app; its token is refused from the next resolve on.
/// `false` when it was not paired.
#[tauri::command]
pub(crate) async fn revoke_host(hosts: State<'_, Hosts>, app_id: String) -> Result<bool, AppError> {
    Ok(hosts.0.revoke(app_id).await?)
}

/// Which app resolved which entry, when; newest first for the window.
#[tauri::command]
pub(crate) async fn resolve_log(hosts: State<'_, Hosts>) -> Result<Vec<ResolveRecord>, AppError> {
    Ok(hosts.0.resolve_log().await?)
}
