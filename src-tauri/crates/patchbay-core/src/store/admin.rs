//! The admin secret: the proof Patchbay's own window and CLI give the IPC
//! server for the admin methods (see [`ProviderStore::admin_secret`]).

use super::ProviderStore;
use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

impl ProviderStore {
    /// The admin secret: what Patchbay's own window and CLI present to the
    /// IPC server for the admin methods (approve, deny, revoke), so a
    /// process that cannot read Patchbay's keychain items cannot decide for
    /// the person. A keychain item (account `#admin`, which no provider id
    /// can be), created on first use; where no keychain runs or it is
    /// locked (a headless `patchbay serve`), a file only the user can read,
    /// `admin-secret` (mode 0600) beside `providers.json`, which is used
    /// from then on while it exists.
    pub fn admin_secret(&self) -> Result<ApiKey> {
        const ACCOUNT: &str = "#admin";
        // Once the file exists (the keychain was locked or absent when a
        // server started), it stays the one secret, so a CLI run after the
        // keychain is unlocked still proves itself to that server.
        if let Some(secret) = self.existing_admin_secret_file()? {
            return Ok(secret);
        }
        match self.secrets.get(ACCOUNT) {
            Ok(Some(secret)) => return Ok(secret),
            Ok(None) => {
                let fresh = random_secret()?;
                match self.secrets.set(ACCOUNT, &fresh) {
                    Ok(()) => return Ok(fresh),
                    Err(error) if !falls_back(error.kind()) => return Err(error),
                    Err(_unavailable) => {}
                }
            }
            Err(error) if !falls_back(error.kind()) => return Err(error),
            Err(_unavailable) => {}
        }
        self.admin_secret_file()
    }

    fn existing_admin_secret_file(&self) -> Result<Option<ApiKey>> {
        let path = self.paths.dir.join("admin-secret");
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => Ok(Some(ApiKey::new(text.trim()))),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::ConfigIo {
                action: "read",
                path,
                source,
            }),
        }
    }

    fn admin_secret_file(&self) -> Result<ApiKey> {
        let path = self.paths.dir.join("admin-secret");
        let io = |action: &'static str, source: std::io::Error| Error::ConfigIo {
            action,
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => return Ok(ApiKey::new(text.trim())),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io("read", error)),
        }
        std::fs::create_dir_all(&self.paths.dir).map_err(|error| io("create", error))?;
        let fresh = random_secret()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, fresh.expose().as_bytes())
                    .map_err(|error| io("write", error))?;
                Ok(fresh)
            }
            // Another process created it first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).map_err(|error| io("read", error))?;
                Ok(ApiKey::new(text.trim()))
            }
            Err(error) => Err(io("create", error)),
        }
    }
}

/// 256 random bits, hex.
fn random_secret() -> Result<ApiKey> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| Error::Keychain {
        detail: format!("no randomness for the admin secret ({error})"),
    })?;
    Ok(ApiKey::new(hex::encode(bytes)))
}

/// A keychain that is absent or locked (a headless server, a session that
/// never unlocked it) sends the admin secret to the file; any other
/// keychain error is reported.
fn falls_back(kind: Kind) -> bool {
    matches!(kind, Kind::KeychainUnavailable | Kind::KeychainLocked)
}
