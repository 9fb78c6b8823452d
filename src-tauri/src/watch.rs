//! Keeps the window in step with the shared config file: when another process
//! (the CLI, a hand edit, a second app) changes it, the panel is told with a
//! `providers-changed` event and reloads its list. Also records, once at
//! start, whether the file had to be moved aside, for the panel's banner.

use tauri::{Emitter, Manager, Runtime};

use crate::state::{ConfigWatch, Providers, StartupNotice};

/// The event the panel listens for.
pub const PROVIDERS_CHANGED: &str = "providers-changed";

/// Loads the config once (so a corrupt file is moved aside and reported
/// before the window asks for the list) and starts watching it.
pub(crate) fn start<R: Runtime>(app: &tauri::App<R>) -> Result<(), patchbay_core::Error> {
    let providers = app.state::<Providers>();
    match providers.service().list_providers() {
        Ok(listing) => {
            if let Some(notice) = listing.notice {
                app.state::<StartupNotice>().set(notice);
            }
        }
        // The list command reports it again where the person sees it.
        Err(error) => tracing::warn!(%error, "could not read the config at start"),
    }
    let handle = app.handle().clone();
    let watcher = patchbay_core::config::watch(providers.paths(), move || {
        if let Err(error) = handle.emit(PROVIDERS_CHANGED, ()) {
            tracing::warn!(%error, "could not tell the window that the providers changed");
        }
    })?;
    app.state::<ConfigWatch>().keep(watcher);
    Ok(())
}
