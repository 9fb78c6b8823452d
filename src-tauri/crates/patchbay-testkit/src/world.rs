//! A temporary Patchbay world: a config directory, a runtime directory
//! short enough for a Unix socket path, and a keychain service name of its
//! own, so tests running in parallel never see each other's providers,
//! sockets or keys. Everything is removed when it is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
pub struct TempWorld {
    root: TempDir,
    keyring_service: String,
}

impl TempWorld {
    pub fn new() -> std::io::Result<Self> {
        // Short paths: a Unix socket path must fit in 108 bytes.
        #[cfg(unix)]
        let parent = PathBuf::from("/tmp");
        #[cfg(not(unix))]
        let parent = std::env::temp_dir();
        let root = tempfile::Builder::new().prefix("pbw").tempdir_in(parent)?;
        std::fs::create_dir_all(root.path().join("config"))?;
        let unique = COUNTER.fetch_add(1, Ordering::SeqCst);
        let keyring_service = format!("patchbay-test-{}-{unique}", std::process::id());
        Ok(Self {
            root,
            keyring_service,
        })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Where `providers.json` and `hosts.json` live (`PATCHBAY_CONFIG_DIR`).
    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    /// Where the IPC socket lives (`PATCHBAY_RUNTIME_DIR`). Not created:
    /// Patchbay makes it private itself, as on a real first start.
    pub fn runtime_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    /// This world's keychain service name (`PATCHBAY_KEYRING_SERVICE`).
    pub fn keyring_service(&self) -> &str {
        &self.keyring_service
    }

    /// The environment a Patchbay process (the CLI, the app) needs to live
    /// in this world.
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "PATCHBAY_CONFIG_DIR",
                self.config_dir().display().to_string(),
            ),
            (
                "PATCHBAY_RUNTIME_DIR",
                self.runtime_dir().display().to_string(),
            ),
            ("PATCHBAY_KEYRING_SERVICE", self.keyring_service.clone()),
            // A free port each: tests never fight over the default one.
            ("PATCHBAY_GATEWAY_ADDR", "127.0.0.1:0".to_owned()),
        ]
    }
}
