//! The app's life outside its window: one instance per user, the window
//! opened and closed, the hand-over to the background server when it
//! closes, and quitting cleanly (docs/architecture.md, "Outside the
//! window").
//!
//! - A launch first claims the instance endpoint (`patchbay-ipc`'s
//!   [`instance`](patchbay_ipc::instance)); a second launch tells the
//!   holder to show its window (or quit, with `--quit`) and exits.
//! - Closing the window destroys it. While `background.keep_serving` is on
//!   (`settings.json`, on by default) the app hands serving over to
//!   `patchbay serve --resident` (no WebKit) and exits; the first close
//!   asks the person, in the window, which they want. With it off, closing
//!   quits.
//! - [`quit`] (the tray's Quit, the window's Quit, `patchbay-app --quit`,
//!   SIGTERM) stops serving (socket removed, gateway closed after a grace
//!   period for requests in flight) and exits.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use patchbay_core::settings;
use patchbay_desktop::autostart::{Autostart, AutostartStatus};
use patchbay_ipc::instance::{Activation, InstanceHandle};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime, WebviewWindow, WindowEvent};
use tauri_plugin_store::StoreExt;

use crate::error::AppError;
use crate::hosts::Hosts;
use crate::state::Providers;
use crate::ui_state;

/// The settings window's label (`tauri.conf.json`).
pub(crate) const WINDOW: &str = "settings";
/// Sent to the page when the person closes the window for the first time:
/// it asks whether to keep serving in the background.
pub const CLOSE_REQUESTED: &str = "close-requested";
/// The UI store key recording that the person has answered that question.
const CLOSE_EXPLAINED_KEY: &str = "close_explained";

/// How this process was started.
#[derive(Debug, Default)]
pub struct Launch {
    /// Started at login (`--background`): serve, no window.
    pub background: bool,
    /// Build the tray icon (the real app; never on the mock runtime).
    pub tray: bool,
    /// The claimed instance endpoint, served once the app runs.
    pub instance: Option<patchbay_ipc::instance::Instance>,
    /// Opened by the background server while a pairing request waits: this
    /// window follows that server (which keeps the instance endpoint and
    /// the tray); closing it just closes it, Quit quits the server too.
    pub follower: bool,
}

/// The app's background state, managed for the commands and the tray.
#[derive(Debug, Default)]
pub(crate) struct Background {
    /// How many times a later launch asked this one to show its window.
    activations: AtomicU64,
    quitting: AtomicBool,
    /// Why no tray icon is shown (`None` while one is).
    no_tray: Mutex<Option<String>>,
    instance: Mutex<Option<InstanceHandle>>,
    follower: AtomicBool,
}

impl Background {
    pub(crate) fn set_no_tray(&self, reason: Option<String>) {
        *self.no_tray.lock().unwrap_or_else(PoisonError::into_inner) = reason;
    }

    fn no_tray(&self) -> Option<String> {
        self.no_tray
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn is_quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }
}

/// Whether this window follows Patchbay's background server (`--follow`).
pub(crate) fn is_follower<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<Background>()
        .is_some_and(|background| background.follower.load(Ordering::SeqCst))
}

/// Runs in `setup`: serves later launches' requests and opens the window
/// unless started in the background.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>, launch: Launch) -> tauri::Result<()> {
    let background = Background::default();
    if let Some(instance) = launch.instance {
        let handle = app.handle().clone();
        let served = tauri::async_runtime::block_on(async move {
            instance.serve(move |activation| activated(&handle, activation))
        });
        *background
            .instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(served);
    }
    background.follower.store(launch.follower, Ordering::SeqCst);
    app.manage(background);
    if launch.background {
        tracing::info!("started in the background: serving host apps, no window");
    } else {
        open_window(app.handle())?;
    }
    Ok(())
}

