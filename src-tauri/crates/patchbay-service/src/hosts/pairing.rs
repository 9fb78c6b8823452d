//! Pairing: a host's `host.pair` call becomes a pending request that waits
//! for the person's decision — in the Patchbay window (through the
//! `on_pairing_request` callback or [`Pairings::subscribe`]) or from a
//! terminal (`patchbay hosts pending|approve|deny`, which reach the running
//! server over the admin methods). Approval issues a token once and stores
//! only its hash in [`HostRegistry`]; denial or the timeout issue nothing.
//!
//! [`Pairings`] is also the admin API the app uses: pending, approve, deny,
//! list, revoke, resolve log.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchbay_protocol::rpc::{PairResult, PairedHost, PendingPairing, Requester, ResolveRecord};
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};

use super::registry::HostRegistry;
use super::{HostsError, Result};

/// How long `host.pair` waits for a decision.
pub const DEFAULT_PAIRING_TIMEOUT: Duration = Duration::from_secs(300);
/// At most this many requests wait at once, so a misbehaving host cannot
/// flood the window with prompts.
pub const MAX_PENDING: usize = 8;
/// At most this many of them come from one process (as the OS reports the
/// peer), so one process opening many connections cannot take every slot.
pub const MAX_PENDING_PER_PROCESS: usize = 2;

/// Called (on a server task) whenever a new pairing request arrives, so the
/// app can show "Allow <app_name> to use your AI endpoints?". It must not
/// block: hand the request to the UI thread and return.
pub type PairingCallback = Arc<dyn Fn(&PendingPairing) + Send + Sync>;

/// What happened to pairing requests and hosts, for the app's UI.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PairingEvent {
    Requested(PendingPairing),
    Approved {
        request_id: String,
        host: PairedHost,
    },
    Denied {
        request_id: String,
        app_id: String,
    },
    /// Nobody decided in time, or the host stopped waiting.
    Expired {
        request_id: String,
        app_id: String,
    },
    Revoked {
        app_id: String,
    },
    /// A paired host resolved an entry (the UI's "last used" and log).
    Resolved(ResolveRecord),
}

enum Decision {
    Approved(PairResult),
    Denied,
}

struct Waiting {
    request: PendingPairing,
    decide: oneshot::Sender<Decision>,
}

/// Pending pairing requests plus the paired-host registry. Cheap to clone.
#[derive(Clone)]
pub struct Pairings {
    inner: Arc<Inner>,
}

struct Inner {
    registry: HostRegistry,
    waiting: Mutex<HashMap<String, Waiting>>,
    events: broadcast::Sender<PairingEvent>,
    on_request: Option<PairingCallback>,
    timeout: Duration,
}

