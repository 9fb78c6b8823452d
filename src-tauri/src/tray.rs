//! The tray icon and its menu (Open Settings, the gateway with its address,
//! pairing requests waiting, Quit), and desktop notifications.
//!
//! A tray is shown only where one can be: on Linux the AppIndicator library
//! must be installed (the tray crate loads it at run time and would panic
//! without it) and a tray host must own `org.kde.StatusNotifierWatcher` on
//! the session bus (stock GNOME has none). Otherwise Patchbay runs without
//! an icon, says so when the window closes, and a second launch brings the
//! window (with its Quit button) back. `PATCHBAY_TRAY=off` turns the icon
//! off; `PATCHBAY_TRAY=force` skips the tray-host check (tests, desktops
//! with an XEmbed tray only).

use std::sync::{Arc, Mutex, PoisonError};

use patchbay_ipc::HostsStatus;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::hosts::Hosts;
use crate::lifecycle::{self, Background};

const OPEN: &str = "open";
const GATEWAY: &str = "gateway";
const PAIRING: &str = "pairing";
const QUIT: &str = "quit";

/// The menu items whose text follows the app's state.
pub(crate) struct TrayMenu<R: Runtime> {
    gateway: CheckMenuItem<R>,
    pairing: MenuItem<R>,
}

/// Kept in the app's state while a tray icon is shown.
pub(crate) struct Tray<R: Runtime>(Mutex<Option<TrayMenu<R>>>);

/// Shows the tray icon, or records why there is none.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>) {
    let background = app.state::<Background>();
    match support().and_then(|()| build(app).map_err(|error| error.to_string())) {
        Ok(menu) => {
            app.manage(Tray(Mutex::new(Some(menu))));
            background.set_no_tray(None);
            refresh(app.handle());
        }
        Err(reason) => {
            tracing::info!(reason, "no tray icon");
            background.set_no_tray(Some(reason));
        }
    }
}

/// Whether a tray icon can be shown here (see the module docs).
fn support() -> Result<(), String> {
    match std::env::var("PATCHBAY_TRAY").as_deref() {
        Ok("off") => return Err("turned off with PATCHBAY_TRAY=off".to_owned()),
        Ok("force") => return library(),
        _ => {}
    }
    library()?;
    tray_host()
}

#[cfg(target_os = "linux")]
fn library() -> Result<(), String> {
    crate::tray_support::appindicator_library().map(drop)
}

#[cfg(not(target_os = "linux"))]
fn library() -> Result<(), String> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn tray_host() -> Result<(), String> {
    crate::tray_support::status_notifier_host()
}

#[cfg(not(target_os = "linux"))]
fn tray_host() -> Result<(), String> {
    Ok(())
}

fn build<R: Runtime>(app: &tauri::App<R>) -> tauri::Result<TrayMenu<R>> {
    let open = MenuItem::with_id(app, OPEN, "Open Settings", true, None::<&str>)?;
    let gateway = CheckMenuItem::with_id(app, GATEWAY, "Gateway", true, false, None::<&str>)?;
    let pairing = MenuItem::with_id(app, PAIRING, "No pairing requests", false, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit Patchbay", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &gateway, &pairing, &separator, &quit])?;
    let mut builder = TrayIconBuilder::with_id("patchbay")
        .tooltip("Patchbay")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(TrayMenu { gateway, pairing })
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        OPEN | PAIRING => lifecycle::show_window(app),
        QUIT => lifecycle::quit(app.clone()),
        GATEWAY => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let on = app
                    .try_state::<Hosts>()
                    .map(|hosts| hosts.0.status())
                    .and_then(|status| status.gateway)
                    .is_some_and(|gateway| gateway.state == "on");
                if let Err(error) = crate::hosts::switch_gateway(&app, !on).await {
                    tracing::warn!(%error, "could not switch the gateway from the tray");
                }
                refresh(&app);
            });
        }
        other => tracing::debug!(id = other, "unknown tray menu item"),
    }
}

/// Brings the menu's text up to date: the gateway's address, the number of
/// pairing requests waiting. Called whenever connected apps change.
pub(crate) fn refresh<R: Runtime>(app: &AppHandle<R>) {
    if app.try_state::<Tray<R>>().is_none() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(hosts) = app.try_state::<Hosts>().map(|hosts| Arc::clone(&hosts.0)) else {
            return;
        };
        let status = hosts.status();
        let waiting = hosts
            .pending()
            .await
            .map(|pending| pending.len())
            .unwrap_or(0);
        let Some(tray) = app.try_state::<Tray<R>>() else {
            return;
        };
        let guard = tray.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(menu) = guard.as_ref() {
            apply(menu, &status, waiting);
        }
    });
}

fn apply<R: Runtime>(menu: &TrayMenu<R>, status: &HostsStatus, waiting: usize) {
    let (on, text) = match status.gateway.as_ref() {
        Some(gateway) if gateway.state == "on" => (
            true,
            format!(
                "Gateway on — {}",
                gateway.base_url.as_deref().unwrap_or("starting")
            ),
        ),
        Some(gateway) if gateway.state == "failed" => (false, "Gateway could not start".to_owned()),
        _ => (false, "Gateway off".to_owned()),
    };
    let pairing = match waiting {
        0 => "No pairing requests".to_owned(),
        1 => "1 app asks to pair…".to_owned(),
        n => format!("{n} apps ask to pair…"),
    };
    let results = [
        menu.gateway.set_checked(on),
        menu.gateway.set_text(text),
        menu.pairing.set_text(pairing),
        menu.pairing.set_enabled(waiting > 0),
    ];
    for result in results {
        if let Err(error) = result {
            tracing::debug!(%error, "could not update the tray menu");
        }
    }
}

/// A desktop notification; choosing it opens the window.
pub(crate) fn notify<R: Runtime>(app: &AppHandle<R>, summary: &str, body: &str) {
    let app = app.clone();
    patchbay_desktop::notify(summary.to_owned(), body.to_owned(), move || {
        lifecycle::show_window(&app);
    });
}
