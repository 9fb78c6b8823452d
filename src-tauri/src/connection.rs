//! "Test connection" and model discovery for the window. Builds what to
//! test (a saved provider with its stored credentials, read only here when a
//! request needs them, or the form's typed values before saving), runs
//! `patchbay-net`'s staged test or discovery through the one shared HTTP
//! client, records a saved provider's test result and model catalog for the
//! list, and registers running tests (`RunningTests`) so Cancel can end one.
//! Knows nothing about IPC: the commands pass a callback for stage reports.
//!
//! A refreshed model list is recorded in the provider's stored catalog
//! (`ProviderStore::record_catalog`): a success replaces the list and marks
//! chosen models that disappeared upstream; a failure keeps the last good
//! list, marked stale with when it was fetched and why — across restarts and
//! for the CLI too, since it lives in the shared config.

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::base_url;
use patchbay_core::error::ErrorPayload;
use patchbay_core::model::{Auth, LastTest, ModelEntry, Provider};
use patchbay_core::presets;
use patchbay_core::store::{ProviderStore, ProviderView};
use patchbay_core::validation::{validate_api_key, validate_proxy, KeyChange, ProviderDraft};
use patchbay_core::{ApiKey, NetworkAllowance, ProviderId};
use patchbay_net::discovery::DiscoveredModel;
use patchbay_net::policy::SystemLookup;
use patchbay_net::probe::{run_test, StageReport, Target, TestOptions, TestReport};
use patchbay_net::{ClientOptions, HttpClient, NetError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::background::blocking;
use crate::error::AppError;
use crate::state::{RunningTest, RunningTests};

/// The one HTTP client of the app, built once at start.
#[derive(Debug)]
pub struct Network {
    client: Result<Arc<HttpClient>, String>,
}

impl Network {
    pub fn new() -> Self {
        let client = HttpClient::new(ClientOptions::default()).map(Arc::new).map_err(|error| {
            tracing::error!(%error, "could not build the HTTP client; testing connections is unavailable");
            error.to_string()
        });
        Self { client }
    }

    pub(crate) fn client(&self) -> Result<Arc<HttpClient>, AppError> {
        self.client.clone().map_err(AppError::NetworkUnavailable)
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::new()
    }
}

/// The target for a saved provider: its key (from the keychain, cached)
/// only when it authenticates, its custom headers, its preset's name.
pub(crate) fn target_for(
    store: &ProviderStore,
    id: &ProviderId,
) -> Result<Target, patchbay_core::Error> {
    let provider = store.get(id)?;
    let key = match provider.auth {
        Auth::ApiKey => store.api_key(id)?,
        Auth::None => None,
    };
    let headers = store.secret_headers(&provider)?;
    let preset_name = provider
        .preset
        .as_deref()
        .and_then(presets::find)
        .map(|preset| preset.name);
    Ok(Target::from_provider(&provider, key, headers, preset_name))
}

/// What a connection test runs against, as the window sends it:
/// `{"kind": "saved", "id": "gateway"}` is a saved provider as stored (its
/// result is recorded as the provider's last test);
/// `{"kind": "draft", "draft": {…}, "id": "gateway"}` is the form's typed
/// values before saving, with `id` when the form edits a saved provider (its
/// stored key and secret header values fill in what the form keeps). A
/// draft's result is never recorded: what was tested is not saved.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum TestTarget {
    Saved {
        id: String,
    },
    Draft {
        draft: ProviderDraft,
        #[serde(default)]
        id: Option<String>,
    },
}

