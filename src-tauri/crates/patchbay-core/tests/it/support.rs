//! Shared helpers: temp config dirs, drafts, child processes.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use patchbay_core::config::ConfigPaths;
use patchbay_core::validation::ProviderDraft;
use patchbay_testkit::Draft;
use serde_json::Value;
use tempfile::TempDir;

pub(crate) fn temp_paths() -> (TempDir, ConfigPaths) {
    let dir = tempfile::tempdir().expect("temp dir");
    let paths = ConfigPaths::in_dir(dir.path().join("patchbay"));
    (dir, paths)
}

pub(crate) fn draft(value: Value) -> ProviderDraft {
    serde_json::from_value(value).expect("draft json")
}

/// A provider with an API key on a remote https URL.
pub(crate) fn key_draft(label: &str, key: &str) -> ProviderDraft {
    Draft::new(label)
        .key(key)
        .models(&["gpt-4o-mini", "google/gemini-2.5-flash"])
        .parse()
}

/// A local provider without authentication.
pub(crate) fn local_draft(label: &str) -> ProviderDraft {
    Draft::new(label)
        .local("http://127.0.0.1:11434/v1")
        .models(&["qwen2.5:7b"])
        .parse()
}

/// Unique per call within a run and across runs.
pub(crate) fn unique(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A random-ish number without a rand dependency.
pub(crate) fn jitter(modulo: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(7);
    u64::from(nanos.wrapping_mul(2_654_435_761)) % modulo.max(1)
}

/// This test binary, re-run to execute exactly `test` in a child process.
/// The test recognises its child role by an environment variable the
/// caller sets.
pub(crate) fn child(test: &str) -> Command {
    let exe = std::env::current_exe().expect("current exe");
    let mut command = Command::new(exe);
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    command
}

pub(crate) fn file_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `true` when any 8-byte window of `secret` occurs in `haystack`.
pub(crate) fn contains_any_part(haystack: &str, secret: &str) -> bool {
    secret.len() >= 8
        && secret.as_bytes().windows(8).any(|window| {
            haystack
                .as_bytes()
                .windows(8)
                .any(|candidate| candidate == window)
        })
}
