//! Host apps in the window: starts `patchbay-ipc`'s server when the app
//! starts, turns a host's `host.pair` call into a `pairing-requested` event
//! for the prompt, and is the IPC surface of the "Connected apps" section
//! (pending requests, approve, deny, paired apps, revoke, the resolve log).
//!
//! When another Patchbay process already serves the socket (`patchbay
//! serve`, a second window), the app does not fail: it says so, subscribes
//! to that server's pairing events (`hosts.subscribe`) and turns them into
//! the same `pairing-requested` / `hosts-changed` events, so the prompt
//! appears as in its own server; it decides that server's pending requests
//! over its admin methods, and reads and revokes paired apps in
//! `hosts.json`, which every server re-reads on each resolve. When that
//! process stops (the subscription ends), the app takes the socket over and
//! serves host apps itself.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use patchbay_ipc::admin::PairingNotice;
use patchbay_ipc::pairing::{PairingEvent, Pairings};
use patchbay_ipc::{HostRegistry, IpcError, Server, ServerHandle, ServerOptions};
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};
use patchbay_service::Service;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State, UserAttentionType};
use tokio::sync::broadcast::error::RecvError;

use crate::background::blocking;
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

/// What the app's IPC server is doing. The lock is held only to read or
/// replace the state, never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct HostServer(Mutex<Serving>);

#[derive(Debug, Default)]
enum Serving {
    #[default]
    Starting,
    /// Kept for the app's lifetime: dropping the handle stops the server.
    Running(ServerHandle),
    /// Another Patchbay process holds the socket.
    Elsewhere {
        endpoint: PathBuf,
        message: String,
    },
    Unavailable {
        message: String,
    },
}

/// Where pairing decisions go: this app's server or the one that holds the socket.
enum Decider {
    Here(Pairings),
    Elsewhere(PathBuf),
    Nobody,
}

/// `hosts_status`: `{state: "starting"|"running"|"elsewhere"|"unavailable", endpoint?, message?}`.
#[derive(Debug, Serialize)]
pub(crate) struct HostsStatus {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl HostServer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Serving> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn status(&self) -> HostsStatus {
        match &*self.lock() {
            Serving::Starting => HostsStatus {
                state: "starting",
                endpoint: None,
                message: None,
            },
            Serving::Running(handle) => HostsStatus {
                state: "running",
                endpoint: Some(handle.endpoint().display().to_string()),
                message: None,
            },
            Serving::Elsewhere { endpoint, message } => HostsStatus {
                state: "elsewhere",
                endpoint: Some(endpoint.display().to_string()),
                message: Some(message.clone()),
            },
            Serving::Unavailable { message } => HostsStatus {
                state: "unavailable",
                endpoint: None,
                message: Some(message.clone()),
            },
        }
    }

    fn decider(&self) -> Decider {
        match &*self.lock() {
            Serving::Running(handle) => Decider::Here(handle.pairings().clone()),
            Serving::Elsewhere { endpoint, .. } => Decider::Elsewhere(endpoint.clone()),
            Serving::Starting | Serving::Unavailable { .. } => Decider::Nobody,
        }
    }

    fn set(&self, serving: Serving) {
        *self.lock() = serving;
    }
}

/// A subscription to another server that ends sooner than this counts as
/// a quick end; after [`MAX_QUICK_HANDOVERS`] in a row the app stops trying
/// to take over (it stays "elsewhere", and the section still works on open).
const QUICK_END: Duration = Duration::from_secs(2);
const MAX_QUICK_HANDOVERS: u32 = 10;

/// Starts the IPC server on the async runtime; `setup` does not wait for it.
/// The outcome (serving, someone else serves, unavailable) reaches the
/// window as [`HOSTS_CHANGED`] and through `hosts_status`.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>) {
    let handle = app.handle().clone();
    let service = app.state::<Providers>().service();
    let endpoint = match app.try_state::<IpcEndpoint>() {
        Some(endpoint) => Ok(endpoint.0.clone()),
        None => patchbay_ipc::default_endpoint(),
    };
    tauri::async_runtime::spawn(async move {
        match endpoint {
            Ok(endpoint) => serve_or_follow(handle, service, endpoint).await,
            Err(error) => {
                handle.state::<HostServer>().set(Serving::Unavailable {
                    message: error.to_string(),
                });
                changed(&handle, "status");
            }
        }
    });
}

