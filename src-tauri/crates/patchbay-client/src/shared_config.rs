//! The fallback when no server is running: read the shared config file
//! `providers.json` directly and derive the picker entries from it, exactly
//! as the server does. Read-only: only Patchbay writes the file.

use std::io;
use std::path::{Path, PathBuf};

use patchbay_protocol::config::{read_document, ReadError, CONFIG_VERSION};
use patchbay_protocol::entries::{entries_from_records, PickerEntry};

use crate::error::ClientError;

/// What the shared config file holds, as a host sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedConfig {
    /// The file that was read.
    pub path: PathBuf,
    /// `false` when the file does not exist yet (no provider added): the
    /// entries are then empty.
    pub exists: bool,
    /// The picker entries of the enabled providers.
    pub entries: Vec<PickerEntry>,
    /// Provider records that could not be read (hand-edit mistakes); their
    /// entries are missing from `entries`.
    pub unreadable_providers: usize,
}

/// Reads `providers.json` from [`patchbay_protocol::paths::config_file`]
/// (`PATCHBAY_CONFIG_DIR` overrides the directory).
pub fn read_shared_config() -> Result<SharedConfig, ClientError> {
    let path = patchbay_protocol::paths::config_file().ok_or(ClientError::NoEndpoint {
        what: "config file",
    })?;
    read_shared_config_from(&path)
}

/// Reads a `providers.json` at `path`. A missing file is an empty config; a
/// newer schema version is [`ClientError::UnsupportedVersion`].
pub fn read_shared_config_from(path: &Path) -> Result<SharedConfig, ClientError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(SharedConfig {
                path: path.to_owned(),
                exists: false,
                entries: Vec::new(),
                unreadable_providers: 0,
            })
        }
        Err(error) => return Err(ClientError::io(format!("read {}", path.display()), error)),
    };
    let document = read_document(&bytes).map_err(|error| match error {
        ReadError::NewerVersion { found } => ClientError::UnsupportedVersion {
            what: "config file",
            found,
            supported: CONFIG_VERSION,
        },
        other => ClientError::ConfigInvalid {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    })?;
    Ok(SharedConfig {
        path: path.to_owned(),
        exists: true,
        entries: entries_from_records(&document.providers),
        unreadable_providers: document.rejected.len(),
    })
}
