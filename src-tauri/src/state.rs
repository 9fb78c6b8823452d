//! The small pieces of state the app manages, each its own type so a command
//! asks only for what it uses: the service (the one entry point into the
//! use cases), the notice shown when the config had to be moved aside at
//! start, and the config watcher that must live as long as the app.

use std::collections::{HashMap, VecDeque};
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

/// The window's long calls in flight ("Try a prompt", "Check
/// capabilities"), by the id the window chose, so Stop can cancel one. The
/// lock is held only to insert, take or cancel a token, never across an
/// `.await`.
#[derive(Debug, Default)]
pub(crate) struct RunningCalls {
    calls: Mutex<Calls>,
    generation: AtomicU64,
}

#[derive(Debug, Default)]
struct Calls {
    running: HashMap<String, (u64, CancellationToken)>,
    /// Ids cancelled before their call registered (Stop pressed while the
    /// command was still on its way): such a call starts cancelled.
    stopped_early: VecDeque<String>,
}

/// How many early stops are remembered (the window's ids are unique, so
/// only the latest few can still arrive).
const STOPPED_EARLY_KEPT: usize = 32;

impl RunningCalls {
    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `call_id`; a call already running under it is
    /// cancelled. Returns the registration to pass to [`Self::finish`].
    pub(crate) fn start(&self, call_id: &str) -> (u64, CancellationToken) {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        let mut calls = self.lock();
        if let Some(position) = calls.stopped_early.iter().position(|id| id == call_id) {
            calls.stopped_early.remove(position);
            token.cancel();
        }
        let previous = calls
            .running
            .insert(call_id.to_owned(), (generation, token.clone()));
        if let Some((_, previous)) = previous {
            previous.cancel();
        }
        (generation, token)
    }

    /// Forgets `call_id` once it ended, unless a newer call took the id.
    pub(crate) fn finish(&self, call_id: &str, generation: u64) {
        let mut calls = self.lock();
        if calls
            .running
            .get(call_id)
            .is_some_and(|(current, _)| *current == generation)
        {
            calls.running.remove(call_id);
        }
    }

    /// Cancels the call running under `call_id`. `false` when none is
    /// running yet or any more; a call that registers later under this id
    /// starts cancelled.
    pub(crate) fn cancel(&self, call_id: &str) -> bool {
        let mut calls = self.lock();
        match calls.running.remove(call_id) {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => {
                if calls.stopped_early.len() == STOPPED_EARLY_KEPT {
                    calls.stopped_early.pop_front();
                }
                calls.stopped_early.push_back(call_id.to_owned());
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_that_arrives_before_its_call_cancels_it_when_it_starts() {
        let calls = RunningCalls::default();
        assert!(!calls.cancel("check-1"));
        let (_, token) = calls.start("check-1");
        assert!(token.is_cancelled());
        let (generation, other) = calls.start("check-2");
        assert!(!other.is_cancelled());
        assert!(calls.cancel("check-2"));
        assert!(other.is_cancelled());
        calls.finish("check-2", generation);
        let (_, again) = calls.start("check-1");
        assert!(!again.is_cancelled(), "an early stop is used once");
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
