//! Export and import through the store: the export reads the providers as
//! they are; an import is planned and applied inside one locked
//! read-modify-write of the config file, so what the person confirmed is
//! checked against the file as it is at that moment, and either every
//! planned provider is written or none is. Imports never touch the
//! keychain: no key comes with them.

use serde_json::Map;

use super::{replace_record, taken_ids, ProviderStore};
use crate::config::{self, Loaded};
use crate::error::Result;
use crate::id::ProviderId;
use crate::portable::{self, Candidates, ExportDocument, ImportChoices, ImportPlan};

impl ProviderStore {
    /// The export document of every provider, or of those in `only`.
    pub fn export(&self, only: &[ProviderId]) -> Result<ExportDocument> {
        portable::export(&self.list()?.providers, only)
    }

    /// What importing `candidates` with `choices` would do; writes nothing.
    pub fn preview_import(
        &self,
        candidates: &Candidates,
        choices: &ImportChoices,
    ) -> Result<ImportPlan> {
        let loaded = config::load(&self.paths)?;
        let taken = taken_ids(&loaded.document);
        let providers = Loaded::from_document(loaded.document).providers;
        Ok(portable::plan(candidates, &providers, &taken, choices).0)
    }

    /// Imports `candidates` with `choices`: planned again under the lock
    /// and written in one go. Returns the plan that was applied.
    pub fn apply_import(
        &self,
        candidates: &Candidates,
        choices: &ImportChoices,
    ) -> Result<ImportPlan> {
        config::update(&self.paths, |document| {
            let taken = taken_ids(document);
            let providers = Loaded::from_document(document.clone()).providers;
            let (plan, writes) = portable::plan(candidates, &providers, &taken, choices);
            for write in writes {
                match &write.replaces {
                    Some(_) => replace_record(document, &write.provider)?,
                    None => {
                        let record = config::record_from_provider(&write.provider, Map::new());
                        if let Err(message) = config::provider_from_record(&record) {
                            return Err(crate::error::Error::invalid("provider", message));
                        }
                        document.providers.push(record);
                    }
                }
            }
            Ok(plan)
        })
    }
}
