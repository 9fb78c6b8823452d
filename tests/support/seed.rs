//! Providers saved before the window opens, the way the app saves them (the
//! real store; keys in an in-memory keychain unless the caller passes one).

use std::path::Path;
use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_testkit::Draft;

/// Saves `drafts` into the config directory `dir`, keys in memory.
pub fn seed(dir: &Path, drafts: &[Draft]) {
    seed_with(dir, Arc::new(MemoryStore::default()), drafts);
}

/// Saves `drafts` into `dir` with keys in `secrets`.
pub fn seed_with(dir: &Path, secrets: Arc<dyn SecretStore>, drafts: &[Draft]) {
    let store = ProviderStore::new(ConfigPaths::in_dir(dir), secrets);
    for draft in drafts {
        let draft: ProviderDraft = draft.parse();
        if let Err(error) = store.add(draft) {
            panic!("could not seed a provider: {error}");
        }
    }
}
