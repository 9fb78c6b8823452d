//! Patchbay's settings window: the Tauri shell around `patchbay-core`.
//! `run()` builds the real app; `builder()` wires plugins, state and commands
//! so tests can pass `tauri::test::mock_builder()` and exercise the very same
//! IPC surface without a display.

mod background;
mod commands;
mod error;
mod hosts;
mod lifecycle;
mod state;
mod tray;
#[cfg(target_os = "linux")]
mod tray_support;
mod ui_state;
mod views;
mod watch;

use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{KeyringStore, SecretStore};
use patchbay_core::store::ProviderStore;
use tauri::{Builder, Runtime};

pub use crate::error::AppError;
pub use crate::hosts::{IpcEndpoint, HOSTS_CHANGED, PAIRING_REQUESTED};
pub use crate::lifecycle::{Launch, CLOSE_REQUESTED};
pub use crate::state::Providers;
pub use crate::watch::PROVIDERS_CHANGED;

/// What `patchbay-app` accepts on its command line.
const USAGE: &str = "Usage: patchbay-app [--background | --quit | --version]\n\
  --background  serve host apps without opening the window (start at login)\n\
  --quit        stop the running Patchbay (IPC socket and gateway) and exit\n\
  --version     print the version";

/// How this launch was asked to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Open the window (or show the running one's).
    Show,
    /// Serve without a window (start at login).
    Background,
    /// Stop the running Patchbay.
    Quit,
    /// Started by the background server to take serving back (internal).
    TakeOver,
    /// Started by the background server while a request waits (internal).
    Follow,
}

/// Starts the app with the user's config directory and the OS keychain;
/// when Patchbay already runs for this user, hands it the request (show the
/// window, or quit) and exits.
pub fn run() {
    init_tracing();
    let mut mode = Mode::Show;
    for argument in std::env::args().skip(1) {
        mode = match argument.as_str() {
            "--background" => Mode::Background,
            "--quit" => Mode::Quit,
            "--take-over" => Mode::TakeOver,
            "--follow" => Mode::Follow,
            "--version" | "-V" => {
                println!("Patchbay {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("patchbay-app: unknown argument `{other}`\n{USAGE}");
                std::process::exit(2);
            }
        };
    }
    let paths = match ConfigPaths::from_env() {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("Patchbay could not start: {error}");
            std::process::exit(1);
        }
    };
    let Some(instance) = claim_instance(mode) else {
        return;
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore::new());
    let providers = Providers::new(ProviderStore::new(paths, secrets));
    let launch = Launch {
        background: mode == Mode::Background,
        tray: mode != Mode::Follow,
        instance,
        follower: mode == Mode::Follow,
    };
    let app = match builder_with(tauri::Builder::default(), providers, launch).build(context()) {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "Patchbay could not start");
            eprintln!("Patchbay could not start: {error}");
            std::process::exit(1);
        }
    };
    app.run(lifecycle::on_run_event);
}

/// Claims this user's one app instance. `None`: this process has nothing
/// more to do (another Patchbay runs and was told what this launch asked
/// for; `--quit` found none; a login start handed over to the background
/// server). `Some(None)`: run without the instance endpoint (a follower
/// window, or no runtime directory).
fn claim_instance(mode: Mode) -> Option<Option<patchbay_ipc::instance::Instance>> {
    use patchbay_ipc::instance::{self, Activation};
    use tauri::async_runtime::block_on;

    if mode == Mode::Follow {
        return Some(None);
    }
    let endpoint = match patchbay_ipc::default_endpoint() {
        Ok(ipc) => instance::instance_endpoint(&ipc),
        Err(error) => {
            tracing::warn!(%error, "no runtime directory: a second launch cannot find this one");
            return Some(None);
        }
    };
    match mode {
        Mode::Quit => {
            match block_on(instance::tell(&endpoint, Activation::Quit)) {
                Ok(()) => println!("Patchbay is quitting."),
                Err(_) => println!("Patchbay is not running."),
            }
            None
        }
        Mode::TakeOver => {
            match block_on(instance::claim_when_free(
                &endpoint,
                std::time::Duration::from_secs(30),
            )) {
                Ok(Some(claimed)) => Some(Some(claimed)),
                Ok(None) => {
                    tracing::warn!("the background server did not let go within 30 s");
                    None
                }
                Err(error) => {
                    tracing::warn!(%error, "could not take over; starting anyway");
                    Some(None)
                }
            }
        }
        Mode::Background => {
            // Already running: nothing to do. Otherwise the background
            // server (no WebKit) serves; this process is not needed.
            if block_on(instance::tell(&endpoint, Activation::Background)).is_ok() {
                return None;
            }
            match lifecycle::spawn_resident(false) {
                Ok(()) => None,
                Err(error) => {
                    tracing::warn!(%error, "serving from the app itself");
                    claim_first(&endpoint, Activation::Background)
                }
            }
        }
        Mode::Show | Mode::Follow => claim_first(&endpoint, Activation::Show),
    }
}

