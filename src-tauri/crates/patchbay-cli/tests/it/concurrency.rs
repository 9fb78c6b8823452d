//! Issue 2's concurrency requirement: the app-side API (`ProviderStore` in
//! this process, on threads) and the CLI (child processes) add providers at
//! the same moment, and every one of them is in the file afterwards.

use std::sync::{Arc, Barrier};
use std::thread;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_testkit::Draft;

use crate::support::{run_command, TestResult, World};

const APP_WRITERS: usize = 6;
const CLI_WRITERS: usize = 6;

fn draft(label: &str) -> ProviderDraft {
    Draft::new(label)
        .local("http://127.0.0.1:11434/v1")
        .models(&["llama3.2"])
        .parse()
}

#[test]
fn app_api_and_cli_adding_at_once_lose_nothing() -> TestResult {
    let world = World::new()?;
    let barrier = Arc::new(Barrier::new(APP_WRITERS + CLI_WRITERS));
    let mut handles = Vec::new();
    for index in 0..APP_WRITERS {
        let barrier = Arc::clone(&barrier);
        let dir = world.config_dir().to_path_buf();
        handles.push(thread::spawn(move || -> Result<(), String> {
            let store =
                ProviderStore::new(ConfigPaths::in_dir(dir), Arc::new(MemoryStore::default()));
            barrier.wait();
            store
                .add(draft(&format!("App {index}")))
                .map(|_| ())
                .map_err(|error| error.to_string())
        }));
    }
    for index in 0..CLI_WRITERS {
        let barrier = Arc::clone(&barrier);
        let label = format!("Cli {index}");
        let command = world.command(&[
            "provider",
            "add",
            "--label",
            &label,
            "--base-url",
            "http://127.0.0.1:11434/v1",
            "--model",
            "llama3.2",
            "--no-auth",
            "--allow-local",
        ]);
        handles.push(thread::spawn(move || -> Result<(), String> {
            barrier.wait();
            let run = run_command(command, None).map_err(|error| error.to_string())?;
            if run.code == Some(0) {
                Ok(())
            } else {
                Err(format!("{run:#?}"))
            }
        }));
    }
    for handle in handles {
        match handle.join() {
            Ok(result) => result?,
            Err(_) => return Err("a writer thread panicked".into()),
        }
    }

    let list = world.run(&["provider", "list", "--json"], None)?;
    list.expect_code(0);
    let json = list.json()?;
    let mut labels: Vec<String> = json["providers"]
        .as_array()
        .ok_or("providers is not an array")?
        .iter()
        .filter_map(|provider| provider["label"].as_str().map(str::to_owned))
        .collect();
    labels.sort();
    let mut expected: Vec<String> = (0..APP_WRITERS)
        .map(|index| format!("App {index}"))
        .chain((0..CLI_WRITERS).map(|index| format!("Cli {index}")))
        .collect();
    expected.sort();
    assert_eq!(labels, expected, "a concurrent write was lost");
    assert_eq!(json["problems"], serde_json::json!([]));
    Ok(())
}