/// Runs the staged test of `target`, registered under the window's
/// `test_id` so [`RunningTests::cancel`] can end it; `on_stage` gets each
/// stage as it completes. A cancelled test fails with `cancelled` (the
/// stages sent so far say how far it got) and records nothing.
pub(crate) async fn test_connection(
    store: Arc<ProviderStore>,
    client: &HttpClient,
    tests: &RunningTests,
    test_id: &str,
    target: TestTarget,
    chat_model: Option<String>,
    on_stage: &(dyn Fn(&StageReport) + Send + Sync),
) -> Result<TestReport, AppError> {
    let chat_model = chat_model.filter(|model| !model.trim().is_empty());
    match target {
        TestTarget::Saved { id } => {
            let id = ProviderId::parse(&id)?;
            // Registered before the keychain is read, so Cancel works from the start.
            let test = tests.start(test_id, Some(&id));
            let resolved = {
                let (store, id) = (Arc::clone(&store), id.clone());
                blocking(move || target_for(&store, &id)).await?
            };
            let report = run(client, &resolved, chat_model, &test, on_stage).await?;
            let last_test = LastTest {
                ok: report.ok,
                at: OffsetDateTime::now_utc(),
                summary: report.summary.clone(),
            };
            if let Err(error) = blocking(move || store.record_test(&id, last_test)).await {
                // The report still reaches the person; only the list's badge is stale.
                tracing::warn!(%error, "could not record the test result");
            }
            Ok(report)
        }
        TestTarget::Draft { draft, id } => {
            let id = id.map(|id| ProviderId::parse(&id)).transpose()?;
            let test = tests.start(test_id, None);
            let resolved = blocking(move || draft_target(&store, &draft, id.as_ref())).await?;
            run(client, &resolved, chat_model, &test, on_stage).await
        }
    }
}

/// Runs the test under `test`'s token, which every step of `run_test`
/// honours: a cancelled test drops its connection at once.
async fn run(
    client: &HttpClient,
    target: &Target,
    chat_model: Option<String>,
    test: &RunningTest<'_>,
    on_stage: &(dyn Fn(&StageReport) + Send + Sync),
) -> Result<TestReport, AppError> {
    if test.token().is_cancelled() {
        return Err(NetError::Cancelled.into());
    }
    let options = TestOptions {
        chat_model,
        cancel: Some(test.token().clone()),
        ..TestOptions::default()
    };
    let report = run_test(client, target, &options, on_stage).await;
    // Cancelled even if the last request had just finished: Cancel answered
    // `true`, so the result must not be recorded.
    if test.finish() {
        return Err(NetError::Cancelled.into());
    }
    Ok(report)
}

/// The target for a form draft (`id` when it edits a saved provider),
/// checked like a save would check it.
fn draft_target(
    store: &ProviderStore,
    draft: &ProviderDraft,
    id: Option<&ProviderId>,
) -> Result<Target, patchbay_core::Error> {
    let check = base_url::normalize(&draft.base_url, draft.network)
        .map_err(|field| patchbay_core::Error::Invalid(vec![field]))?;
    let saved: Option<Provider> = id.map(|id| store.get(id)).transpose()?;
    let mut target = Target::new(check.normalized, draft.network);
    target.api_key = match (&draft.auth, &draft.key) {
        (Auth::None, _) | (Auth::ApiKey, KeyChange::Remove) => None,
        (Auth::ApiKey, KeyChange::Set { value }) => {
            let (key, _notice) = validate_api_key(value.expose())
                .map_err(|problem| patchbay_core::Error::Invalid(vec![problem]))?;
            Some(key)
        }
        (Auth::ApiKey, KeyChange::Keep) => match id {
            Some(id) => store.api_key(id)?,
            None => None,
        },
    };
    let stored_headers = match &saved {
        Some(provider) => store.secret_headers(provider)?,
        None => Vec::new(),
    };
    for header in &draft.headers {
        let value = match &header.value {
            Some(value) => Some(ApiKey::new(value.expose())),
            // `None` keeps the stored secret value.
            None => stored_headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&header.name))
                .map(|(_, value)| ApiKey::new(value.expose())),
        };
        if let Some(value) =
            value.filter(|value| !header.name.trim().is_empty() && !value.expose().is_empty())
        {
            target.headers.push((header.name.trim().to_owned(), value));
        }
    }
    target.timeout = draft
        .timeout_secs
        .map(|seconds| Duration::from_secs(u64::from(seconds)));
    target.proxy = match draft.proxy.as_deref() {
        Some(raw) => {
            validate_proxy(raw).map_err(|problem| patchbay_core::Error::Invalid(vec![problem]))?
        }
        None => None,
    };
    // A certificate trusted for the saved provider stays trusted only for
    // the same base URL.
    target.trusted_cert_sha256 = saved
        .filter(|provider| provider.base_url == target.base_url)
        .and_then(|provider| provider.trusted_cert_sha256);
    target.display_name = draft
        .preset
        .as_deref()
        .and_then(presets::find)
        .map(|preset| preset.name.to_owned());
    Ok(target)
}