impl fmt::Debug for Pairings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pairings")
            .field("registry", &self.inner.registry)
            .field("pending", &lock(&self.inner.waiting).len())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Pairings {
    pub fn new(
        registry: HostRegistry,
        on_request: Option<PairingCallback>,
        timeout: Duration,
    ) -> Self {
        let (events, _) = broadcast::channel(64);
        Self {
            inner: Arc::new(Inner {
                registry,
                waiting: Mutex::new(HashMap::new()),
                events,
                on_request,
                timeout,
            }),
        }
    }

    pub fn registry(&self) -> &HostRegistry {
        &self.inner.registry
    }

    /// Events for the UI. A receiver that falls behind by more than 64
    /// events gets `Lagged` and should re-read [`Pairings::pending`].
    pub fn subscribe(&self) -> broadcast::Receiver<PairingEvent> {
        self.inner.events.subscribe()
    }

    /// The requests waiting now (oldest first) and the events from that
    /// moment on, taken together: a request is either in the list or
    /// arrives as [`PairingEvent::Requested`], never both, never neither
    /// (`hosts.subscribe`).
    pub fn subscribe_with_pending(
        &self,
    ) -> (Vec<PendingPairing>, broadcast::Receiver<PairingEvent>) {
        let waiting = lock(&self.inner.waiting);
        let events = self.inner.events.subscribe();
        (sorted_requests(&waiting), events)
    }

    /// Creates a pending request and waits for the decision: the token on
    /// approval, [`HostsError::PairingDenied`] or
    /// [`HostsError::PairingTimeout`] otherwise.
    pub async fn request(
        &self,
        app_id: &str,
        app_name: &str,
        requester: Option<Requester>,
    ) -> Result<PairResult> {
        validate_app(app_id, app_name)?;
        // An app id that is already paired: the prompt says what it replaces.
        let registry = self.inner.registry.clone();
        let wanted = app_id.to_owned();
        let replaces = tokio::task::spawn_blocking(move || registry.list())
            .await
            .map_err(|error| HostsError::Internal {
                detail: format!("a worker task failed: {error}"),
            })??
            .into_iter()
            .find(|host| host.app_id == wanted);
        let (sender, receiver) = oneshot::channel();
        let now = OffsetDateTime::now_utc();
        let request = PendingPairing {
            request_id: new_request_id()?,
            app_id: app_id.to_owned(),
            app_name: app_name.to_owned(),
            requested_at: now,
            expires_at: now + self.inner.timeout,
            requester,
            replaces,
        };
        {
            let mut waiting = lock(&self.inner.waiting);
            if waiting.values().any(|entry| entry.request.app_id == app_id) {
                return Err(HostsError::PairingInProgress {
                    app_id: app_id.to_owned(),
                });
            }
            if waiting.len() >= MAX_PENDING {
                return Err(HostsError::TooManyPending);
            }
            if let Some(pid) = request.requester.as_ref().map(|requester| requester.pid) {
                let from_this_process = waiting
                    .values()
                    .filter(|entry| entry.request.requester.as_ref().map(|r| r.pid) == Some(pid))
                    .count();
                if from_this_process >= MAX_PENDING_PER_PROCESS {
                    return Err(HostsError::TooManyPendingFromProcess {
                        pid,
                        limit: MAX_PENDING_PER_PROCESS,
                    });
                }
            }
            waiting.insert(
                request.request_id.clone(),
                Waiting {
                    request: request.clone(),
                    decide: sender,
                },
            );
            // Announced under the lock, so `subscribe_with_pending` sees each
            // request exactly once: in its list or as this event.
            self.emit(PairingEvent::Requested(request.clone()));
        }
        // Removes the request however this call ends, including when the
        // host disconnects and this future is dropped.
        let guard = PendingGuard {
            pairings: self,
            request_id: request.request_id.clone(),
            app_id: app_id.to_owned(),
        };
        tracing::info!(app_id, request_id = %request.request_id, "pairing requested");
        if let Some(callback) = &self.inner.on_request {
            callback(&request);
        }
        let outcome = tokio::time::timeout(self.inner.timeout, receiver).await;
        match outcome {
            Ok(Ok(Decision::Approved(result))) => {
                guard.disarm();
                Ok(result)
            }
            Ok(Ok(Decision::Denied)) => {
                guard.disarm();
                Err(HostsError::PairingDenied)
            }
            // The sender vanished without a decision: only when the server is
            // shutting down.
            Ok(Err(_)) | Err(_) => Err(HostsError::PairingTimeout {
                seconds: self.inner.timeout.as_secs(),
            }),
        }
    }

    /// Requests waiting for a decision, oldest first.
    pub fn pending(&self) -> Vec<PendingPairing> {
        sorted_requests(&lock(&self.inner.waiting))
    }

    /// Allows a pending request: pairs the app (storing the token's hash)
    /// and hands the token to the waiting host.
    pub fn approve(&self, request_id: &str) -> Result<PairedHost> {
        let waiting = self.take(request_id)?;
        let request = waiting.request;
        let (host, token) = self
            .inner
            .registry
            .pair(&request.app_id, &request.app_name)?;
        let result = PairResult {
            app_id: request.app_id.clone(),
            token: token.expose().to_owned(),
        };
        if waiting.decide.send(Decision::Approved(result)).is_err() {
            // Nobody will ever see this token: don't leave a pairing behind.
            self.inner.registry.revoke(&request.app_id)?;
            return Err(HostsError::RequesterGone {
                app_id: request.app_id,
            });
        }
        tracing::info!(app_id = %host.app_id, request_id, "pairing approved");
        self.emit(PairingEvent::Approved {
            request_id: request_id.to_owned(),
            host: host.clone(),
        });
        Ok(host)
    }

    /// Refuses a pending request; the host gets `pairing_denied`.
    pub fn deny(&self, request_id: &str) -> Result<PendingPairing> {
        let waiting = self.take(request_id)?;
        if waiting.decide.send(Decision::Denied).is_err() {
            tracing::debug!(request_id, "the denied host had already stopped waiting");
        }
        tracing::info!(app_id = %waiting.request.app_id, request_id, "pairing denied");
        self.emit(PairingEvent::Denied {
            request_id: request_id.to_owned(),
            app_id: waiting.request.app_id.clone(),
        });
        Ok(waiting.request)
    }

    /// Paired hosts.
    pub fn list(&self) -> Result<Vec<PairedHost>> {
        self.inner.registry.list()
    }

    /// Forgets a paired host; `false` when it was not paired.
    pub fn revoke(&self, app_id: &str) -> Result<bool> {
        let revoked = self.inner.registry.revoke(app_id)?;
        if revoked {
            self.emit(PairingEvent::Revoked {
                app_id: app_id.to_owned(),
            });
        }
        Ok(revoked)
    }

    /// Records a resolve by a paired host (log + `last_used`) and tells
    /// the UI.
    pub fn record_resolve(
        &self,
        app_id: &str,
        entry_id: &str,
        requester: Option<Requester>,
    ) -> Result<ResolveRecord> {
        let record = self
            .inner
            .registry
            .record_resolve(app_id, entry_id, requester)?;
        self.emit(PairingEvent::Resolved(record.clone()));
        Ok(record)
    }

    /// Recorded resolves, oldest first.
    pub fn resolve_log(&self) -> Result<Vec<ResolveRecord>> {
        self.inner.registry.resolve_log()
    }

    fn take(&self, request_id: &str) -> Result<Waiting> {
        lock(&self.inner.waiting)
            .remove(request_id)
            .ok_or_else(|| HostsError::NotPending {
                request_id: request_id.to_owned(),
            })
    }

    fn emit(&self, event: PairingEvent) {
        // No receiver (no window open) is normal; the event is just dropped.
        if self.inner.events.send(event).is_err() {
            tracing::trace!("no pairing event receivers");
        }
    }
}

