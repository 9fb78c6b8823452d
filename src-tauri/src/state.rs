//! The small pieces of state the app manages, each its own type so a command
//! asks only for what it uses: the service (the one entry point into the
//! use cases), the notice shown when the config had to be moved aside at
//! start, and the config watcher that must live as long as the app.

use std::sync::{Arc, Mutex, PoisonError};

use patchbay_core::config::{ConfigPaths, ConfigWatcher};
use patchbay_core::store::ProviderStore;
use patchbay_service::Service;

/// The use cases shared by every command (`patchbay-service`, over the
/// provider store and the one HTTP client). Commands clone the `Arc` into a
/// blocking task, so no lock is ever held across an `.await`.
#[derive(Debug, Clone)]
pub struct Providers {
    service: Arc<Service>,
}

impl Providers {
    pub fn new(store: ProviderStore) -> Self {
        Self {
            service: Arc::new(Service::new(Arc::new(store))),
        }
    }

    pub fn service(&self) -> Arc<Service> {
        Arc::clone(&self.service)
    }

    pub fn paths(&self) -> &ConfigPaths {
        self.service.store().paths()
    }
}

/// A sentence for the banner when the config could not be read at start (for
/// example "moved aside to providers.json.corrupt-…"). Set once in `setup`.
#[derive(Debug, Default)]
pub(crate) struct StartupNotice(Mutex<Option<String>>);

impl StartupNotice {
    pub(crate) fn set(&self, notice: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(notice);
    }

    pub(crate) fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Keeps the config watcher alive: dropping it stops the notifications.
#[derive(Debug, Default)]
pub(crate) struct ConfigWatch(Mutex<Option<ConfigWatcher>>);

impl ConfigWatch {
    pub(crate) fn keep(&self, watcher: ConfigWatcher) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(watcher);
    }
}
