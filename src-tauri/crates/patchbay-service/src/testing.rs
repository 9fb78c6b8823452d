//! "Test connection": the staged test of a saved provider (its outcome
//! recorded as the provider's last test, so the list, the CLI and host
//! apps' entries show it) or of a draft (kept in memory under the draft's
//! digest: saving that exact draft records it as the provider's last test),
//! and the registry of tests in flight, so Cancel can end one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use patchbay_core::model::LastTest;
use patchbay_core::validation::DraftDigest;
use patchbay_core::ProviderId;
use patchbay_net::{run_test, NetError, StageReport, TestOptions, TestReport};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::targets::Subject;
use crate::{blocking, Result, Service};

/// One test to run.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub subject: Subject,
    /// Also probe chat with this model; blank means no chat probe.
    pub chat_model: Option<String>,
    /// Registers the test under this id so [`Service::cancel_test`] can end
    /// it (the window's tests); `None` runs it unregistered (the CLI, IPC).
    pub test_id: Option<String>,
}

impl TestRequest {
    pub fn new(subject: Subject) -> Self {
        Self {
            subject,
            chat_model: None,
            test_id: None,
        }
    }
}

impl Service {
    /// Runs the staged test; `on_stage` gets each stage as it completes. A
    /// saved provider's outcome is recorded as its last test (a failure to
    /// record it is logged: the report still reaches the person). A
    /// cancelled test fails with `cancelled` and records nothing.
    pub async fn test(
        &self,
        request: TestRequest,
        on_stage: &(dyn Fn(&StageReport) + Send + Sync),
    ) -> Result<TestReport> {
        let (http, _slot) = self.network()?;
        let recorded = request.subject.recorded().cloned();
        let tested = request.subject.provider().cloned();
        let digest = request.subject.draft_digest();
        // Registered before the keychain is read, so Cancel works from the start.
        let running = request
            .test_id
            .as_deref()
            .map(|test_id| self.tests.start(test_id, recorded.as_ref()));
        let token = running
            .as_ref()
            .map_or_else(CancellationToken::new, |test| test.token().clone());
        let prepared = self.prepare(request.subject).await?;
        if token.is_cancelled() {
            return Err(NetError::Cancelled.into());
        }
        let options = TestOptions {
            chat_model: request.chat_model.filter(|model| !model.trim().is_empty()),
            unlisted_model: prepared.first_model.clone(),
            deployments: prepared.models.clone(),
            lookup: self.lookup.clone(),
            cancel: Some(token.clone()),
        };
        let report = run_test(http, &prepared.target, &options, on_stage).await;
        // Cancelled even if the last request had just finished: Cancel
        // answered `true`, so the result must not be recorded.
        let cancelled = match &running {
            Some(test) => test.finish(),
            None => token.is_cancelled(),
        };
        if cancelled {
            return Err(NetError::Cancelled.into());
        }
        if let (Some(id), Some(sha256)) = (tested, &report.certificate_sha256) {
            self.seen_certificates.saw(id, sha256);
        }
        let last_test = LastTest {
            ok: report.ok,
            at: OffsetDateTime::now_utc(),
            summary: report.summary.clone(),
        };
        if let Some(digest) = digest {
            self.tested_drafts.keep(digest, last_test.clone());
        }
        if let Some(id) = recorded {
            let store = self.store.clone();
            if let Err(error) = blocking(move || store.record_test(&id, last_test)).await {
                tracing::warn!(%error, "could not record the test result");
            }
        }
        Ok(report)
    }

    /// Cancels the test running under `test_id`: its connection is dropped
    /// at once. `false` when none is running (it already finished).
    pub fn cancel_test(&self, test_id: &str) -> bool {
        self.tests.cancel(test_id)
    }
}

/// Connection tests in flight, by the test id the caller chose. A test of a
/// saved provider also notes which provider it tests: starting another test
/// of that provider cancels the older one, so two never race to record the
/// provider's last test. The lock is held only to insert, take or cancel a
/// token, never across an `.await`.
#[derive(Debug, Default)]
pub struct RunningTests {
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
struct RunningTest<'a> {
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
    fn start(&self, test_id: &str, saved: Option<&ProviderId>) -> RunningTest<'_> {
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
    fn cancel(&self, test_id: &str) -> bool {
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
    fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Unregisters the test and says whether it was cancelled: by Cancel, by
    /// a newer test of the same provider or under the same test id. Once
    /// this returns `false`, a Cancel for this test id answers `false` too.
    fn finish(&self) -> bool {
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

/// The results of the latest draft tests, by the digest of the draft each
/// tested ([`patchbay_core::validation::ProviderDraft::tested_digest`]).
/// Saving a draft looks its digest up: a match becomes the saved
/// provider's last test, so a test run in the form before saving is not
/// lost, and the window cannot claim one (it never sends a result, only the
/// draft). Failures are kept too: they are as true of that draft.
#[derive(Debug, Default)]
pub(crate) struct TestedDrafts(Mutex<VecDeque<(DraftDigest, LastTest)>>);

/// Draft results kept: a few forms' worth of tests.
const KEPT_DRAFT_TESTS: usize = 16;

impl TestedDrafts {
    fn keep(&self, digest: DraftDigest, result: LastTest) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|(kept, _)| *kept != digest);
        if kept.len() == KEPT_DRAFT_TESTS {
            kept.pop_front();
        }
        kept.push_back((digest, result));
    }

    /// The latest result of a test of the draft with `digest`, if any.
    pub(crate) fn result_of(&self, digest: &DraftDigest) -> Option<LastTest> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(kept, _)| kept == digest)
            .map(|(_, result)| result.clone())
    }
}

/// The certificate each saved provider's server presented in its latest
/// test in this process (a saved provider's, or a form's while editing it):
/// what the window may offer to trust. Script in the window can then only
/// trust a certificate the person's own test just saw.
#[derive(Debug, Default)]
pub(crate) struct SeenCertificates(Mutex<HashMap<ProviderId, String>>);

impl SeenCertificates {
    fn saw(&self, id: ProviderId, sha256: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, normalized_fingerprint(sha256));
    }

    pub(crate) fn was_seen(&self, id: &ProviderId, sha256: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .is_some_and(|seen| *seen == normalized_fingerprint(sha256))
    }
}

/// Lowercase hex without separators (`AB:CD…` and `abcd…` are one fingerprint).
fn normalized_fingerprint(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|character| character.to_ascii_lowercase())
        .collect()
}
