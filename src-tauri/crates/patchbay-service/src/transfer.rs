//! Export and import (see `patchbay_core::portable`): the window's Export
//! and Import dialogs and `patchbay export` / `patchbay import` call these.
//! Blocking (the config file); callers on an async runtime use the
//! blocking pool.

use std::path::Path;

use patchbay_core::portable::{self, Candidates, ExportDocument, ImportChoices, ImportPlan};
use patchbay_core::ProviderId;

use crate::{Result, Service};

impl Service {
    /// The export document of every provider (or of those in `only`).
    pub fn export(&self, only: &[ProviderId]) -> Result<ExportDocument> {
        Ok(self.store().export(only)?)
    }

    /// Writes the export of `only` (every provider when empty) to `path`,
    /// atomically (a temp file beside it, then a rename).
    pub fn export_to(&self, only: &[ProviderId], path: &Path) -> Result<ExportDocument> {
        let document = self.export(only)?;
        let mut bytes = serde_json::to_vec_pretty(&document).map_err(|error| {
            patchbay_core::Error::invalid("output", format!("Could not write the export: {error}"))
        })?;
        bytes.push(b'\n');
        patchbay_core::config::write_atomic(path, &bytes).map_err(|source| {
            patchbay_core::Error::ConfigIo {
                action: "write",
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(document)
    }

    /// Reads a file to import (a Patchbay export, Zed's settings or
    /// Continue's config.yaml).
    pub fn read_import(&self, bytes: &[u8]) -> Result<Candidates> {
        Ok(portable::read_import(bytes)?)
    }

    /// What importing would do; writes nothing.
    pub fn preview_import(
        &self,
        candidates: &Candidates,
        choices: &ImportChoices,
    ) -> Result<ImportPlan> {
        Ok(self.store().preview_import(candidates, choices)?)
    }

    /// Imports, all or nothing; returns what was done.
    pub fn apply_import(
        &self,
        candidates: &Candidates,
        choices: &ImportChoices,
    ) -> Result<ImportPlan> {
        Ok(self.store().apply_import(candidates, choices)?)
    }
}
