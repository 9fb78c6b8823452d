//! The app's own UI state — the window size, the last selected provider and
//! the theme choice (also applied to the native window, see [`apply_theme`]) — kept in `ui-state.json` in the app's data directory by
//! `tauri-plugin-store`. Never the shared provider config: two writers of
//! one file lose data.
//!
//! The panel reaches it only through [`get_ui_setting`] and
//! [`set_ui_setting`], for the two settings it owns, with checked values:
//! the store plugin itself is not granted to the webview, whose `load`
//! accepts any path (script in the window could otherwise write
//! `hosts.json` or `providers.json`).

use serde::{Deserialize, Serialize};
use tauri::{LogicalSize, Manager, Runtime, Theme, Window, WindowEvent};

use tauri_plugin_store::StoreExt;

/// The store file, shared with `ui/app.js`.
pub(crate) const STORE_FILE: &str = "ui-state.json";
const WINDOW_SIZE_KEY: &str = "window_size";
/// Sizes below the window's minimum would be clamped anyway; ignoring them
/// keeps a bad value in the file from producing a sliver of a window.
const SMALLEST_RESTORED: f64 = 480.0;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct WindowSize {
    width: f64,
    height: f64,
}

/// Applies the size saved last time, if any.
pub(crate) fn restore_window_size<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    let store = match window.store(STORE_FILE) {
        Ok(store) => store,
        Err(error) => {
            tracing::warn!(%error, "could not open the UI state store; using the default window size");
            return;
        }
    };
    let Some(saved) = store.get(WINDOW_SIZE_KEY) else {
        return;
    };
    match serde_json::from_value::<WindowSize>(saved) {
        Ok(size) if size.width >= SMALLEST_RESTORED && size.height >= SMALLEST_RESTORED => {
            if let Err(error) = window.set_size(LogicalSize::new(size.width, size.height)) {
                tracing::warn!(%error, "could not restore the window size");
            }
        }
        Ok(_) => tracing::debug!("ignoring a saved window size below the minimum"),
        Err(error) => tracing::warn!(%error, "ignoring an unreadable saved window size"),
    }
}

/// Gives the window the theme the person chose (`"light"`, `"dark"`;
/// anything else follows the system). The page themes itself with CSS, but
/// the drop-down menus of its selects are native GTK menus CSS cannot reach:
/// they follow the window's theme, which this sets.
fn apply_theme<R: Runtime>(app: &tauri::AppHandle<R>, choice: Option<&str>) {
    let theme = match choice {
        Some("light") => Some(Theme::Light),
        Some("dark") => Some(Theme::Dark),
        _ => None,
    };
    for window in app.webview_windows().values() {
        if let Err(error) = window.set_theme(theme) {
            tracing::warn!(%error, "could not set the window's theme");
        }
    }
}

/// Applies the theme saved last time, before the page first paints.
pub(crate) fn restore_theme<R: Runtime>(app: &tauri::AppHandle<R>) {
    let saved = app
        .store(STORE_FILE)
        .ok()
        .and_then(|store| store.get("theme"));
    apply_theme(app, saved.as_ref().and_then(serde_json::Value::as_str));
}

/// Remembers the window size as the user resizes (the store saves debounced).
pub(crate) fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::Resized(physical) = event else {
        return;
    };
    // Minimising reports 0×0; that is not a size to come back to.
    if physical.width == 0 || physical.height == 0 {
        return;
    }
    let scale = match window.scale_factor() {
        Ok(scale) => scale,
        Err(error) => {
            tracing::warn!(%error, "could not read the scale factor; window size not saved");
            return;
        }
    };
    let logical = physical.to_logical::<f64>(scale);
    let size = WindowSize {
        width: logical.width,
        height: logical.height,
    };
    match (window.store(STORE_FILE), serde_json::to_value(size)) {
        (Ok(store), Ok(value)) => store.set(WINDOW_SIZE_KEY, value),
        (Err(error), _) => tracing::warn!(%error, "could not open the UI state store"),
        (_, Err(error)) => tracing::warn!(%error, "could not encode the window size"),
    }
}

/// The settings the panel may read and write, each with what a value may be.
fn valid_setting(key: &str, value: &serde_json::Value) -> bool {
    match key {
        "theme" => matches!(value.as_str(), Some("system" | "light" | "dark")),
        "last_selected" => {
            value.is_null()
                || value
                    .as_str()
                    .is_some_and(|id| patchbay_core::ProviderId::parse(id).is_ok())
        }
        _ => false,
    }
}

/// A UI setting (`theme`, `last_selected`); `null` when none is saved or
/// the saved one is not valid.
#[tauri::command]
pub(crate) fn get_ui_setting<R: Runtime>(
    app: tauri::AppHandle<R>,
    key: String,
) -> serde_json::Value {
    let Ok(store) = app.store(STORE_FILE) else {
        return serde_json::Value::Null;
    };
    store
        .get(&key)
        .filter(|value| valid_setting(&key, value))
        .unwrap_or(serde_json::Value::Null)
}

/// Saves a UI setting; anything but `theme` and `last_selected` with a
/// valid value is refused.
#[tauri::command]
pub(crate) fn set_ui_setting<R: Runtime>(
    app: tauri::AppHandle<R>,
    key: String,
    value: serde_json::Value,
) -> Result<(), crate::error::AppError> {
    if !valid_setting(&key, &value) {
        return Err(crate::error::AppError::from(patchbay_core::Error::invalid(
            "key",
            format!(
                "`{}` is not a UI setting this window may change, or its value is not valid.",
                key.chars().take(40).collect::<String>()
            ),
        )));
    }
    let store = app.store(STORE_FILE).map_err(|error| {
        crate::error::AppError::from(patchbay_core::Error::ConfigIo {
            action: "open",
            path: std::path::PathBuf::from(STORE_FILE),
            source: std::io::Error::other(error.to_string()),
        })
    })?;
    if key == "theme" {
        apply_theme(&app, value.as_str());
    }
    store.set(key, value);
    Ok(())
}
