//! Patchbay's use cases, each in one place. The settings window (Tauri
//! commands), the `patchbay` CLI and the IPC server are adapters over a
//! [`Service`]: they translate arguments and results, and decide nothing.
//!
//! - [`providers`]: list, save (add / edit), enable, set and remove keys,
//!   trust a certificate, remove;
//! - [`targets`]: what a request to a saved provider or to an unsaved draft
//!   of one carries (the only place that reads keys for a request);
//! - [`testing`]: "Test connection" for a saved provider (recorded as its
//!   last test) or a draft, with the registry of running tests so Cancel
//!   can end one;
//! - [`models`]: model discovery and the recorded catalog refresh;
//! - [`apps_view`]: what host apps see — the entries and who used which;
//! - [`transfer`]: export and import (also of Zed's and Continue's settings);
//! - [`curation`]: the providers' order and one-at-a-time model changes
//!   (add, remove, hide, show, rename, move).
//!
//! The service owns the provider store and the one HTTP client. Blocking
//! work (the config file, the keychain) runs on the runtime's blocking
//! pool inside the async use cases; the synchronous ones are for callers
//! that are already off the runtime (the CLI, a blocking task).

pub mod apps_view;
pub mod curation;
pub mod error;
pub mod gateway;
pub mod hosts;
pub mod models;
pub mod providers;
pub mod targets;
pub mod testing;
pub mod transfer;

use std::fmt;
use std::sync::{Arc, OnceLock};

use patchbay_core::store::ProviderStore;
use patchbay_net::policy::{Lookup, SystemLookup};
use patchbay_net::{ClientOptions, HttpClient};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use error::{Result, ServiceError};
pub use gateway::EntryTarget;
pub use hosts::{Handout, HostRegistry, HostsError, PairingCallback, PairingEvent, Pairings};
pub use models::Refreshed;
pub use targets::{Prepared, Subject};
pub use testing::{RunningTests, TestRequest};

/// The use cases over one provider store and one HTTP client.
pub struct Service {
    store: Arc<ProviderStore>,
    /// Built once, on first use (a CLI command that never connects never
    /// loads the TLS roots); `Err` keeps the reason the client could not be
    /// built, so every network use case says it instead of failing at start.
    http: OnceLock<std::result::Result<Arc<HttpClient>, String>>,
    lookup: Arc<dyn Lookup>,
    tests: RunningTests,
    seen_certificates: testing::SeenCertificates,
    tested_drafts: testing::TestedDrafts,
    /// Requests to providers in flight (tests, discovery, refreshes): a
    /// bound, so slow servers cannot pile up lookups on the blocking pool
    /// and stall resolve and keychain calls.
    network: Arc<Semaphore>,
}

/// Requests to providers that may run at once.
pub const MAX_NETWORK_USES: usize = 16;

impl fmt::Debug for Service {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Service")
            .field("config", &self.store.paths().file)
            .field("http", &self.http.get().map(std::result::Result::is_ok))
            .field("lookup", &self.lookup)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// The service over `store` with the default HTTP client (built when
    /// first needed) and the system resolver. A client that cannot be built
    /// is logged and reported by every network use case.
    pub fn new(store: Arc<ProviderStore>) -> Self {
        Self {
            store,
            http: OnceLock::new(),
            lookup: Arc::new(SystemLookup),
            tests: RunningTests::default(),
            seen_certificates: testing::SeenCertificates::default(),
            tested_drafts: testing::TestedDrafts::default(),
            network: Arc::new(Semaphore::new(MAX_NETWORK_USES)),
        }
    }

    /// The service with a given client and resolver (tests inject both).
    pub fn with_network(
        store: Arc<ProviderStore>,
        http: Arc<HttpClient>,
        lookup: Arc<dyn Lookup>,
    ) -> Self {
        Self {
            store,
            http: OnceLock::from(Ok(http)),
            lookup,
            tests: RunningTests::default(),
            seen_certificates: testing::SeenCertificates::default(),
            tested_drafts: testing::TestedDrafts::default(),
            network: Arc::new(Semaphore::new(MAX_NETWORK_USES)),
        }
    }

    /// The service without network access: every network use case fails with
    /// [`ServiceError::NetworkUnavailable`] naming `reason`.
    pub fn offline(store: Arc<ProviderStore>, reason: impl Into<String>) -> Self {
        Self {
            store,
            http: OnceLock::from(Err(reason.into())),
            lookup: Arc::new(SystemLookup),
            tests: RunningTests::default(),
            seen_certificates: testing::SeenCertificates::default(),
            tested_drafts: testing::TestedDrafts::default(),
            network: Arc::new(Semaphore::new(MAX_NETWORK_USES)),
        }
    }

    /// The resolver every use case judges names with.
    pub(crate) fn lookup(&self) -> &dyn Lookup {
        self.lookup.as_ref()
    }

    /// The provider store, for what is not a use case of its own (reading
    /// entries, watching the config file).
    pub fn store(&self) -> &Arc<ProviderStore> {
        &self.store
    }

    /// The target of `subject`, built on the blocking pool (it reads the
    /// config file and the keychain).
    async fn prepare(&self, subject: Subject) -> Result<Prepared> {
        let store = self.store.clone();
        blocking(move || targets::prepare(&store, &subject)).await
    }

    /// The HTTP client and a slot among [`MAX_NETWORK_USES`], held for as
    /// long as the request runs; `Busy` when every slot is taken.
    fn network(&self) -> Result<(&Arc<HttpClient>, OwnedSemaphorePermit)> {
        let http = self.http()?;
        let slot = Arc::clone(&self.network)
            .try_acquire_owned()
            .map_err(|_full| ServiceError::Busy)?;
        Ok((http, slot))
    }

    fn http(&self) -> Result<&Arc<HttpClient>> {
        self.http
            .get_or_init(|| {
                HttpClient::new(ClientOptions::default())
                    .map(Arc::new)
                    .map_err(|error| {
                        tracing::error!(%error, "could not build the HTTP client; network use cases are unavailable");
                        error.to_string()
                    })
            })
            .as_ref()
            .map_err(|reason| ServiceError::NetworkUnavailable(reason.clone()))
    }
}

/// Runs blocking domain work (the config file, the keychain) on the
/// runtime's blocking pool.
async fn blocking<T, F>(task: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> std::result::Result<T, patchbay_core::Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(task).await {
        Ok(result) => result.map_err(ServiceError::from),
        Err(join_error) => {
            tracing::error!(error = %join_error, "a blocking domain task did not finish");
            Err(ServiceError::Interrupted)
        }
    }
}
