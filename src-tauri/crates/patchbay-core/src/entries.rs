//! Model-picker entries of validated providers. The derivation itself lives
//! in [`patchbay_protocol::entries`] (host apps reading the file directly use
//! the same code); this converts providers to their stored form and calls it.

use serde_json::Map;

use patchbay_protocol::config::ProviderRecord;
pub use patchbay_protocol::entries::{split_entry_id, EntryLastTest, EntryProvider, PickerEntry};

use crate::config::record_from_provider;
use crate::model::Provider;

/// One entry per enabled provider × model, in order; each provider's first
/// model is its default. Contains no secret.
pub fn picker_entries(providers: &[Provider]) -> Vec<PickerEntry> {
    let records: Vec<ProviderRecord> = providers
        .iter()
        .map(|provider| record_from_provider(provider, Map::new()))
        .collect();
    patchbay_protocol::entries::entries_from_records(&records)
}