/// Serves the socket; while another process serves it, relays that
/// server's pairing events, and when it stops, takes the socket over.
async fn serve_or_follow<R: Runtime>(
    handle: AppHandle<R>,
    service: Arc<Service>,
    endpoint: PathBuf,
) {
    let mut quick_ends = 0;
    loop {
        let mut options = ServerOptions::at(endpoint.clone(), Arc::clone(&service));
        let requested = handle.clone();
        options.on_pairing_request = Some(Arc::new(move |request: &PendingPairing| {
            announce_request(&requested, request);
        }));
        let error = match Server::start(options).await {
            Ok(server) => {
                forward_events(handle.clone(), server.pairings().subscribe());
                handle.state::<HostServer>().set(Serving::Running(server));
                changed(&handle, "status");
                return;
            }
            Err(error @ IpcError::AlreadyRunning { .. }) => error,
            Err(error) => {
                tracing::warn!(%error, "could not start the IPC server");
                handle.state::<HostServer>().set(Serving::Unavailable {
                    message: error.to_string(),
                });
                changed(&handle, "status");
                return;
            }
        };
        tracing::info!(%error, "another Patchbay serves host apps");
        handle.state::<HostServer>().set(Serving::Elsewhere {
            endpoint: endpoint.clone(),
            message: error.to_string(),
        });
        changed(&handle, "status");
        let followed_since = Instant::now();
        if !follow(&handle, &endpoint).await {
            return;
        }
        if followed_since.elapsed() >= QUICK_END {
            quick_ends = 0;
            continue;
        }
        // It keeps vanishing as soon as we follow it (it is stopping, or it
        // drops us): back off, and give up after a few rounds.
        quick_ends += 1;
        if quick_ends > MAX_QUICK_HANDOVERS {
            tracing::warn!(
                "the other Patchbay keeps closing the pairing feed; not following it any more"
            );
            return;
        }
        tokio::time::sleep((Duration::from_millis(200) * quick_ends).min(Duration::from_secs(1)))
            .await;
    }
}

/// Relays the pairing feed of the server at `endpoint` until it ends.
/// `true` when that server went away (take the socket over), `false` when
/// it cannot be followed (a server older than `hosts.subscribe`): then the
/// section still shows its requests when opened, and nothing more is tried.
async fn follow<R: Runtime>(handle: &AppHandle<R>, endpoint: &std::path::Path) -> bool {
    let mut feed = match patchbay_ipc::admin::subscribe(Some(endpoint)).await {
        Ok(feed) => feed,
        Err(error) if patchbay_ipc::admin::server_gone(&error) => return true,
        Err(error) => {
            tracing::warn!(%error, "cannot follow the other Patchbay's pairing requests");
            return false;
        }
    };
    if !feed.pending().is_empty() {
        // The page prompts for waiting requests whenever it re-reads them.
        changed(handle, "pending");
    }
    while let Some(notice) = feed.next().await {
        match notice {
            PairingNotice::Requested(request) => announce_request(handle, &request),
            PairingNotice::Changed(change) => changed(handle, &change.reason),
            _ => changed(handle, "other"),
        }
    }
    tracing::info!("the Patchbay process that served host apps stopped; taking over");
    true
}

/// Shows the prompt: the event for the page, and the taskbar's attention
/// for the person, since the request comes from another app.
fn announce_request<R: Runtime>(handle: &AppHandle<R>, request: &PendingPairing) {
    if let Err(error) = handle.emit(PAIRING_REQUESTED, request) {
        tracing::warn!(%error, "could not show the pairing request");
    }
    if let Some(window) = handle.get_webview_window("settings") {
        if let Err(error) = window.request_user_attention(Some(UserAttentionType::Informational)) {
            tracing::debug!(%error, "could not ask for attention");
        }
    }
}

