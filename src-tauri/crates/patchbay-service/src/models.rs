//! Model discovery: what a server's `/models` lists, for a saved provider or
//! a draft, and the recorded refresh of a saved provider's catalog (a
//! success replaces the list and marks chosen models the server no longer
//! lists; a failure keeps the last good list, marked stale with why, across
//! restarts and for every Patchbay process, since it lives in the shared
//! config).

use patchbay_core::model::ModelEntry;
use patchbay_core::model::Provider;
use patchbay_core::ProviderId;
use patchbay_net::{fetch_models, DiscoveredModel, NetError};
use time::OffsetDateTime;

use crate::targets::{Prepared, Subject};
use crate::{blocking, Result, Service};

/// A refresh's outcome, recorded in the provider's catalog.
#[derive(Debug)]
pub struct Refreshed {
    /// The server's list, or (`stale`) the last good one.
    pub models: Vec<DiscoveredModel>,
    pub fetched_at: OffsetDateTime,
    /// The refresh failed and `models` is the last good list.
    pub stale: bool,
    /// Why the refresh failed, when it did.
    pub failure: Option<NetError>,
    /// When this refresh ran (`fetched_at` is older when `stale`).
    pub last_attempt_at: OffsetDateTime,
    /// The provider as recorded: its chosen models marked
    /// `missing_upstream` where the server no longer lists them.
    pub provider: Provider,
}

impl Service {
    /// The models the subject's server lists. Nothing is recorded.
    pub async fn discover_models(&self, subject: Subject) -> Result<Vec<DiscoveredModel>> {
        let (http, _slot) = self.network()?;
        let Prepared { target, .. } = self.prepare(subject).await?;
        Ok(fetch_models(http, &target, self.lookup.as_ref()).await?)
    }

    /// Fetches a saved provider's models and records the outcome in its
    /// catalog. A failure with an earlier good list answers that list,
    /// `stale`, with the failure; with none, the failure itself.
    pub async fn refresh_models(&self, id: ProviderId) -> Result<Refreshed> {
        let (http, _slot) = self.network()?;
        let Prepared { target, .. } = self.prepare(Subject::Saved(id.clone())).await?;
        let store = self.store.clone();
        match fetch_models(http, &target, self.lookup.as_ref()).await {
            Ok(models) => {
                let listed: Vec<ModelEntry> =
                    models.iter().map(DiscoveredModel::to_entry).collect();
                let provider = blocking(move || store.record_catalog(&id, Ok(listed))).await?;
                let now = OffsetDateTime::now_utc();
                let (fetched_at, last_attempt_at) =
                    provider.catalog.as_ref().map_or((now, now), |catalog| {
                        (
                            catalog.fetched_at.unwrap_or(catalog.last_attempt_at),
                            catalog.last_attempt_at,
                        )
                    });
                Ok(Refreshed {
                    models,
                    fetched_at,
                    stale: false,
                    failure: None,
                    last_attempt_at,
                    provider,
                })
            }
            Err(error) => {
                // Patchbay's own sentence: a provider's raw body never gets here.
                let reason = error.to_string();
                let provider = blocking(move || store.record_catalog(&id, Err(reason))).await?;
                let Some((fetched_at, last_attempt_at)) = provider
                    .catalog
                    .as_ref()
                    .and_then(|catalog| Some((catalog.fetched_at?, catalog.last_attempt_at)))
                else {
                    return Err(error.into());
                };
                tracing::info!(%error, "model refresh failed; the last good list stays");
                let models = provider
                    .catalog
                    .iter()
                    .flat_map(|catalog| &catalog.models)
                    .map(|entry| DiscoveredModel {
                        id: entry.id.clone(),
                        metadata: entry.metadata.clone(),
                    })
                    .collect();
                Ok(Refreshed {
                    models,
                    fetched_at,
                    stale: true,
                    failure: Some(error),
                    last_attempt_at,
                    provider,
                })
            }
        }
    }
}
