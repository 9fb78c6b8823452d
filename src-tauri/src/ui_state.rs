//! The app's own UI state (window size here; the last selected provider and
//! the theme choice are written by the panel through the store plugin), kept
//! in `ui-state.json` in the app's data directory by `tauri-plugin-store`.
//! Never the shared provider config: two writers of one file lose data.

use serde::{Deserialize, Serialize};
use tauri::{LogicalSize, Manager, Runtime, Window, WindowEvent};
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
pub(crate) fn restore_window_size<R: Runtime>(app: &tauri::App<R>) {
    let Some(window) = app.get_webview_window("settings") else {
        return;
    };
    let store = match app.store(STORE_FILE) {
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