fn claim_first(
    endpoint: &std::path::Path,
    activation: patchbay_ipc::instance::Activation,
) -> Option<Option<patchbay_ipc::instance::Instance>> {
    use patchbay_ipc::instance::{self, Claim};
    match tauri::async_runtime::block_on(instance::claim(endpoint, activation)) {
        Ok(Claim::First(instance)) => Some(Some(instance)),
        Ok(Claim::Running) => {
            tracing::info!("Patchbay already runs; it was asked to show its window");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "could not claim the single-instance endpoint; starting anyway");
            Some(None)
        }
    }
}

/// Everything but the runtime and the context: plugins, managed state, the
/// config watcher and the commands.
pub fn builder<R: Runtime>(builder: Builder<R>, providers: Providers) -> Builder<R> {
    builder_with(builder, providers, Launch::default())
}

/// [`builder`] for a launch: in the background or not, with the tray or
/// not (never on the mock runtime), serving the claimed instance endpoint.
pub fn builder_with<R: Runtime>(
    builder: Builder<R>,
    providers: Providers,
    launch: Launch,
) -> Builder<R> {
    let tray = launch.tray;
    builder
        .plugin(tauri_plugin_store::Builder::new().build())
        .manage(providers)
        .manage(state::StartupNotice::default())
        .manage(state::RunningCalls::default())
        .manage(state::ConfigWatch::default())
        .setup(move |app| {
            watch::start(app)?;
            lifecycle::start(app, launch)?;
            if tray {
                tray::start(app);
            }
            hosts::start(app);
            lifecycle::quit_on_sigterm(app.handle());
            Ok(())
        })
        .on_window_event(lifecycle::on_window_event)
        .invoke_handler(tauri::generate_handler![
            ui_state::get_ui_setting,
            ui_state::set_ui_setting,
            commands::list_providers,
            commands::get_provider,
            commands::add_provider,
            commands::edit_provider,
            commands::set_provider_enabled,
            commands::move_provider,
            commands::change_model,
            commands::remove_provider_key,
            commands::move_provider_key,
            commands::check_provider_draft,
            commands::delete_provider,
            commands::list_presets,
            commands::preview_base_url,
            commands::test_connection,
            commands::cancel_test,
            commands::try_prompt,
            commands::cancel_call,
            commands::capability_plan,
            commands::check_capabilities,
            commands::export_providers,
            commands::preview_import,
            commands::apply_import,
            commands::trust_certificate,
            commands::discover_models,
            commands::discover_models_at,
            hosts::hosts_status,
            hosts::list_paired_hosts,
            hosts::pending_pairings,
            hosts::approve_pairing,
            hosts::deny_pairing,
            hosts::revoke_host,
            hosts::set_gateway_enabled,
            hosts::issue_host_token,
            hosts::gateway_activity,
            hosts::set_raw_keys,
            hosts::set_host_entries,
            hosts::resolve_log,
            hosts::what_apps_see,
            commands::refresh_models,
            lifecycle::background_status,
            lifecycle::set_keep_serving,
            lifecycle::set_autostart,
            lifecycle::finish_close,
            lifecycle::quit_app,
        ])
}

/// The context compiled from `tauri.conf.json` and the capability files, for
/// tests that build the app on the mock runtime with the real ACL.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PATCHBAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    if let Err(error) = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
    {
        eprintln!("logging is off: {error}");
    }
}