fn activated<R: Runtime>(app: &AppHandle<R>, activation: Activation) {
    match activation {
        Activation::Show => {
            app.state::<Background>()
                .activations
                .fetch_add(1, Ordering::SeqCst);
            show_window(app);
        }
        Activation::Quit => quit(app.clone()),
        Activation::Background => {}
    }
}

/// Builds the window from `tauri.conf.json` (its size as saved last time).
fn open_window<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == WINDOW)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let window = tauri::WebviewWindowBuilder::from_config(app, &config)?.build()?;
    ui_state::restore_window_size(&window);
    ui_state::restore_theme(app);
    Ok(window)
}

/// Shows and focuses the window, re-creating it when it was closed. Window
/// creation runs off the calling thread (a tray or event handler on the
/// main thread would deadlock waiting for the event loop).
pub(crate) fn show_window<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let window = match app.get_webview_window(WINDOW) {
            Some(window) => window,
            None => match open_window(&app) {
                Ok(window) => window,
                Err(error) => {
                    tracing::error!(%error, "could not open the settings window");
                    return;
                }
            },
        };
        for (what, result) in [
            ("unminimize", window.unminimize()),
            ("show", window.show()),
            ("focus", window.set_focus()),
        ] {
            if let Err(error) = result {
                tracing::debug!(%error, "could not {what} the window");
            }
        }
    });
}

/// Stops serving and exits: the IPC socket removed, the gateway closed
/// (requests in flight get a grace period), the instance endpoint released.
pub(crate) fn quit<R: Runtime>(app: AppHandle<R>) {
    let background = app.state::<Background>();
    if background.quitting.swap(true, Ordering::SeqCst) {
        return;
    }
    tracing::info!("quitting");
    let follower = background.follower.load(Ordering::SeqCst);
    tauri::async_runtime::spawn(async move {
        if follower {
            // The background server is Patchbay here: quitting stops it.
            if let Ok(ipc) = patchbay_ipc::default_endpoint() {
                let endpoint = patchbay_ipc::instance::instance_endpoint(&ipc);
                if let Err(error) = patchbay_ipc::instance::tell(&endpoint, Activation::Quit).await
                {
                    tracing::warn!(%error, "could not stop the background server");
                }
            }
        }
        stop_serving_and_exit(app).await;
    });
}

/// Stops serving (the socket and the gateway's port are free when the
/// supervisor's shutdown returns; requests in flight get their grace),
/// releases the instance endpoint, and exits.
async fn stop_serving_and_exit<R: Runtime>(app: AppHandle<R>) {
    if let Some(hosts) = app.try_state::<Hosts>() {
        let supervisor = std::sync::Arc::clone(&hosts.0);
        supervisor.shutdown(&patchbay_ipc::Silent).await;
    }
    let instance = app
        .state::<Background>()
        .instance
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(instance) = instance {
        instance.close().await;
    }
    app.exit(0);
}

/// Whether closing the window keeps Patchbay serving (`settings.json`).
fn keeps_serving<R: Runtime>(app: &AppHandle<R>) -> bool {
    let providers = app.state::<Providers>();
    settings::load(&providers.paths().dir)
        .map(|settings| settings.background.keep_serving)
        .unwrap_or(true)
}

fn close_explained<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.store(ui_state::STORE_FILE)
        .ok()
        .and_then(|store| store.get(CLOSE_EXPLAINED_KEY))
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

/// The settings window is closing: the first time (with background serving
/// on), the page asks the person first; later closes go ahead (and the run
/// loop hands over to the background server, see [`on_run_event`]).
pub(crate) fn on_window_event<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    ui_state::on_window_event(window, event);
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if window.label() != WINDOW {
        return;
    }
    let app = window.app_handle();
    if app.state::<Background>().is_quitting() || !keeps_serving(app) {
        return;
    }
    if !close_explained(app) {
        api.prevent_close();
        if let Err(error) = window.emit_to(WINDOW, CLOSE_REQUESTED, background_status_of(app)) {
            tracing::warn!(%error, "could not ask about background serving; closing");
            remember_close_explained(app);
            destroy_window(app);
        }
    }
}