/// Relays decisions, expiries and revocations so an open prompt closes and
/// the list reloads, whoever decided (this window or `patchbay hosts`).
fn forward_events<R: Runtime>(
    handle: AppHandle<R>,
    mut events: tokio::sync::broadcast::Receiver<PairingEvent>,
) {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(PairingEvent::Requested(_)) => {}
                Ok(PairingEvent::Approved { .. }) => changed(&handle, "approved"),
                Ok(PairingEvent::Denied { .. }) => changed(&handle, "denied"),
                Ok(PairingEvent::Expired { .. }) => changed(&handle, "expired"),
                Ok(PairingEvent::Revoked { .. }) => changed(&handle, "revoked"),
                Ok(_) => changed(&handle, "other"),
                // Missed events only mean the page should re-read everything.
                Err(RecvError::Lagged(_)) => changed(&handle, "lagged"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}

fn changed<R: Runtime>(handle: &AppHandle<R>, what: &str) {
    if let Err(error) = handle.emit(HOSTS_CHANGED, what) {
        tracing::warn!(%error, "could not tell the window that connected apps changed");
    }
}

/// `hosts.json` beside `providers.json`, where paired apps and the resolve
/// log live for every Patchbay process.
fn registry(providers: &Providers) -> HostRegistry {
    HostRegistry::in_dir(&providers.paths().dir)
}

#[tauri::command]
pub(crate) fn hosts_status(server: State<'_, HostServer>) -> HostsStatus {
    server.status()
}

#[tauri::command]
pub(crate) async fn list_paired_hosts(
    providers: State<'_, Providers>,
) -> Result<Vec<PairedHost>, AppError> {
    let registry = registry(&providers);
    blocking(move || registry.list()).await
}

/// Requests waiting for the person, oldest first.
#[tauri::command]
pub(crate) async fn pending_pairings(
    server: State<'_, HostServer>,
) -> Result<Vec<PendingPairing>, AppError> {
    match server.decider() {
        Decider::Here(pairings) => Ok(pairings.pending()),
        Decider::Elsewhere(endpoint) => Ok(patchbay_ipc::admin::pending(Some(&endpoint)).await?),
        Decider::Nobody => Ok(Vec::new()),
    }
}

/// Allows a pending request: the waiting host receives its token (never the window).
#[tauri::command]
pub(crate) async fn approve_pairing(
    server: State<'_, HostServer>,
    request_id: String,
) -> Result<PairedHost, AppError> {
    match server.decider() {
        Decider::Here(pairings) => blocking(move || pairings.approve(&request_id)).await,
        Decider::Elsewhere(endpoint) => {
            Ok(patchbay_ipc::admin::approve(Some(&endpoint), &request_id).await?)
        }
        Decider::Nobody => Err(IpcError::NotPending { request_id }.into()),
    }
}

#[tauri::command]
pub(crate) async fn deny_pairing(
    server: State<'_, HostServer>,
    request_id: String,
) -> Result<PendingPairing, AppError> {
    match server.decider() {
        Decider::Here(pairings) => Ok(pairings.deny(&request_id)?),
        Decider::Elsewhere(endpoint) => {
            Ok(patchbay_ipc::admin::deny(Some(&endpoint), &request_id).await?)
        }
        Decider::Nobody => Err(IpcError::NotPending { request_id }.into()),
    }
}

/// Forgets a paired app; its token is refused from the next resolve on.
/// `false` when it was not paired.
#[tauri::command]
pub(crate) async fn revoke_host(
    providers: State<'_, Providers>,
    server: State<'_, HostServer>,
    app_id: String,
) -> Result<bool, AppError> {
    match server.decider() {
        // Through the server, so its own event stream reports the revocation.
        Decider::Here(pairings) => blocking(move || pairings.revoke(&app_id)).await,
        Decider::Elsewhere(_) | Decider::Nobody => {
            let registry = registry(&providers);
            blocking(move || registry.revoke(&app_id)).await
        }
    }
}

/// Which app resolved which entry, when; newest first for the window.
#[tauri::command]
pub(crate) async fn resolve_log(
    providers: State<'_, Providers>,
) -> Result<Vec<ResolveRecord>, AppError> {
    let registry = registry(&providers);
    let mut log = blocking(move || registry.resolve_log()).await?;
    log.reverse();
    Ok(log)
}
