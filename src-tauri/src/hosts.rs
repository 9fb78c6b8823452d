//! Host apps in the window: runs `patchbay-ipc`'s [`HostSupervisor`] (serve
//! host apps, or follow the Patchbay that already serves them) when the app
//! starts, turns its observer calls into the `pairing-requested` and
//! `hosts-changed` events the page listens to, and is the IPC surface of
//! the "Connected apps" section (pending requests, approve, deny, paired
//! apps, revoke, the resolve log), each command one call to the supervisor.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use patchbay_core::settings;
use patchbay_ipc::{GatewayOptions, HostSupervisor, HostsObserver, HostsStatus};
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};
use serde::Serialize;
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
        match self.0.get_webview_window("settings") {
            Some(window) => {
                if let Err(error) =
                    window.request_user_attention(Some(UserAttentionType::Informational))
                {
                    tracing::debug!(%error, "could not ask for attention");
                }
            }
            // In the background: a notification (choosing it opens the
            // window, which shows the request) and the tray's item.
            None => crate::tray::notify(
                &self.0,
                &format!("{} asks to use your AI endpoints", request.app_name),
                "Open Patchbay to allow or deny it.",
            ),
        }
        crate::tray::refresh(&self.0);
    }

    fn changed(&self, what: &str) {
        if let Err(error) = self.0.emit(HOSTS_CHANGED, what) {
            tracing::warn!(%error, "could not tell the window that connected apps changed");
        }
        crate::tray::refresh(&self.0);
    }
}

/// Starts serving host apps on the async runtime; `setup` does not wait.
/// The outcome (serving, someone else serves, unavailable) reaches the
/// window as [`HOSTS_CHANGED`] and through `hosts_status`.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>) {
    let providers = app.state::<Providers>();
    let gateway = gateway_options(&providers.paths().dir);
    let supervisor = Arc::new(HostSupervisor::new(&providers.paths().dir).with_gateway(gateway));
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

/// The gateway the settings ask for: `settings.json`, with
/// `PATCHBAY_GATEWAY_ADDR` over its address; `None` when switched off (or
/// when the settings cannot be used, which is logged).
fn gateway_options(config_dir: &Path) -> Option<GatewayOptions> {
    let settings = settings::load(config_dir).unwrap_or_else(|problem| {
        tracing::warn!(problem, "using the default settings");
        settings::Settings::default()
    });
    let from_env = std::env::var(patchbay_protocol::paths::GATEWAY_ADDR_ENV).ok();
    match settings::gateway_addr(&settings.gateway, from_env.as_deref()) {
        Ok(addr) => addr.map(|addr| {
            let mut options = GatewayOptions::at(addr);
            options.allowed_origins = settings.gateway.allowed_origins.clone();
            options
        }),
        Err(problem) => {
            tracing::warn!(problem, "the gateway stays off");
            None
        }
    }
}

/// The window's gateway switch: saved in `settings.json`, applied at once
/// when this window serves host apps.
#[tauri::command]
pub(crate) async fn set_gateway_enabled<R: Runtime>(
    app: AppHandle<R>,
    enabled: bool,
) -> Result<HostsStatus, AppError> {
    switch_gateway(&app, enabled).await
}

/// Saves the gateway switch in `settings.json` and applies it at once when
/// this process serves host apps (the window's switch and the tray's item).
pub(crate) async fn switch_gateway<R: Runtime>(
    app: &AppHandle<R>,
    enabled: bool,
) -> Result<HostsStatus, AppError> {
    let config_dir = app.state::<Providers>().paths().dir.clone();
    let saved = config_dir.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut current = settings::load(&saved).unwrap_or_default();
        current.gateway.enabled = enabled;
        settings::save(&saved, &current)
    })
    .await
    .map_err(|error| AppError::from(patchbay_core::Error::invalid("gateway", error.to_string())))?
    .map_err(|problem| AppError::from(patchbay_core::Error::invalid("gateway", problem)))?;
    let supervisor = Arc::clone(&app.state::<Hosts>().0);
    supervisor
        .switch_gateway(gateway_options(&config_dir))
        .await;
    if let Err(error) = app.emit(HOSTS_CHANGED, "gateway") {
        tracing::debug!(%error, "could not announce the gateway switch");
    }
    crate::tray::refresh(app);
    Ok(supervisor.status())
}

/// A token the person creates for an app ("Create a token for an app"):
/// shown once in the window, only its hash kept. Creating one again for the
/// same name replaces that app's token.
#[derive(Debug, Serialize)]
pub(crate) struct IssuedToken {
    app_id: String,
    app_name: String,
    token: String,
    base_url: Option<String>,
}

