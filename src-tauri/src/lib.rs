//! Patchbay's settings window: the Tauri shell around `patchbay-core`.
//! `run()` builds the real app; `builder()` wires plugins, state and commands
//! so tests can pass `tauri::test::mock_builder()` and exercise the very same
//! IPC surface without a display.

mod background;
mod commands;
mod error;
mod hosts;
mod state;
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
pub use crate::state::Providers;
pub use crate::watch::PROVIDERS_CHANGED;

/// Starts the app with the user's config directory and the OS keychain.
pub fn run() {
    init_tracing();
    let paths = match ConfigPaths::from_env() {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("Patchbay could not start: {error}");
            std::process::exit(1);
        }
    };
    let secrets: Arc<dyn SecretStore> = Arc::new(KeyringStore::new());
    let providers = Providers::new(ProviderStore::new(paths, secrets));
    if let Err(error) = builder(tauri::Builder::default(), providers).run(context()) {
        tracing::error!(%error, "Patchbay could not start");
        eprintln!("Patchbay could not start: {error}");
        std::process::exit(1);
    }
}

/// Everything but the runtime and the context: plugins, managed state, the
/// config watcher and the commands.
pub fn builder<R: Runtime>(builder: Builder<R>, providers: Providers) -> Builder<R> {
    builder
        .plugin(tauri_plugin_store::Builder::new().build())
        .manage(providers)
        .manage(state::StartupNotice::default())
        .manage(state::ConfigWatch::default())
        .setup(|app| {
            ui_state::restore_window_size(app);
            ui_state::restore_theme(app);
            watch::start(app)?;
            hosts::start(app);
            Ok(())
        })
        .on_window_event(ui_state::on_window_event)
        .invoke_handler(tauri::generate_handler![
            ui_state::get_ui_setting,
            ui_state::set_ui_setting,
            commands::list_providers,
            commands::get_provider,
            commands::add_provider,
            commands::edit_provider,
            commands::set_provider_enabled,
            commands::remove_provider_key,
            commands::move_provider_key,
            commands::check_provider_draft,
            commands::delete_provider,
            commands::list_presets,
            commands::preview_base_url,
            commands::test_connection,
            commands::cancel_test,
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
            hosts::resolve_log,
            commands::refresh_models,
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
