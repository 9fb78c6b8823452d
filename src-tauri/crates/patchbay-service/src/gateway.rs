//! What Patchbay's local gateway needs from the use cases: the target of
//! one entry (its provider's base URL, key and headers, read like a test
//! reads them: the key only for the origin it was given for) and the one
//! HTTP client and resolver every request to a provider goes through.

use std::sync::Arc;

use patchbay_core::model::Auth;
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

    /// The HTTP client and the resolver requests to providers go through.
    pub fn network_parts(&self) -> Result<(Arc<HttpClient>, Arc<dyn Lookup>)> {
        Ok((Arc::clone(self.http()?), Arc::clone(&self.lookup)))
    }
}
