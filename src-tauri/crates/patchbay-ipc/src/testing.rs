//! How `provider.test` runs the staged connection test: the server calls a
//! [`ProviderTester`], normally a [`NetTester`] around the app's one
//! [`HttpClient`]. The seam exists so the server has no opinion on how the
//! client was built (pinned resolver, trusted certificates, timeouts).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use patchbay_core::model::LastTest;
use patchbay_core::store::ProviderStore;
use patchbay_core::{Auth, ProviderId};
use patchbay_net::{run_test, HttpClient, Target, TestOptions};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{IpcError, Result};

/// The future a [`ProviderTester`] returns.
pub type TestFuture = Pin<Box<dyn Future<Output = Result<Value>> + Send>>;

/// Runs the staged connection test of one saved provider and returns the
/// report as JSON (the shape of `patchbay provider test --json`).
pub trait ProviderTester: Send + Sync + fmt::Debug {
    fn test(
        &self,
        store: Arc<ProviderStore>,
        provider_id: ProviderId,
        model: Option<String>,
    ) -> TestFuture;
}

/// The real test, through `patchbay_net::run_test`. Records the outcome as
/// the provider's `last_test`, so the app's list and the picker entries show
/// it too.
#[derive(Debug, Clone)]
pub struct NetTester {
    http: Arc<HttpClient>,
    options: TestOptions,
}

impl NetTester {
    pub fn new(http: Arc<HttpClient>) -> Self {
        Self {
            http,
            options: TestOptions::default(),
        }
    }

    /// With explicit options (tests inject a resolver through them).
    pub fn with_options(http: Arc<HttpClient>, options: TestOptions) -> Self {
        Self { http, options }
    }
}

impl ProviderTester for NetTester {
    fn test(
        &self,
        store: Arc<ProviderStore>,
        provider_id: ProviderId,
        model: Option<String>,
    ) -> TestFuture {
        let http = Arc::clone(&self.http);
        let options = TestOptions {
            chat_model: model,
            ..self.options.clone()
        };
        Box::pin(async move {
            let lookup_store = Arc::clone(&store);
            let lookup_id = provider_id.clone();
            // Keychain reads block (with their own timeout): off the runtime.
            let (provider, key, headers) = tokio::task::spawn_blocking(move || {
                let provider = lookup_store.get(&lookup_id)?;
                let key = match provider.auth {
                    Auth::ApiKey => lookup_store.api_key(&lookup_id)?,
                    Auth::None => None,
                };
                let headers = lookup_store.secret_headers(&provider)?;
                Ok::<_, patchbay_core::Error>((provider, key, headers))
            })
            .await
            .map_err(|error| IpcError::Internal {
                detail: format!("a worker task failed: {error}"),
            })??;
            let preset_name = provider
                .preset
                .as_deref()
                .and_then(patchbay_core::presets::find)
                .map(|preset| preset.name);
            let target = Target::from_provider(&provider, key, headers, preset_name);
            // `run_test`'s future is not `Send` (it holds hyper's connection
            // driver across awaits), so it runs on a current-thread runtime of
            // its own on a blocking thread instead of a server task.
            let report = tokio::task::spawn_blocking(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|error| IpcError::TestFailed {
                        detail: format!("could not start the test runtime: {error}"),
                    })?;
                Ok::<_, IpcError>(runtime.block_on(run_test(
                    &http,
                    &target,
                    &options,
                    &|_stage| {},
                )))
            })
            .await
            .map_err(|error| IpcError::Internal {
                detail: format!("the test task failed: {error}"),
            })??;
            let last_test = LastTest {
                ok: report.ok,
                at: OffsetDateTime::now_utc(),
                summary: report.summary.clone(),
            };
            let record_store = Arc::clone(&store);
            let recorded = tokio::task::spawn_blocking(move || {
                record_store.record_test(&provider_id, last_test)
            })
            .await;
            match recorded {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "could not record the test result"),
                Err(error) => tracing::warn!(%error, "recording the test result failed"),
            }
            serde_json::to_value(&report).map_err(|error| IpcError::TestFailed {
                detail: format!("could not encode the report: {error}"),
            })
        })
    }
}
