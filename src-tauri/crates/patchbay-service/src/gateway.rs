//! What Patchbay's local gateway needs from the use cases: the target of
//! one entry (its provider's base URL, key and headers, read like a test
//! reads them: the key only for the origin it was given for) and the one
//! HTTP client and resolver every request to a provider goes through.

use std::sync::Arc;

use patchbay_core::model::Auth;
use patchbay_core::ProviderId;
use patchbay_net::policy::Lookup;
use patchbay_net::{HttpClient, Target};

use crate::hosts::{find_entry, HostsError};
use crate::targets;
use crate::{Result, Service};

/// One entry, ready to send to: the provider's target and the raw upstream
/// model id.
#[derive(Debug)]
pub struct EntryTarget {
    pub target: Target,
    pub model_id: String,
}

impl Service {
    /// The target of the enabled entry `entry_id`
    /// (`<provider_id>/<model_id>`). Blocking work runs on the blocking
    /// pool. [`HostsError::EntryNotFound`] for an unknown or disabled entry;
    /// the key's errors (missing, withheld, keychain locked) as the store
    /// reports them.
    pub async fn entry_target(
        &self,
        entry_id: &str,
    ) -> std::result::Result<EntryTarget, HostsError> {
        let store = self.store().clone();
        let entry_id = entry_id.to_owned();
        tokio::task::spawn_blocking(move || {
            let (provider, model_id) = find_entry(&store, &entry_id)?;
            if provider.auth == Auth::ApiKey && provider.key_hint.is_none() {
                return Err(HostsError::KeyMissing {
                    provider_id: provider.id.to_string(),
                });
            }
            Ok(EntryTarget {
                target: targets::target_of(&store, &provider)?,
                model_id,
            })
        })
        .await
        .map_err(|error| HostsError::Internal {
            detail: format!("a worker task failed: {error}"),
        })?
    }

    /// A model of a saved provider as the person tries it ("Try a prompt",
    /// `patchbay chat`): like [`Service::entry_target`], but for any model
    /// id of any saved provider, enabled or not, hidden or not — the person
    /// tries their own setup here; host apps never reach this. The key is
    /// read like a test reads it (only for the origin it was given for).
    pub async fn model_target(&self, id: &ProviderId, model_id: &str) -> Result<EntryTarget> {
        patchbay_core::validation::validate_model_id(model_id)
            .map_err(|problem| patchbay_core::Error::Invalid(vec![problem]))?;
        let store = self.store().clone();
        let (id, model_id) = (id.clone(), model_id.to_owned());
        crate::blocking(move || {
            let provider = store.get(&id)?;
            if provider.auth == Auth::ApiKey && provider.key_hint.is_none() {
                return Err(patchbay_core::Error::invalid(
                    "key",
                    format!(
                        "{} has no API key stored. Add one (Add key… in the window, or `patchbay provider set-key {} --api-key-stdin`), then try again.",
                        provider.label, provider.id
                    ),
                ));
            }
            Ok(EntryTarget {
                target: targets::target_of(&store, &provider)?,
                model_id,
            })
        })
        .await
    }

    /// The HTTP client and the resolver requests to providers go through.
    pub fn network_parts(&self) -> Result<(Arc<HttpClient>, Arc<dyn Lookup>)> {
        Ok((Arc::clone(self.http()?), Arc::clone(&self.lookup)))
    }
}
