//! Declares every app command so the capability file decides which window may
//! call which command; without the manifest every command is open to every
//! window.

/// Kept in step with `src/commands.rs` and `capabilities/settings.json`.
const COMMANDS: &[&str] = &[
    "list_providers",
    "get_provider",
    "add_provider",
    "edit_provider",
    "set_provider_enabled",
    "move_provider",
    "change_model",
    "remove_provider_key",
    "move_provider_key",
    "check_provider_draft",
    "delete_provider",
    "list_presets",
    "preview_base_url",
    "test_connection",
    "cancel_test",
    "try_prompt",
    "cancel_call",
    "capability_plan",
    "check_capabilities",
    "export_providers",
    "preview_import",
    "apply_import",
    "trust_certificate",
    "discover_models",
    "discover_models_at",
    "hosts_status",
    "list_paired_hosts",
    "pending_pairings",
    "approve_pairing",
    "deny_pairing",
    "revoke_host",
    "set_gateway_enabled",
    "issue_host_token",
    "gateway_activity",
    "set_raw_keys",
    "set_host_entries",
    "resolve_log",
    "what_apps_see",
    "refresh_models",
    "get_ui_setting",
    "set_ui_setting",
    "background_status",
    "set_keep_serving",
    "set_autostart",
    "finish_close",
    "quit_app",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    let attributes = tauri_build::Attributes::new().app_manifest(manifest);
    if let Err(error) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri build failed: {error:#}");
        std::process::exit(1);
    }
}
