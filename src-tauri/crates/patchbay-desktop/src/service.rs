//! `patchbay service install|uninstall|status`: a systemd user unit that
//! runs `patchbay serve`, for machines without a desktop session (a server
//! reached over SSH, a headless GPU box). The unit is written to
//! `$XDG_CONFIG_HOME/systemd/user/patchbay.service`; where a user systemd
//! is running it is enabled and started at once, and where none is (a
//! container, a session without `systemd --user`) the report says so and
//! how to start it later. Nothing here needs root.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::{xdg_config_home, DesktopError, Result};

/// The unit's file name.
pub const UNIT_NAME: &str = "patchbay.service";

/// What the user's systemd is doing with the unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Systemd {
    /// A user systemd runs: `enabled` and `active` as `systemctl --user`
    /// reports them.
    Running { enabled: String, active: String },
    /// No user systemd to talk to (why, in words).
    NotRunning { reason: String },
}

/// Where the unit is and what systemd makes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    pub installed: bool,
    pub unit: PathBuf,
    pub systemd: Systemd,
    /// What `systemctl` said when a step failed (enable, start, reload).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// `$XDG_CONFIG_HOME/systemd/user/patchbay.service`.
pub fn unit_path() -> Result<PathBuf> {
    Ok(xdg_config_home()?
        .join("systemd")
        .join("user")
        .join(UNIT_NAME))
}

/// The unit's text: runs `<cli> serve`, restarts it when it fails, and is
/// wanted by the user's default target (started at login, or at boot with
/// lingering on).
pub fn unit_text(cli: &Path) -> String {
    format!(
        "# Written by `patchbay service install`; removed by `patchbay service uninstall`.\n\
         [Unit]\n\
         Description=Patchbay: AI endpoints for your apps (IPC socket and local gateway)\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={} serve\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec_quote(&cli.to_string_lossy())
    )
}

/// A path as one `ExecStart=` word: double-quoted, with `\`, `"` escaped and
/// `%` doubled (systemd's specifier character), so a path with spaces or a
/// `%` runs as is.
fn exec_quote(path: &str) -> String {
    let mut quoted = String::with_capacity(path.len() + 2);
    quoted.push('"');
    for character in path.chars() {
        match character {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '%' => quoted.push_str("%%"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

/// Writes the unit for `cli` (replacing an older one) and, where a user
/// systemd runs, reloads it, enables the unit and (re)starts it.
pub fn install(cli: &Path) -> Result<ServiceStatus> {
    let unit = unit_path()?;
    let dir = unit.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| io("create", dir, source))?;
    let mut temporary =
        tempfile::NamedTempFile::new_in(dir).map_err(|source| io("write to", dir, source))?;
    temporary
        .write_all(unit_text(cli).as_bytes())
        .map_err(|source| io("write", &unit, source))?;
    temporary
        .persist(&unit)
        .map_err(|error| io("write", &unit, error.error))?;
    let mut problems = Vec::new();
    if user_systemd().is_ok() {
        for args in [
            &["daemon-reload"][..],
            &["enable", UNIT_NAME],
            &["restart", UNIT_NAME],
        ] {
            if let Err(problem) = systemctl(args) {
                problems.push(problem);
            }
        }
    }
    let mut status = status()?;
    status.problems = problems;
    Ok(status)
}

/// Stops and disables the unit where a user systemd runs, then removes its
/// file. Not installed is not an error.
pub fn uninstall() -> Result<ServiceStatus> {
    let unit = unit_path()?;
    let mut problems = Vec::new();
    if user_systemd().is_ok() && unit.exists() {
        if let Err(problem) = systemctl(&["disable", "--now", UNIT_NAME]) {
            problems.push(problem);
        }
    }
    match std::fs::remove_file(&unit) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(io("remove", &unit, source)),
    }
    if user_systemd().is_ok() {
        if let Err(problem) = systemctl(&["daemon-reload"]) {
            problems.push(problem);
        }
    }
    let mut status = status()?;
    status.problems = problems;
    Ok(status)
}

/// Whether the unit is installed and what the user's systemd says of it.
pub fn status() -> Result<ServiceStatus> {
    let unit = unit_path()?;
    let systemd = match user_systemd() {
        Ok(()) => Systemd::Running {
            enabled: systemctl_word(&["is-enabled", UNIT_NAME]),
            active: systemctl_word(&["is-active", UNIT_NAME]),
        },
        Err(reason) => Systemd::NotRunning { reason },
    };
    Ok(ServiceStatus {
        installed: unit.is_file(),
        unit,
        systemd,
        problems: Vec::new(),
    })
}

/// `Ok` when a user systemd answers: its private socket exists in
/// `$XDG_RUNTIME_DIR/systemd/` (systemd's own test for "is there a user
/// manager", without starting anything).
fn user_systemd() -> Result<(), String> {
    let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) else {
        return Err("XDG_RUNTIME_DIR is not set (no login session)".to_owned());
    };
    if runtime.join("systemd").join("private").exists() {
        Ok(())
    } else {
        Err(format!(
            "no user systemd is running in this session ({} has no systemd/private socket)",
            runtime.display()
        ))
    }
}

fn systemctl(args: &[&str]) -> Result<(), String> {
    match Command::new("systemctl").arg("--user").args(args).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "systemctl --user {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Err(format!("systemctl --user {}: {error}", args.join(" "))),
    }
}

/// The one word `systemctl --user is-enabled|is-active` prints
/// ("enabled", "active", "inactive", …), or "unknown".
fn systemctl_word(args: &[&str]) -> String {
    Command::new("systemctl")
        .arg("--user")
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|word| !word.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn io(action: &'static str, path: &Path, source: std::io::Error) -> DesktopError {
    DesktopError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_paths_are_quoted_for_systemd() {
        assert_eq!(exec_quote("/usr/bin/patchbay"), "\"/usr/bin/patchbay\"");
        assert_eq!(
            exec_quote("/opt/My Apps/100%/pat\"ch\\bay"),
            "\"/opt/My Apps/100%%/pat\\\"ch\\\\bay\""
        );
    }

    #[test]
    fn the_unit_runs_serve_and_restarts_on_failure() {
        let text = unit_text(Path::new("/usr/bin/patchbay"));
        assert!(
            text.contains("\nExecStart=\"/usr/bin/patchbay\" serve\n"),
            "{text}"
        );
        assert!(text.contains("\nRestart=on-failure\n"), "{text}");
        assert!(text.contains("\nWantedBy=default.target\n"), "{text}");
    }
}
