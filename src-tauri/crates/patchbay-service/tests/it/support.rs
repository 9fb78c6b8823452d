//! A temporary world for one test: a config directory, a keychain service
//! name of its own in the real Secret Service, and the service over both.

use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::KeyringStore;
use patchbay_core::model::Auth;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::{HeaderDraft, KeyChange, ProviderDraft};
use patchbay_core::{ApiKey, ProviderId};
use patchbay_service::Service;
use patchbay_testkit::Draft;

pub(crate) struct World {
    _root: tempfile::TempDir,
    pub(crate) service: Arc<Service>,
}

impl World {
    pub(crate) fn new(test: &str) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let paths = ConfigPaths::in_dir(root.path().join("config"));
        let secrets = Arc::new(KeyringStore::with_service(format!(
            "patchbay-test-service-{test}-{}",
            std::process::id()
        )));
        let store = Arc::new(ProviderStore::new(paths, secrets));
        Self {
            _root: root,
            service: Arc::new(Service::new(store)),
        }
    }

    /// Saves `draft` and returns its id.
    pub(crate) fn save(&self, draft: ProviderDraft) -> ProviderId {
        self.service
            .add_provider(draft)
            .expect("the draft saves")
            .provider
            .id
    }
}

/// A draft for a local server at `base_url`, without authentication.
pub(crate) fn local_draft(label: &str, base_url: &str) -> ProviderDraft {
    Draft::new(label).local(base_url).models(&["m1"]).parse()
}

/// `draft` with an API key set.
pub(crate) fn with_key(mut draft: ProviderDraft, key: &str) -> ProviderDraft {
    draft.auth = Auth::ApiKey;
    draft.key = KeyChange::Set {
        value: ApiKey::new(key),
    };
    draft
}

/// `draft` with a header (secret: kept in the keychain).
pub(crate) fn with_header(
    mut draft: ProviderDraft,
    name: &str,
    value: Option<&str>,
    secret: bool,
) -> ProviderDraft {
    draft.headers.push(HeaderDraft {
        name: name.to_owned(),
        value: value.map(ApiKey::new),
        secret,
    });
    draft
}

pub(crate) fn quiet(_: &patchbay_net::StageReport) {}
