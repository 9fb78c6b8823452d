//! The small pieces of state the app manages, each its own type so a command
//! asks only for what it uses: the provider store (the one entry point into
//! the domain), the notice shown when the config had to be moved aside at
//! start, the config watcher that must live as long as the app, and the
//! connection tests in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use patchbay_core::config::{ConfigPaths, ConfigWatcher};
use patchbay_core::store::ProviderStore;
use patchbay_core::ProviderId;
use tokio_util::sync::CancellationToken;

/// The domain entry point shared by every command. Commands clone the `Arc`
/// into a blocking task, so no lock is ever held across an `.await`.
#[derive(Debug, Clone)]
pub struct Providers {
    store: Arc<ProviderStore>,
    paths: ConfigPaths,
}

impl Providers {
    pub fn new(store: ProviderStore, paths: ConfigPaths) -> Self {
        Self {
            store: Arc::new(store),
            paths,
        }
    }

    pub fn store(&self) -> Arc<ProviderStore> {
        Arc::clone(&self.store)
    }

    pub fn paths(&self) -> &ConfigPaths {
        &self.paths
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

/// Connection tests in flight, by the test id the window chose, so Cancel
/// can end one. A test of a saved provider also notes which provider it
/// tests: starting another test of that provider cancels the older one, so
/// two never race to record the provider's last test. The lock is held only
/// to insert, take or cancel a token, never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct RunningTests {
    running: Mutex<HashMap<String, Registered>>,
    generation: AtomicU64,
}

#[derive(Debug)]
struct Registered {
    generation: u64,
    saved: Option<ProviderId>,
    token: CancellationToken,
}

/// One registered test. Dropping it unregisters the test, unless a newer
/// test already took its test id.
#[derive(Debug)]
pub(crate) struct RunningTest<'a> {
    tests: &'a RunningTests,
    test_id: String,
    generation: u64,
    token: CancellationToken,
}

impl RunningTests {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Registered>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a test under `test_id`; `saved` is the provider when a saved
    /// provider is tested as stored. A test already running under the same
    /// test id, or of the same saved provider, is cancelled.
    pub(crate) fn start(&self, test_id: &str, saved: Option<&ProviderId>) -> RunningTest<'_> {
        let token = CancellationToken::new();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let mut running = self.lock();
        let replaced: Vec<String> = running
            .iter()
            .filter(|(id, test)| {
                id.as_str() == test_id || saved.is_some() && test.saved.as_ref() == saved
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in replaced {
            if let Some(older) = running.remove(&id) {
                older.token.cancel();
            }
        }
        running.insert(
            test_id.to_owned(),
            Registered {
                generation,
                saved: saved.cloned(),
                token: token.clone(),
            },
        );
        RunningTest {
            tests: self,
            test_id: test_id.to_owned(),
            generation,
            token,
        }
    }

    /// Cancels the test running under `test_id`; `false` when none is (it
    /// finished, was cancelled already, or never started).
    pub(crate) fn cancel(&self, test_id: &str) -> bool {
        let mut running = self.lock();
        match running.remove(test_id) {
            Some(test) => {
                // Cancelled under the lock, so a test that finds itself
                // unregistered always sees its token cancelled.
                test.token.cancel();
                true
            }
            None => false,
        }
    }
}

impl RunningTest<'_> {
    /// The token the test's requests honour.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Unregisters the test and says whether it was cancelled: by Cancel, by
    /// a newer test of the same provider or under the same test id. Once
    /// this returns `false`, a Cancel for this test id answers `false` too.
    pub(crate) fn finish(&self) -> bool {
        let mut running = self.tests.lock();
        if running
            .get(&self.test_id)
            .is_some_and(|test| test.generation == self.generation)
        {
            running.remove(&self.test_id);
        }
        self.token.is_cancelled()
    }
}

impl Drop for RunningTest<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(raw: &str) -> ProviderId {
        ProviderId::parse(raw).expect("a provider id")
    }

    #[test]
    fn cancel_ends_the_test_with_that_id_only_and_an_unknown_id_is_false() {
        let tests = RunningTests::default();
        let first = tests.start("form-1", None);
        let second = tests.start("form-2", None);
        assert!(!tests.cancel("nobody"));
        assert!(tests.cancel("form-1"));
        assert!(first.token().is_cancelled());
        assert!(!second.token().is_cancelled());
        assert!(first.finish(), "a cancelled test knows it was cancelled");
        assert!(!tests.cancel("form-1"), "already cancelled");
        assert!(!second.finish());
        assert!(
            !tests.cancel("form-2"),
            "a finished test cannot be cancelled"
        );
    }

    #[test]
    fn a_second_test_of_the_same_saved_provider_cancels_the_first() {
        let tests = RunningTests::default();
        let gateway = id("gateway");
        let first = tests.start("list-1", Some(&gateway));
        let other = tests.start("list-2", Some(&id("other")));
        // A draft of the same provider tests other values; it replaces nothing.
        let draft = tests.start("form-1", None);
        let second = tests.start("list-3", Some(&gateway));
        assert!(first.token().is_cancelled());
        assert!(!other.token().is_cancelled());
        assert!(!draft.token().is_cancelled());
        assert!(!second.token().is_cancelled());
        assert!(!tests.cancel("list-1"), "the first is no longer registered");
        drop(first);
        assert!(
            tests.cancel("list-3"),
            "the first's end did not unregister the second"
        );
    }

    #[test]
    fn reusing_a_test_id_cancels_the_older_test_and_keeps_the_newer_registered() {
        let tests = RunningTests::default();
        let older = tests.start("form-1", None);
        let newer = tests.start("form-1", None);
        assert!(older.token().is_cancelled());
        assert!(older.finish());
        assert!(!newer.token().is_cancelled());
        assert!(tests.cancel("form-1"));
        assert!(newer.token().is_cancelled());
    }
}
