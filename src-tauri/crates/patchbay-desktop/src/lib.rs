//! Patchbay's place on the desktop, shared by the window and the CLI (which
//! has no Tauri app handle):
//!
//! - [`autostart`]: "Start Patchbay at login, in the background" — the
//!   XDG autostart entry on Linux, a launch agent on macOS, the `Run` key on
//!   Windows, through the `auto-launch` crate;
//! - [`service`]: a systemd user unit running `patchbay serve`, for
//!   machines without a desktop session (a server reached over SSH);
//! - [`notify`]: desktop notifications, for the app and the background
//!   server.

pub mod autostart;
pub mod service;

use std::path::{Path, PathBuf};

/// What went wrong, in words a person can act on (paths included, never a
/// secret: nothing here touches one).
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    #[error("the Patchbay app is not installed next to this program (looked for {looked_for}); install the package, or run this from the folder that holds patchbay-app")]
    AppMissing { looked_for: PathBuf },
    #[error("the `patchbay` command is not installed next to the app (looked for {looked_for}); install the package, or build it with `cargo build -p patchbay-cli`")]
    CliMissing { looked_for: PathBuf },
    #[error("the `patchbay` command is not where this process was started from ({detail})")]
    NoCurrentExe { detail: String },
    #[error("start at login: {detail}")]
    Autostart { detail: String },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no home directory: set HOME (or XDG_CONFIG_HOME) so Patchbay knows where your user settings live")]
    NoHome,
}

pub type Result<T, E = DesktopError> = std::result::Result<T, E>;

/// The app's executable name (`patchbay-app`, `patchbay-app.exe`).
pub const APP_BINARY: &str = if cfg!(windows) {
    "patchbay-app.exe"
} else {
    "patchbay-app"
};

/// The CLI's executable name (`patchbay`, `patchbay.exe`).
pub const CLI_BINARY: &str = if cfg!(windows) {
    "patchbay.exe"
} else {
    "patchbay"
};

/// Set by the app on the background server it starts when its window
/// closes: the server says in a notification that Patchbay goes on, where no
/// tray icon shows it.
pub const ANNOUNCE_BACKGROUND_ENV: &str = "PATCHBAY_ANNOUNCE_BACKGROUND";

/// The running executable (the CLI or the app).
pub fn current_exe() -> Result<PathBuf> {
    std::env::current_exe().map_err(|error| DesktopError::NoCurrentExe {
        detail: error.to_string(),
    })
}

/// The app installed beside `exe` (the CLI and the app share a folder:
/// `/usr/bin` in the packages, `target/debug` in a build).
pub fn app_beside(exe: &Path) -> Result<PathBuf> {
    beside(exe, APP_BINARY).map_err(|looked_for| DesktopError::AppMissing { looked_for })
}

/// The CLI installed beside `exe` (the app runs it as its background
/// server, `patchbay serve --resident`).
pub fn cli_beside(exe: &Path) -> Result<PathBuf> {
    beside(exe, CLI_BINARY).map_err(|looked_for| DesktopError::CliMissing { looked_for })
}

/// `name` in `exe`'s folder when it is a file there; else the path looked for.
fn beside(exe: &Path, name: &str) -> Result<PathBuf, PathBuf> {
    let path = exe
        .parent()
        .map(|dir| dir.join(name))
        .unwrap_or_else(|| PathBuf::from(name));
    if path.is_file() {
        Ok(path)
    } else {
        Err(path)
    }
}

/// `$XDG_CONFIG_HOME`, else `~/.config` (Linux and the BSDs).
pub(crate) fn xdg_config_home() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
    {
        return Ok(dir);
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|home| home.is_absolute())
        .map(|home| home.join(".config"))
        .ok_or(DesktopError::NoHome)
}

/// Shows a desktop notification from Patchbay (freedesktop.org
/// notifications over D-Bus on Linux), from a thread of its own; `on_open`
/// runs when the person chooses it. Where no notification service runs,
/// it is logged and nothing else happens; elsewhere (macOS, Windows) it is
/// only logged for now.
pub fn notify(summary: String, body: String, on_open: impl FnOnce() + Send + 'static) {
    #[cfg(target_os = "linux")]
    {
        let spawned = std::thread::Builder::new()
            .name("notification".to_owned())
            .spawn(move || {
                let shown = notify_rust::Notification::new()
                    .appname("Patchbay")
                    .summary(&summary)
                    .body(&body)
                    .icon("patchbay-app")
                    .action("default", "Open Patchbay")
                    .show();
                match shown {
                    Ok(handle) => handle.wait_for_action(|action| {
                        if action == "default" {
                            on_open();
                        }
                    }),
                    Err(error) => tracing::info!(%error, "could not show a desktop notification"),
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not start the notification thread");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        drop((body, on_open));
        tracing::info!(summary, "notification (not shown on this platform yet)");
    }
}
