//! "Test connection" from the form, before saving, and the model list kept
//! fresh for a saved provider.
//!
//! - A form draft is tested with the key typed there (it only travels
//!   inward and is never stored by a test); for a draft of a saved provider
//!   the stored key and secret header values fill in what the form keeps.
//!   Each stage goes to the window as a `connection-test-stage` event with
//!   the window's test id; `cancel_connection_test` aborts the task, which
//!   drops the connection at once.
//! - `refresh_models` records every refresh in the provider's stored
//!   catalog (`ProviderStore::record_catalog`): a success replaces the list
//!   and marks chosen models that disappeared upstream; a failure keeps the
//!   last good list, marked stale with when it was fetched and why — across
//!   restarts and for the CLI too, since it lives in the shared config.

// `#[tauri::command]` expands async commands into a `let _ = …` of the
// result future's output; the lint fires on the macro's code, not ours.
#![allow(clippy::let_underscore_must_use)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use patchbay_core::base_url;
use patchbay_core::error::ErrorPayload;
use patchbay_core::model::{Auth, ModelEntry, Provider};
use patchbay_core::presets;
use patchbay_core::store::{ProviderStore, ProviderView};
use patchbay_core::validation::{
    validate_api_key, validate_proxy, KeyChange, ProviderDraft, PROXY_FIELD,
};
use patchbay_core::{ApiKey, ProviderId};
use patchbay_net::discovery::DiscoveredModel;
use patchbay_net::policy::SystemLookup;
use patchbay_net::probe::{run_test, StageReport, Target, TestOptions, TestReport};
use patchbay_net::NetError;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};
use time::OffsetDateTime;
use tokio::task::AbortHandle;

use crate::background::blocking;
use crate::connection::{target_for, Network};
use crate::error::AppError;
use crate::state::Providers;

/// One stage of a draft test, as it completes: `{test_id, stage}`.
pub const CONNECTION_TEST_STAGE: &str = "connection-test-stage";

#[derive(Debug, Clone, Serialize)]
struct StageEvent<'a> {
    test_id: &'a str,
    stage: &'a StageReport,
}

/// Draft tests in flight, by the window's test id. The lock is held only to
/// insert or take a handle, never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct DraftTests(Mutex<HashMap<String, AbortHandle>>);

impl DraftTests {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, AbortHandle>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
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

/// What the form sends: the draft and, when editing, the saved provider's id.
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
                .map_err(|message| patchbay_core::Error::invalid("api_key", message))?;
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
        Some(raw) => validate_proxy(raw)
            .map_err(|message| patchbay_core::Error::invalid(PROXY_FIELD, message))?,
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

fn send_stage<R: Runtime>(app: &AppHandle<R>, test_id: &str, stage: &StageReport) {
    if let Err(error) = app.emit(CONNECTION_TEST_STAGE, StageEvent { test_id, stage }) {
        tracing::warn!(%error, "could not send a test stage to the window");
    }
}

/// Runs the staged test of an unsaved form draft (`id` when it edits a saved
/// provider). Stages arrive as [`CONNECTION_TEST_STAGE`] events; the result
/// is not recorded, since what was tested is not saved.
// Four of the arguments are injected state; the window sends four.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub(crate) async fn test_draft_connection<R: Runtime>(
    app: AppHandle<R>,
    providers: State<'_, Providers>,
    network: State<'_, Network>,
    tests: State<'_, DraftTests>,
    test_id: String,
    draft: ProviderDraft,
    id: Option<String>,
    model: Option<String>,
) -> Result<TestReport, AppError> {
    let id = id.map(|id| ProviderId::parse(&id)).transpose()?;
    let client = network.client()?;
    let store = providers.store();
    let target = blocking(move || draft_target(&store, &draft, id.as_ref())).await?;
    let options = TestOptions {
        chat_model: model.filter(|model| !model.trim().is_empty()),
        ..TestOptions::default()
    };
    let stage_test_id = test_id.clone();
    let task = tokio::spawn(async move {
        run_test(&client, &target, &options, &|stage| {
            send_stage(&app, &stage_test_id, stage)
        })
        .await
    });
    tests.lock().insert(test_id.clone(), task.abort_handle());
    let outcome = task.await;
    tests.lock().remove(&test_id);
    match outcome {
        Ok(report) => Ok(report),
        Err(error) if error.is_cancelled() => Err(NetError::Cancelled.into()),
        Err(error) => {
            tracing::error!(%error, "a connection test did not finish");
            Err(AppError::Interrupted)
        }
    }
}

/// Aborts a running draft test: the request's connection is dropped at
/// once. `false` when it had already finished.
#[tauri::command]
pub(crate) fn cancel_connection_test(tests: State<'_, DraftTests>, test_id: String) -> bool {
    match tests.lock().remove(&test_id) {
        Some(task) => {
            task.abort();
            true
        }
        None => false,
    }
}

/// Fetches a saved provider's models and records the outcome in its stored
/// catalog. On success the provider's chosen models are marked where the
/// server no longer lists them; on failure the last good list comes back
/// `stale` with the error (or the error itself when no refresh ever
/// succeeded).
#[tauri::command]
pub(crate) async fn refresh_models(
    providers: State<'_, Providers>,
    network: State<'_, Network>,
    id: String,
) -> Result<ModelCatalog, AppError> {
    let id = ProviderId::parse(&id)?;
    let client = network.client()?;
    let store = providers.store();
    let target = {
        let (store, id) = (Arc::clone(&store), id.clone());
        blocking(move || target_for(&store, &id)).await?
    };
    match patchbay_net::fetch_models(&client, &target, &SystemLookup).await {
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
