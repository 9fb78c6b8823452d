//! `patchbay autostart on|off|status`, `patchbay service
//! install|uninstall|status`, and `patchbay serve` on a machine whose
//! keychain cannot be read (a headless server). Each run gets its own HOME
//! and XDG_CONFIG_HOME, so nothing lands in the tester's own session.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{canary, require_secret_service, run_command, Run, TestResult, World};

/// A world whose HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR are its own.
fn desktop_world(home: &Path) -> Result<World, std::io::Error> {
    let runtime = home.join("run");
    std::fs::create_dir_all(&runtime)?;
    let text = |path: &Path| path.to_string_lossy().into_owned();
    Ok(World::new()?
        .with_env("HOME", &text(home))
        .with_env("XDG_CONFIG_HOME", &text(&home.join("config")))
        .with_env("XDG_RUNTIME_DIR", &text(&runtime)))
}

#[test]
fn autostart_on_writes_the_xdg_entry_and_off_removes_it() -> TestResult {
    let home = tempfile::tempdir()?;
    let world = desktop_world(home.path())?;
    let entry = home.path().join(".config/autostart/patchbay.desktop");

    let status = world
        .expect(0, &["autostart", "status", "--json"])?
        .json()?;
    assert_eq!(status["enabled"], false, "off by default: {status}");
    assert!(!entry.exists());

    let on = world.expect(0, &["autostart", "on"])?;
    assert!(on.stdout.contains("starts at login"), "{on:#?}");
    let text = std::fs::read_to_string(&entry)?;
    assert!(text.starts_with("[Desktop Entry]"), "{text}");
    let exec = text
        .lines()
        .find_map(|line| line.strip_prefix("Exec="))
        .ok_or("no Exec line")?;
    let app = Path::new(env!("CARGO_BIN_EXE_patchbay")).with_file_name("patchbay-app");
    assert_eq!(exec, format!("{} --background", app.display()), "{text}");
    let status = world
        .expect(0, &["autostart", "status", "--json"])?
        .json()?;
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(
        status["entry"],
        entry.to_string_lossy().as_ref(),
        "{status}"
    );
    // The desktop's own validator accepts the entry where it is installed.
    if let Ok(output) = Command::new("desktop-file-validate").arg(&entry).output() {
        assert!(output.status.success(), "desktop-file-validate: {output:?}");
    }

    let off = world.expect(0, &["autostart", "off"])?;
    assert!(off.stdout.contains("does not start at login"), "{off:#?}");
    assert!(!entry.exists(), "off removes the entry");
    // Off again is not an error.
    world.expect(0, &["autostart", "off"])?;
    Ok(())
}

#[test]
fn service_install_writes_a_valid_user_unit_and_uninstall_removes_it() -> TestResult {
    let home = tempfile::tempdir()?;
    let world = desktop_world(home.path())?;
    let unit = home.path().join("config/systemd/user/patchbay.service");

    let status = world.expect(0, &["service", "status", "--json"])?.json()?;
    assert_eq!(status["installed"], false, "{status}");

    // No user systemd in this private runtime directory: the unit is
    // written, and the report says it is not enabled and how to enable it.
    let install = world.expect(0, &["service", "install"])?;
    assert!(install.stdout.contains("Not enabled"), "{install:#?}");
    assert!(
        install
            .stdout
            .contains("systemctl --user enable --now patchbay.service"),
        "{install:#?}"
    );
    let text = std::fs::read_to_string(&unit)?;
    let cli = env!("CARGO_BIN_EXE_patchbay");
    assert!(
        text.contains(&format!("\nExecStart=\"{cli}\" serve\n")),
        "{text}"
    );
    let status = world.expect(0, &["service", "status", "--json"])?.json()?;
    assert_eq!(status["installed"], true, "{status}");
    assert_eq!(status["systemd"]["state"], "not_running", "{status}");

    // systemd's own checker, where it is installed (scripts/setup.sh installs it).
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
    {
        Ok(output) => {
            let said = String::from_utf8_lossy(&output.stderr);
            let complaints: Vec<&str> = said
                .lines()
                .filter(|line| line.contains("patchbay.service"))
                .collect();
            assert!(
                output.status.success() && complaints.is_empty(),
                "systemd-analyze verify: {output:?}"
            );
        }
        Err(error) => eprintln!("systemd-analyze is not installed ({error}); unit not verified"),
    }

    let uninstall = world.expect(0, &["service", "uninstall"])?;
    assert!(uninstall.stdout.contains("Removed"), "{uninstall:#?}");
    assert!(!unit.exists());
    Ok(())
}

#[test]
fn serve_names_the_keys_it_cannot_read_and_serves_anyway() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let key = canary();
    run_command(
        world.command(&[
            "provider",
            "add",
            "--label",
            "Hosted",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m1",
            "--api-key-stdin",
        ]),
        Some(&format!("{key}\n")),
    )?
    .expect_code(0);

    // No session bus: the keychain cannot be reached, as on a server
    // reached over SSH.
    let mut command = world.command(&["serve", "--no-gateway"]);
    command
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/patchbay-test-bus",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !world.socket().exists() {
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let served = world.socket().exists();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let run = Run::from(child.wait_with_output()?);
    assert!(served, "serve starts without a keychain: {run:#?}");
    assert!(
        run.stderr.contains("cannot read 1 key") && run.stderr.contains("hosted (Hosted)"),
        "names the provider whose key it cannot read: {run:#?}"
    );
    assert!(
        run.stderr.contains("Serving without a desktop"),
        "points at the docs: {run:#?}"
    );
    assert!(!run.stderr.contains(&key) && !run.stdout.contains(&key));
    Ok(())
}