struct PendingGuard<'a> {
    pairings: &'a Pairings,
    request_id: String,
    app_id: String,
}

impl PendingGuard<'_> {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let removed = lock(&self.pairings.inner.waiting).remove(&self.request_id);
        if removed.is_some() {
            tracing::info!(app_id = %self.app_id, request_id = %self.request_id, "pairing request expired");
            self.pairings.emit(PairingEvent::Expired {
                request_id: std::mem::take(&mut self.request_id),
                app_id: std::mem::take(&mut self.app_id),
            });
        }
    }
}

fn sorted_requests(waiting: &HashMap<String, Waiting>) -> Vec<PendingPairing> {
    let mut pending: Vec<PendingPairing> = waiting
        .values()
        .map(|entry| entry.request.clone())
        .collect();
    pending.sort_by_key(|request| request.requested_at);
    pending
}

/// `app_id`: 1–128 of `[A-Za-z0-9._-]`; `app_name`: 1–64 characters without
/// control characters (it is shown in a prompt and a terminal).
pub(super) fn validate_app(app_id: &str, app_name: &str) -> Result<()> {
    let id_ok = (1..=128).contains(&app_id.len())
        && app_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(HostsError::InvalidParams {
            detail: "app_id must be 1–128 characters of A–Z, a–z, 0–9, `.`, `_` and `-` (e.g. com.example.editor)".to_owned(),
        });
    }
    let name_length = app_name.chars().count();
    if !(1..=64).contains(&name_length)
        || app_name
            .chars()
            .any(|character| character.is_control() || is_invisible(character))
        || app_name.trim().is_empty()
    {
        return Err(HostsError::InvalidParams {
            detail: "app_name must be 1–64 characters with no control, bidirectional, zero-width or other invisible formatting characters".to_owned(),
        });
    }
    Ok(())
}

