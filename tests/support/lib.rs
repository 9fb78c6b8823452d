//! Helpers shared by Patchbay's cross-crate test binaries: a small W3C
//! WebDriver client, the running app under tauri-driver with a private
//! config directory, providers seeded before it opens, and polling with a
//! deadline. Tests talk only to
//! loopback.

pub mod app;
pub mod seed;
pub mod wait;
pub mod webdriver;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Where cargo puts binaries for this workspace (`CARGO_TARGET_DIR` honoured).
pub fn target_debug_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("debug"),
        None => workspace_root().join("target").join("debug"),
    }
}

/// With `PATCHBAY_SCREENSHOT_DIR` set, captures the X screen as `name` there
/// (after the page settles): the pictures a person checks, and the docs'.
pub fn screenshot(name: &str) {
    let Some(dir) = std::env::var_os("PATCHBAY_SCREENSHOT_DIR") else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(600));
    let path = std::path::PathBuf::from(dir).join(name);
    let status = std::process::Command::new("/usr/bin/import")
        .args(["-window", "root"])
        .arg(&path)
        .status();
    assert!(
        matches!(status, Ok(status) if status.success()),
        "import failed for {}: {status:?}",
        path.display()
    );
}
