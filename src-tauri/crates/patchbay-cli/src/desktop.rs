//! `patchbay autostart on|off|status` and `patchbay service
//! install|uninstall|status`: thin faces over `patchbay-desktop`, the same
//! code the window's "Start Patchbay at login" switch calls.

use std::process::ExitCode;

use patchbay_desktop::autostart::{Autostart, AutostartStatus};
use patchbay_desktop::service::{self, ServiceStatus, Systemd};

use crate::cli::{AutostartAction, ServiceCommand};
use crate::error::CliError;
use crate::output::{self, Output};

pub(crate) fn autostart(action: AutostartAction, output: Output) -> Result<ExitCode, CliError> {
    let cli = patchbay_desktop::current_exe()?;
    let app = patchbay_desktop::app_beside(&cli)?;
    let autostart = Autostart::for_app(&app)?;
    let status = match action {
        AutostartAction::On => autostart.enable()?,
        AutostartAction::Off => autostart.disable()?,
        AutostartAction::Status => autostart.status()?,
    };
    if output.is_json() {
        output.json(&status)?;
    } else {
        output.text(&autostart_text(&status))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn autostart_text(status: &AutostartStatus) -> String {
    let headline = if status.enabled {
        "Patchbay starts at login, in the background (tray, IPC socket and gateway; no window)."
    } else {
        "Patchbay does not start at login. Turn it on with `patchbay autostart on`."
    };
    let mut pairs = vec![("app", status.app.display().to_string())];
    if let Some(entry) = &status.entry {
        pairs.push(("entry", entry.display().to_string()));
    }
    format!("{headline}\n{}", output::fields(&pairs))
}

pub(crate) fn service(command: ServiceCommand, output: Output) -> Result<ExitCode, CliError> {
    let status = match command {
        ServiceCommand::Install => service::install(&patchbay_desktop::current_exe()?)?,
        ServiceCommand::Uninstall => service::uninstall()?,
        ServiceCommand::Status => service::status()?,
    };
    if output.is_json() {
        output.json(&status)?;
    } else {
        output.text(&service_text(command, &status))?;
    }
    for problem in &status.problems {
        output.notice(&output::clean(&format!("warning: {problem}")));
    }
    Ok(if status.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn service_text(command: ServiceCommand, status: &ServiceStatus) -> String {
    let unit = status.unit.display();
    let mut text = match (command, status.installed) {
        (ServiceCommand::Install, _) => format!("Wrote {unit}."),
        (ServiceCommand::Uninstall, false) => format!("Removed {unit} (or it was not there)."),
        (ServiceCommand::Uninstall, true) => format!("{unit} is still there."),
        (ServiceCommand::Status, true) => format!("Installed: {unit}."),
        (ServiceCommand::Status, false) => {
            format!("Not installed ({unit} does not exist). Install it with `patchbay service install`.")
        }
    };
    text.push('\n');
    match &status.systemd {
        Systemd::Running { enabled, active } => {
            text.push_str(&format!("systemd --user: {enabled}, {active}.\n"));
            if status.installed && command == ServiceCommand::Install {
                text.push_str(
                    "It starts with your user session. To keep it running after you log out (a server), run `loginctl enable-linger`.\n",
                );
            }
        }
        Systemd::NotRunning { reason } => {
            text.push_str(&format!("Not enabled: {reason}.\n"));
            if status.installed {
                text.push_str(&format!(
                    "Where a user systemd runs, enable it with `systemctl --user enable --now {}`; or run `patchbay serve` yourself.\n",
                    service::UNIT_NAME
                ));
            }
        }
    }
    text
}