/// Unicode format characters (general category Cf: bidirectional controls,
/// zero-width spaces and joiners, the BOM, invisible operators, tags) and
/// line/paragraph separators. In a name shown in the consent prompt they
/// could make one app look like another ("Editor\u{202E}…").
fn is_invisible(character: char) -> bool {
    matches!(
        u32::from(character),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Eight hex characters: short enough to type in `patchbay hosts approve`.
fn new_request_id() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|error| HostsError::Internal {
        detail: format!("no OS randomness: {error}"),
    })?;
    Ok(hex::encode(bytes))
}

/// A poisoned lock only means a panic elsewhere; the map stays consistent
/// (single inserts and removes), so keep serving.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_core::Kind;

    fn pairings(timeout: Duration) -> (tempfile::TempDir, Pairings) {
        let directory = tempfile::tempdir().expect("temp dir");
        let registry = HostRegistry::in_dir(directory.path());
        (directory, Pairings::new(registry, None, timeout))
    }

    async fn wait_for_pending(pairings: &Pairings) -> PendingPairing {
        for _ in 0..200 {
            if let Some(first) = pairings.pending().into_iter().next() {
                return first;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("no pending request appeared");
    }

    #[tokio::test]
    async fn approve_hands_the_token_to_the_waiting_host() {
        let (_directory, pairings) = pairings(Duration::from_secs(10));
        let mut events = pairings.subscribe();
        let waiter = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("com.example.app", "Example", None).await }
        });
        let request = wait_for_pending(&pairings).await;
        assert!(
            matches!(events.recv().await, Ok(PairingEvent::Requested(ref seen)) if seen.request_id == request.request_id)
        );
        pairings.approve(&request.request_id).expect("approve");
        let result = waiter.await.expect("join").expect("approved");
        assert_eq!(
            pairings
                .registry()
                .authenticate(&result.token)
                .expect("token works")
                .app_id,
            "com.example.app"
        );
        assert!(pairings.pending().is_empty());
        assert!(matches!(
            pairings.approve(&request.request_id),
            Err(HostsError::NotPending { .. })
        ));
        assert!(
            request.replaces.is_none(),
            "a first pairing replaces nothing"
        );

        // The same app id asking again is never a silent replacement: the
        // request names the pairing it would replace.
        let again = tokio::spawn({
            let pairings = pairings.clone();
            async move {
                pairings
                    .request("com.example.app", "Totally Example", None)
                    .await
            }
        });
        let second = wait_for_pending(&pairings).await;
        let replaced = second.replaces.as_ref().expect("what it replaces");
        assert_eq!(replaced.app_name, "Example");
        pairings.deny(&second.request_id).expect("deny");
        assert!(again.await.expect("join").is_err());
        assert!(
            pairings.registry().authenticate(&result.token).is_ok(),
            "denied: the first app keeps its access"
        );
    }

    #[tokio::test]
    async fn deny_and_timeout_issue_no_token() {
        let (_directory, pairings) = pairings(Duration::from_millis(200));
        let waiter = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("a", "A", None).await }
        });
        let request = wait_for_pending(&pairings).await;
        pairings.deny(&request.request_id).expect("deny");
        assert!(matches!(
            waiter.await.expect("join"),
            Err(HostsError::PairingDenied)
        ));

        let timed_out = pairings.request("b", "B", None).await;
        assert!(matches!(timed_out, Err(HostsError::PairingTimeout { .. })));
        assert!(pairings.pending().is_empty());
        assert!(pairings.list().expect("list").is_empty());
    }

    #[tokio::test]
    async fn a_subscriber_sees_each_request_once_in_the_list_or_as_an_event() {
        let (_directory, pairings) = pairings(Duration::from_secs(10));
        let early = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("early", "Early", None).await }
        });
        let waiting = wait_for_pending(&pairings).await;
        let (pending, mut events) = pairings.subscribe_with_pending();
        assert_eq!(pending, vec![waiting.clone()]);
        let late = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("late", "Late", None).await }
        });
        match events.recv().await {
            Ok(PairingEvent::Requested(request)) => assert_eq!(request.app_id, "late"),
            other => panic!("expected only the late request, got {other:?}"),
        }
        pairings.deny(&waiting.request_id).expect("deny early");
        assert!(matches!(
            events.recv().await,
            Ok(PairingEvent::Denied { ref app_id, .. }) if app_id == "early"
        ));
        for request in pairings.pending() {
            pairings.deny(&request.request_id).expect("deny late");
        }
        assert!(early.await.expect("join").is_err());
        assert!(late.await.expect("join").is_err());
    }

    #[tokio::test]
    async fn invalid_or_duplicate_requests_are_refused() {
        let (_directory, pairings) = pairings(Duration::from_secs(5));
        assert!(matches!(
            pairings.request("has space", "X", None).await,
            Err(HostsError::InvalidParams { .. })
        ));
        assert!(matches!(
            pairings.request("ok", "bad\u{7}name", None).await,
            Err(HostsError::InvalidParams { .. })
        ));
        // Names that would make the prompt lie about which app asks.
        for spoof in [
            "Editor\u{202E}rotidE",
            "Trusted\u{200B}App",
            "\u{2066}Bank\u{2069}",
            "Mail\u{FEFF}",
            "Tag\u{E0041}",
            "Line\u{2028}Break",
        ] {
            assert!(
                matches!(
                    pairings.request("ok", spoof, None).await,
                    Err(HostsError::InvalidParams { .. })
                ),
                "{spoof:?}"
            );
        }
        // Ordinary international names and emoji stay allowed.
        for fine in ["Éditeur", "編集者", "Notes ✍️"] {
            assert!(validate_app("ok", fine).is_ok(), "{fine}");
        }
        let first = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("dup", "Dup", None).await }
        });
        let request = wait_for_pending(&pairings).await;
        assert!(matches!(
            pairings.request("dup", "Dup", None).await,
            Err(HostsError::PairingInProgress { .. })
        ));
        pairings.deny(&request.request_id).expect("deny");
        assert!(first.await.expect("join").is_err());
    }

    #[tokio::test]
    async fn one_process_cannot_take_every_pending_slot() {
        let (_directory, pairings) = pairings(Duration::from_secs(5));
        let from = |pid| {
            Some(Requester {
                pid,
                executable: None,
            })
        };
        let mut waiting = Vec::new();
        for index in 0..MAX_PENDING_PER_PROCESS {
            let pairings = pairings.clone();
            waiting.push(tokio::spawn(async move {
                pairings
                    .request(&format!("app-{index}"), "App", from(4242))
                    .await
            }));
        }
        for _ in 0..200 {
            if pairings.pending().len() == MAX_PENDING_PER_PROCESS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pairings.pending().len(), MAX_PENDING_PER_PROCESS);
        let refused = pairings.request("one-more", "App", from(4242)).await;
        match refused {
            Err(error @ HostsError::TooManyPendingFromProcess { .. }) => {
                assert_eq!(error.kind(), Kind::TooManyPending);
                assert!(error.to_string().contains("4242"), "{error}");
            }
            other => panic!("expected a per-process refusal, got {other:?}"),
        }
        // Another process still gets a slot.
        let other = tokio::spawn({
            let pairings = pairings.clone();
            async move { pairings.request("other", "Other", from(777)).await }
        });
        for _ in 0..200 {
            if pairings
                .pending()
                .iter()
                .any(|request| request.app_id == "other")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(pairings
            .pending()
            .iter()
            .any(|request| request.app_id == "other"));
        for request in pairings.pending() {
            pairings.deny(&request.request_id).expect("deny");
        }
        for task in waiting {
            assert!(task.await.expect("join").is_err());
        }
        assert!(other.await.expect("join").is_err());
    }
}