/// The app's run-loop events: the last window closing does not end the
/// process while it serves in the background.
pub(crate) fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested { code, api, .. } = event {
        if code.is_some() || app.state::<Background>().is_quitting() {
            return;
        }
        api.prevent_exit();
        if keeps_serving(app) {
            hand_over(app);
        } else {
            quit(app.clone());
        }
    }
}

/// The window closed and Patchbay keeps serving: the background server
/// (`patchbay serve --resident`, beside this program) takes over, and this
/// process — WebKit, GTK and all — exits once it has let go. A follower
/// window just exits (the server it follows goes on). Without the CLI
/// beside the app (a bare build), this process stays and serves itself.
fn hand_over<R: Runtime>(app: &AppHandle<R>) {
    let background = app.state::<Background>();
    if background.follower.load(Ordering::SeqCst) {
        background.quitting.store(true, Ordering::SeqCst);
        app.exit(0);
        return;
    }
    let announce = background.no_tray().is_some();
    match spawn_resident(announce) {
        Ok(()) => {
            tracing::info!("the window closed; the background server takes over");
            exit_after_shutdown(app.clone());
        }
        Err(error) => {
            tracing::warn!(%error, "no background server to hand over to; serving from this process");
        }
    }
}

/// Starts `patchbay serve --resident` (the CLI beside this program) on its
/// own: no terminal, its own process group, not waited for. `announce`:
/// it says in a notification that Patchbay goes on in the background
/// (where no tray icon shows it).
pub(crate) fn spawn_resident(announce: bool) -> Result<(), String> {
    let cli = patchbay_desktop::current_exe()
        .and_then(|exe| patchbay_desktop::cli_beside(&exe))
        .map_err(|error| error.to_string())?;
    let mut command = std::process::Command::new(&cli);
    command
        .args(["serve", "--resident"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if announce {
        command.env(patchbay_desktop::ANNOUNCE_BACKGROUND_ENV, "1");
    }
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .spawn()
        .map(drop)
        .map_err(|error| format!("could not start {}: {error}", cli.display()))
}

/// Stops serving (so the background server can take the socket, the
/// gateway's port and the instance endpoint) and exits.
fn exit_after_shutdown<R: Runtime>(app: AppHandle<R>) {
    app.state::<Background>()
        .quitting
        .store(true, Ordering::SeqCst);
    tauri::async_runtime::spawn(stop_serving_and_exit(app));
}

fn destroy_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(WINDOW) {
        if let Err(error) = window.destroy() {
            tracing::warn!(%error, "could not close the window");
        }
    }
}

fn remember_close_explained<R: Runtime>(app: &AppHandle<R>) {
    match app.store(ui_state::STORE_FILE) {
        Ok(store) => store.set(CLOSE_EXPLAINED_KEY, true),
        Err(error) => tracing::warn!(%error, "could not open the UI state store"),
    }
}

/// What the window shows about background serving.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BackgroundStatus {
    /// Closing the window keeps Patchbay serving.
    keep_serving: bool,
    /// The tray icon is shown.
    tray: bool,
    /// Why there is no tray icon.
    no_tray_reason: Option<String>,
    /// How many times a later launch brought this window forward.
    activations: u64,
    /// Start at login; `None` with the reason when it cannot be told.
    autostart: Option<AutostartStatus>,
    autostart_error: Option<String>,
    /// This process's id (the harness stops a background Patchbay by it).
    pid: u32,
}

fn background_status_of<R: Runtime>(app: &AppHandle<R>) -> BackgroundStatus {
    let background = app.state::<Background>();
    let no_tray = background.no_tray();
    let (autostart, autostart_error) = match autostart() {
        Ok(autostart) => match autostart.status() {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error.to_string())),
        },
        Err(error) => (None, Some(error.to_string())),
    };
    BackgroundStatus {
        keep_serving: keeps_serving(app),
        tray: no_tray.is_none(),
        no_tray_reason: no_tray,
        activations: background.activations.load(Ordering::SeqCst),
        autostart,
        autostart_error,
        pid: std::process::id(),
    }
}

