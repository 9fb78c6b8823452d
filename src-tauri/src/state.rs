//! The small pieces of state the app manages, each its own type so a command
//! asks only for what it uses: the service (the one entry point into the
//! use cases), the notice shown when the config had to be moved aside at
//! start, and the config watcher that must live as long as the app.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

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

/// The window's prompts in flight ("Try a prompt"), by the id the window
/// chose, so Stop can cancel one. The lock is held only to insert, take or
/// cancel a token, never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct RunningPrompts {
    running: Mutex<HashMap<String, (u64, CancellationToken)>>,
    generation: AtomicU64,
}

impl RunningPrompts {
    /// Registers `prompt_id`; a prompt already running under it is
    /// cancelled. Returns the registration to pass to [`Self::finish`].
    pub(crate) fn start(&self, prompt_id: &str) -> (u64, CancellationToken) {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        let previous = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(prompt_id.to_owned(), (generation, token.clone()));
        if let Some((_, previous)) = previous {
            previous.cancel();
        }
        (generation, token)
    }

    /// Forgets `prompt_id` once it ended, unless a newer prompt took the id.
    pub(crate) fn finish(&self, prompt_id: &str, generation: u64) {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running
            .get(prompt_id)
            .is_some_and(|(current, _)| *current == generation)
        {
            running.remove(prompt_id);
        }
    }

    /// Cancels the prompt running under `prompt_id`; `false` when none is.
    pub(crate) fn cancel(&self, prompt_id: &str) -> bool {
        let removed = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(prompt_id);
        match removed {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
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