/// The models a saved provider's server lists.
pub(crate) async fn discover_saved(
    store: Arc<ProviderStore>,
    client: &HttpClient,
    id: ProviderId,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let target = blocking(move || target_for(&store, &id)).await?;
    Ok(patchbay_net::fetch_models(client, &target, &SystemLookup).await?)
}

/// The models at a base URL typed into the form but not saved yet, with the
/// key typed there (if any). The URL is validated like a save would.
pub(crate) async fn discover_draft(
    client: &HttpClient,
    base: &str,
    network: NetworkAllowance,
    key: Option<ApiKey>,
    proxy: Option<&str>,
) -> Result<Vec<DiscoveredModel>, AppError> {
    let check = base_url::normalize(base, network)
        .map_err(|field| patchbay_core::Error::Invalid(vec![field]))?;
    let mut target = Target::new(check.normalized, network);
    target.api_key = key.filter(|key| !key.expose().trim().is_empty());
    // The form's proxy field, checked like a save would.
    if let Some(raw) = proxy {
        target.proxy =
            validate_proxy(raw).map_err(|problem| patchbay_core::Error::Invalid(vec![problem]))?;
    }
    Ok(patchbay_net::fetch_models(client, &target, &SystemLookup).await?)
}

/// `refresh_models`: the server's list (or the last good one, `stale`), when
/// it was fetched, why the refresh failed, and the provider with its chosen
/// models marked `missing_upstream` where the server no longer lists them.
#[derive(Debug, Serialize)]
pub(crate) struct ModelCatalog {
    models: Vec<DiscoveredModel>,
    #[serde(with = "time::serde::rfc3339")]
    fetched_at: OffsetDateTime,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorPayload>,
    /// When this refresh ran (`fetched_at` is older when `stale`).
    #[serde(with = "time::serde::rfc3339")]
    last_attempt_at: OffsetDateTime,
    provider: ProviderView,
}

/// Fetches a saved provider's models and records the outcome in its stored
/// catalog. A failure with an earlier good list answers that list, `stale`,
/// with the error; with none, the error itself.
pub(crate) async fn refresh_models(
    store: Arc<ProviderStore>,
    client: &HttpClient,
    id: ProviderId,
) -> Result<ModelCatalog, AppError> {
    let target = {
        let (store, id) = (Arc::clone(&store), id.clone());
        blocking(move || target_for(&store, &id)).await?
    };
    match patchbay_net::fetch_models(client, &target, &SystemLookup).await {
        Ok(models) => {
            let listed: Vec<ModelEntry> = models.iter().map(DiscoveredModel::to_entry).collect();
            let provider = blocking(move || store.record_catalog(&id, Ok(listed))).await?;
            let (fetched_at, last_attempt_at) = match &provider.catalog {
                Some(catalog) => (
                    catalog.fetched_at.unwrap_or(catalog.last_attempt_at),
                    catalog.last_attempt_at,
                ),
                None => (OffsetDateTime::now_utc(), OffsetDateTime::now_utc()),
            };
            Ok(ModelCatalog {
                models,
                fetched_at,
                stale: false,
                error: None,
                last_attempt_at,
                provider: ProviderView::from(&provider),
            })
        }
        Err(error) => {
            // Patchbay's own sentence: a provider's raw body never gets here.
            let reason = error.to_string();
            let provider = blocking(move || store.record_catalog(&id, Err(reason))).await?;
            let Some(catalog) = provider.catalog.as_ref() else {
                return Err(error.into());
            };
            let Some(fetched_at) = catalog.fetched_at else {
                return Err(error.into());
            };
            tracing::info!(%error, "model refresh failed; showing the last good list");
            Ok(ModelCatalog {
                models: catalog
                    .models
                    .iter()
                    .map(|entry| DiscoveredModel {
                        id: entry.id.clone(),
                        metadata: entry.metadata.clone(),
                    })
                    .collect(),
                fetched_at,
                stale: true,
                error: Some(AppError::from(error).to_payload()),
                last_attempt_at: catalog.last_attempt_at,
                provider: ProviderView::from(&provider),
            })
        }
    }
}