#[tauri::command]
pub(crate) async fn issue_host_token(
    hosts: State<'_, Hosts>,
    providers: State<'_, Providers>,
    app_name: String,
) -> Result<IssuedToken, AppError> {
    let registry = patchbay_service::HostRegistry::in_dir(&providers.paths().dir);
    let app_id = app_id_for(&app_name);
    let (host, token) =
        tauri::async_runtime::spawn_blocking(move || registry.issue(&app_id, &app_name))
            .await
            .map_err(|error| {
                AppError::from(patchbay_core::Error::invalid("app_name", error.to_string()))
            })?
            .map_err(|error| {
                AppError::from(patchbay_core::Error::invalid("app_name", error.to_string()))
            })?;
    let base_url = hosts
        .0
        .status()
        .gateway
        .and_then(|gateway| gateway.base_url);
    Ok(IssuedToken {
        app_id: host.app_id,
        app_name: host.app_name,
        token,
        base_url,
    })
}

/// `manual.<name in lowercase, letters and digits, `-` between words>`.
fn app_id_for(name: &str) -> String {
    let mut slug = String::new();
    for character in name.trim().chars().flat_map(char::to_lowercase) {
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug: String = slug.chars().take(100).collect();
    if slug.is_empty() {
        "manual.app".to_owned()
    } else {
        format!("manual.{slug}")
    }
}

/// The supervisor's status, and whether the process it follows is
/// Patchbay's own background server (this window was opened by it while a
/// pairing request waited) rather than a `patchbay serve` someone runs.
#[derive(Debug, Serialize)]
pub(crate) struct WindowHostsStatus {
    #[serde(flatten)]
    status: HostsStatus,
    background_server: bool,
}

#[tauri::command]
pub(crate) fn hosts_status<R: Runtime>(
    app: AppHandle<R>,
    hosts: State<'_, Hosts>,
) -> WindowHostsStatus {
    WindowHostsStatus {
        status: hosts.0.status(),
        background_server: crate::lifecycle::is_follower(&app),
    }
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

/// "May receive raw keys" for one app (protocol 1 resolves hand it the
/// provider's key): off by default, recorded with the time the person
/// decided. `false` when the app is not paired.
#[tauri::command]
pub(crate) async fn set_raw_keys(
    providers: State<'_, Providers>,
    app_id: String,
    allowed: bool,
) -> Result<bool, AppError> {
    let registry = patchbay_service::HostRegistry::in_dir(&providers.paths().dir);
    tauri::async_runtime::spawn_blocking(move || registry.set_raw_keys(&app_id, allowed))
        .await
        .map_err(|error| {
            AppError::from(patchbay_core::Error::invalid("app_id", error.to_string()))
        })?
        .map_err(|error| AppError::from(patchbay_core::Error::invalid("app_id", error.to_string())))
}

/// Requests apps sent through the gateway (`activity.jsonl`), newest
/// first, at most 200: no prompt or answer text is ever recorded.
#[tauri::command]
pub(crate) async fn gateway_activity(
    providers: State<'_, Providers>,
) -> Result<Vec<patchbay_service::hosts::ActivityRecord>, AppError> {
    let dir = providers.paths().dir.clone();
    let records = tauri::async_runtime::spawn_blocking(move || {
        patchbay_service::hosts::ActivityLog::read(&dir)
    })
    .await
    .map_err(|error| AppError::from(patchbay_core::Error::invalid("activity", error.to_string())))?
    .map_err(|error| {
        AppError::from(patchbay_core::Error::invalid("activity", error.to_string()))
    })?;
    Ok(records.into_iter().rev().take(200).collect())
}

/// Limits one app to `entries` (`<provider_id>/<model_id>`), or with
/// `null` lets it use every enabled entry. `false` when the app is not
/// paired.
#[tauri::command]
pub(crate) async fn set_host_entries(
    providers: State<'_, Providers>,
    app_id: String,
    entries: Option<Vec<String>>,
) -> Result<bool, AppError> {
    let registry = patchbay_service::HostRegistry::in_dir(&providers.paths().dir);
    tauri::async_runtime::spawn_blocking(move || registry.set_entries(&app_id, entries))
        .await
        .map_err(|error| {
            AppError::from(patchbay_core::Error::invalid("app_id", error.to_string()))
        })?
        .map_err(|error| {
            AppError::from(patchbay_core::Error::invalid("entries", error.to_string()))
        })
}

/// "What apps see": the entries host apps receive, each with the paired
/// apps that used it last.
#[tauri::command]
pub(crate) async fn what_apps_see(
    providers: State<'_, Providers>,
    hosts: State<'_, Hosts>,
) -> Result<Vec<patchbay_service::apps_view::SeenEntry>, AppError> {
    let resolves = hosts.0.resolve_log().await?;
    let service = providers.service();
    crate::background::blocking(move || service.what_apps_see(&resolves)).await
}

/// Which app resolved which entry, when; newest first for the window.
#[tauri::command]
pub(crate) async fn resolve_log(hosts: State<'_, Hosts>) -> Result<Vec<ResolveRecord>, AppError> {
    Ok(hosts.0.resolve_log().await?)
}
