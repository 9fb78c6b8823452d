//! Changes `providers.json` from a separate process through
//! `ProviderStore`, the way the CLI does. The integration tests use it as
//! "another process changing the config while clients are connected".
//!
//! ```text
//! config_writer <config-dir> add <label> <base-url> <model>...   (no-auth, local)
//! config_writer <config-dir> enable|disable <provider-id>
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_core::ProviderId;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match run(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("config_writer: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(arguments: &[String]) -> Result<(), String> {
    let [directory, command, rest @ ..] = arguments else {
        return Err("usage: config_writer <config-dir> add|enable|disable …".to_owned());
    };
    let store = ProviderStore::new(ConfigPaths::in_dir(PathBuf::from(directory)), Arc::new(MemoryStore::new()));
    match (command.as_str(), rest) {
        ("add", [label, base_url, models @ ..]) if !models.is_empty() => {
            let draft: ProviderDraft = serde_json::from_value(serde_json::json!({
                "label": label, "base_url": base_url, "auth": "none", "network": "local", "models": models,
            }))
            .map_err(|error| error.to_string())?;
            let saved = store.add(draft).map_err(|error| error.to_string())?;
            println!("{}", saved.provider.id);
            Ok(())
        }
        ("enable" | "disable", [id]) => {
            let id = ProviderId::parse(id).map_err(|error| error.to_string())?;
            store.set_enabled(&id, command == "enable").map_err(|error| error.to_string())?;
            Ok(())
        }
        _ => Err(format!("unknown command `{command}` or wrong arguments")),
    }
}
