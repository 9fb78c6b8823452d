//! "Test connection" and model discovery for the window: gathers a saved
//! provider's credentials from the store (the key is read only here, when a
//! request needs it), runs `patchbay-net`'s staged test or discovery through
//! the one shared HTTP client, and records the result for the list. Knows
//! nothing about IPC: the commands pass a callback for stage reports and a
//! cancellation token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use patchbay_core::base_url;
use patchbay_core::model::{Auth, LastTest};
use patchbay_core::presets;
use patchbay_core::store::ProviderStore;
use patchbay_core::{ApiKey, NetworkAllowance, ProviderId};
use patchbay_net::discovery::DiscoveredModel;
use patchbay_net::policy::SystemLookup;
use patchbay_net::probe::{run_test, StageReport, Target, TestOptions, TestReport};
use patchbay_net::{ClientOptions, FailureKind, HttpClient};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::background::blocking;
use crate::error::AppError;

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

/// Tests in flight, by provider id, so Cancel can abort one. The lock is
/// held only to insert or take a token, never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct RunningTests {
    running: Mutex<HashMap<String, (u64, CancellationToken)>>,
    generation: AtomicU64,
}

/// One registered test: its token and which registration it was.
#[derive(Debug)]
pub(crate) struct RunningTest {
    pub(crate) token: CancellationToken,
    generation: u64,
}

impl RunningTests {
    /// Registers a test of `id`; one already running for it is cancelled.
    pub(crate) fn start(&self, id: &ProviderId) -> RunningTest {
        let token = CancellationToken::new();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let previous = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_string(), (generation, token.clone()));
        if let Some((_, previous)) = previous {
            previous.cancel();
        }
        RunningTest { token, generation }
    }

    /// Forgets a finished test (unless a newer test of the same provider
    /// replaced it).
    pub(crate) fn finish(&self, id: &ProviderId, test: &RunningTest) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running
            .get(id.as_str())
            .is_some_and(|(generation, _)| *generation == test.generation)
        {
            running.remove(id.as_str());
        }
    }

    /// Cancels the running test of `id`; `false` when none was running.
    pub(crate) fn cancel(&self, id: &ProviderId) -> bool {
        match self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id.as_str())
        {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
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

/// Runs the staged test of a saved provider and records its outcome as the
/// provider's last test (unless it was cancelled: that says nothing about
/// the endpoint).
pub(crate) async fn test_provider(
    store: Arc<ProviderStore>,
    client: &HttpClient,
    id: ProviderId,
    chat_model: Option<String>,
    cancel: CancellationToken,
    on_stage: &(dyn Fn(&StageReport) + Send + Sync),
) -> Result<TestReport, AppError> {
    let target = {
        let (store, id) = (Arc::clone(&store), id.clone());
        blocking(move || target_for(&store, &id)).await?
    };
    let options = TestOptions {
        chat_model,
        cancel: Some(cancel),
        ..TestOptions::default()
    };
    let report = run_test(client, &target, &options, on_stage).await;
    let cancelled = report
        .failed_stage()
        .and_then(|stage| stage.failure.as_ref())
        .is_some_and(|failure| failure.kind == FailureKind::Cancelled);
    if !cancelled {
        let last_test = LastTest {
            ok: report.ok,
            at: OffsetDateTime::now_utc(),
            summary: report.summary.clone(),
        };
        if let Err(error) = blocking(move || store.record_test(&id, last_test)).await {
            // The report still reaches the person; only the list's badge is stale.
            tracing::warn!(%error, "could not record the test result");
        }
    }
    Ok(report)
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
        target.proxy = patchbay_core::validation::validate_proxy(raw).map_err(|message| {
            patchbay_core::Error::invalid(patchbay_core::validation::PROXY_FIELD, message)
        })?;
    }
    Ok(patchbay_net::fetch_models(client, &target, &SystemLookup).await?)
}
