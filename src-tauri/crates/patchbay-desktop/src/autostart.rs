//! "Start Patchbay at login, in the background": one implementation for the
//! window's switch and `patchbay autostart on|off|status`, on the
//! `auto-launch` crate (the one Tauri's autostart plugin wraps). Off by
//! default: nothing is written until the person turns it on.
//!
//! - Linux: `~/.config/autostart/patchbay.desktop` (XDG autostart), which
//!   desktop sessions (GNOME, KDE, Xfce, …) start at login;
//! - macOS: a launch agent (`~/Library/LaunchAgents`);
//! - Windows: the `Run` key under `HKEY_CURRENT_USER`.
//!
//! The entry starts the app with [`BACKGROUND_ARG`]: it serves host apps
//! (IPC and gateway) from the tray without opening the window.

use std::path::{Path, PathBuf};

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

use crate::{DesktopError, Result};

/// The argument the login entry passes: start serving, no window.
pub const BACKGROUND_ARG: &str = "--background";

/// The entry's name (the `.desktop` file's stem on Linux).
pub const ENTRY_NAME: &str = "patchbay";

/// Whether Patchbay starts at login, and where that is recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AutostartStatus {
    pub enabled: bool,
    /// The file that makes it so (Linux: the `.desktop` entry), when there
    /// is one to show.
    pub entry: Option<PathBuf>,
    /// The program the entry starts.
    pub app: PathBuf,
}

/// The login entry for the app at `app`.
#[derive(Debug)]
pub struct Autostart {
    launcher: AutoLaunch,
    app: PathBuf,
}

impl Autostart {
    /// The entry that starts `app` (the `patchbay-app` executable) at login.
    pub fn for_app(app: &Path) -> Result<Self> {
        let launcher = AutoLaunchBuilder::new()
            .set_app_name(ENTRY_NAME)
            .set_app_path(&app.to_string_lossy())
            .set_args(&[BACKGROUND_ARG])
            .set_linux_launch_mode(auto_launch::LinuxLaunchMode::XdgAutostart)
            .set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent)
            .build()
            .map_err(failed)?;
        Ok(Self {
            launcher,
            app: app.to_path_buf(),
        })
    }

    /// Turns it on (rewriting the entry, so a moved app is followed).
    pub fn enable(&self) -> Result<AutostartStatus> {
        self.launcher.enable().map_err(failed)?;
        self.status()
    }

    /// Turns it off; already off is not an error.
    pub fn disable(&self) -> Result<AutostartStatus> {
        if self.launcher.is_enabled().map_err(failed)? {
            self.launcher.disable().map_err(failed)?;
        }
        self.status()
    }

    pub fn status(&self) -> Result<AutostartStatus> {
        Ok(AutostartStatus {
            enabled: self.launcher.is_enabled().map_err(failed)?,
            entry: entry_path(),
            app: self.app.clone(),
        })
    }
}

/// Where `auto-launch` writes the entry on Linux: `$HOME/.config/autostart`
/// (it does not read `XDG_CONFIG_HOME`; desktop sessions read both when
/// they are the same, as they are by default).
#[cfg(all(unix, not(target_os = "macos")))]
pub fn entry_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|home| home.is_absolute())
        .map(|home| {
            home.join(".config")
                .join("autostart")
                .join(format!("{ENTRY_NAME}.desktop"))
        })
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn entry_path() -> Option<PathBuf> {
    None
}

fn failed(error: auto_launch::Error) -> DesktopError {
    DesktopError::Autostart {
        detail: error.to_string(),
    }
}