/// The login entry for this very executable.
fn autostart() -> Result<Autostart, patchbay_desktop::DesktopError> {
    Autostart::for_app(&patchbay_desktop::current_exe()?)
}

fn desktop_error(field: &'static str, error: impl std::fmt::Display) -> AppError {
    AppError::from(patchbay_core::Error::invalid(field, error.to_string()))
}

#[tauri::command]
pub(crate) async fn background_status<R: Runtime>(
    app: AppHandle<R>,
) -> Result<BackgroundStatus, AppError> {
    tauri::async_runtime::spawn_blocking(move || background_status_of(&app))
        .await
        .map_err(|error| desktop_error("background", error))
}

/// The "Keep serving apps when the window closes" switch (`settings.json`).
#[tauri::command]
pub(crate) async fn set_keep_serving<R: Runtime>(
    app: AppHandle<R>,
    keep_serving: bool,
) -> Result<BackgroundStatus, AppError> {
    tauri::async_runtime::spawn_blocking(move || {
        save_keep_serving(&app, keep_serving)?;
        Ok(background_status_of(&app))
    })
    .await
    .map_err(|error| desktop_error("keep_serving", error))?
}

fn save_keep_serving<R: Runtime>(app: &AppHandle<R>, keep_serving: bool) -> Result<(), AppError> {
    let dir = app.state::<Providers>().paths().dir.clone();
    let mut current =
        settings::load(&dir).map_err(|problem| desktop_error("keep_serving", problem))?;
    current.background.keep_serving = keep_serving;
    settings::save(&dir, &current).map_err(|problem| desktop_error("keep_serving", problem))
}

/// The "Start Patchbay at login, in the background" switch: the same code
/// as `patchbay autostart on|off`.
#[tauri::command]
pub(crate) async fn set_autostart<R: Runtime>(
    app: AppHandle<R>,
    enabled: bool,
) -> Result<BackgroundStatus, AppError> {
    tauri::async_runtime::spawn_blocking(move || {
        let autostart = autostart().map_err(|error| desktop_error("autostart", error))?;
        let changed = if enabled {
            autostart.enable()
        } else {
            autostart.disable()
        };
        changed.map_err(|error| desktop_error("autostart", error))?;
        Ok(background_status_of(&app))
    })
    .await
    .map_err(|error| desktop_error("autostart", error))?
}

/// The page's answer to the first close: keep serving in the background
/// (the window closes) or quit (and quit on every later close).
#[tauri::command]
pub(crate) async fn finish_close<R: Runtime>(
    app: AppHandle<R>,
    keep_serving: bool,
) -> Result<(), AppError> {
    let saved = app.clone();
    tauri::async_runtime::spawn_blocking(move || save_keep_serving(&saved, keep_serving))
        .await
        .map_err(|error| desktop_error("keep_serving", error))??;
    remember_close_explained(&app);
    if keep_serving {
        destroy_window(&app);
    } else {
        quit(app);
    }
    Ok(())
}

/// The window's Quit (and the tray's): stop serving and exit.
#[tauri::command]
pub(crate) fn quit_app<R: Runtime>(app: AppHandle<R>) {
    quit(app);
}

/// SIGTERM (a session ending, `kill`) quits as cleanly as the Quit item.
#[cfg(unix)]
pub(crate) fn quit_on_sigterm<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                if terminate.recv().await.is_some() {
                    quit(app);
                }
            }
            Err(error) => tracing::warn!(%error, "SIGTERM will end Patchbay without cleaning up"),
        }
    });
}

#[cfg(not(unix))]
pub(crate) fn quit_on_sigterm<R: Runtime>(_app: &AppHandle<R>) {}
