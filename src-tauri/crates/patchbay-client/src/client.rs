//! One connection to the Patchbay IPC server: requests matched to responses
//! by id (so several calls may be in flight), and `entries.changed`
//! notifications fanned out to [`Subscription`]s.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchbay_protocol::entries::PickerEntry;
use patchbay_protocol::rpc::{
    methods, DecisionParams, EntriesResult, ErrorObject, HelloResult, HostsResult,
    HostsSubscribeResult, ListParams, PairParams, PairResult, PairedHost, PendingPairing,
    PendingResult, ProviderTestParams, ProvidersResult, Request, RequestId, ResolveLogResult,
    ResolveParams, ResolveRecord, ResolveResult, RevokeParams, RevokeResult, LATEST_PROTOCOL,
    MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION, PROTOCOL_VERSIONS,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::entry_list::EntryList;
use crate::error::ClientError;
use crate::frame::{read_frame, FrameRead};
use crate::pairing_feed::{self, PairingNotice, PairingSubscription};
use crate::transport::{self, Stream};

/// How long an ordinary call may take before [`ClientError::Timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// `host.pair` waits for a person to decide; the server gives up after five
/// minutes, so the client waits a little longer than that.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(330);
/// A connection test runs several network stages, each with its own timeout.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The raw `result` JSON: decoded straight into the caller's type, with no
/// intermediate `Value` tree (a 2,000-entry list decodes several times faster).
type Reply = Result<Box<RawValue>, ClientError>;
type EntriesSlot = Option<EntryList>;
/// The newest list this connection has seen, from an answer or a
/// notification: `entries.list` sends its tag and reuses it when unchanged.
type Latest = Arc<Mutex<Option<EntryList>>>;
/// Where pairing notifications go while a [`PairingSubscription`] is open.
type PairingSlot = Arc<Mutex<Option<mpsc::Sender<PairingNotice>>>>;

/// Calls waiting for their response, keyed by request id. `None` once the
/// connection has closed, so late callers fail fast.
type PendingCalls = Arc<Mutex<Option<HashMap<i64, oneshot::Sender<Reply>>>>>;

/// A connection to the Patchbay IPC server. Cheap to clone; the connection
/// closes when the last clone (and the last [`Subscription`]) is dropped.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

struct Shared {
    endpoint: PathBuf,
    writer: tokio::sync::Mutex<WriteHalf<Box<dyn Stream>>>,
    pending: PendingCalls,
    next_id: AtomicI64,
    entries: watch::Receiver<EntriesSlot>,
    latest: Latest,
    pairing: PairingSlot,
    reader: JoinHandle<()>,
    timeout: Duration,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.shared.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the server at the platform's default endpoint
    /// ([`crate::default_endpoint`]). Fails with
    /// [`ClientError::NotRunning`] when no server is listening.
    pub async fn connect() -> Result<Self, ClientError> {
        let endpoint = transport::default_endpoint()?;
        Self::connect_to(&endpoint).await
    }

    /// Connects to the server at `endpoint` (a socket path, or a pipe name on
    /// Windows).
    pub async fn connect_to(endpoint: &Path) -> Result<Self, ClientError> {
        let stream = transport::connect(endpoint).await?;
        let (read_half, write_half) = tokio::io::split(stream);
        let pending: PendingCalls = Arc::new(Mutex::new(Some(HashMap::new())));
        let (entries_sender, entries_receiver) = watch::channel(None);
        let latest: Latest = Arc::new(Mutex::new(None));
        let pairing: PairingSlot = Arc::new(Mutex::new(None));
        let reader = tokio::spawn(read_loop(
            read_half,
            Arc::clone(&pending),
            Feeds {
                entries: entries_sender,
                latest: Arc::clone(&latest),
                pairing: Arc::clone(&pairing),
            },
        ));
        Ok(Self {
            shared: Arc::new(Shared {
                endpoint: endpoint.to_owned(),
                writer: tokio::sync::Mutex::new(write_half),
                pending,
                next_id: AtomicI64::new(1),
                entries: entries_receiver,
                latest,
                pairing,
                reader,
                timeout: DEFAULT_TIMEOUT,
            }),
        })
    }

    /// Where this client is connected.
    pub fn endpoint(&self) -> &Path {
        &self.shared.endpoint
    }

    /// Sends any method with raw JSON params and returns the raw result.
    /// The typed methods below are built on it.
    pub async fn call(&self, method: &str, params: Option<Value>) -> Result<Value, ClientError> {
        decode(
            method,
            &self
                .call_within(method, params, self.shared.timeout)
                .await?,
        )
    }

    /// A call whose raw result is decoded by the typed methods.
    async fn call_raw(&self, method: &str, params: Option<Value>) -> Reply {
        self.call_within(method, params, self.shared.timeout).await
    }

    async fn call_within(&self, method: &str, params: Option<Value>, limit: Duration) -> Reply {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = lock(&self.shared.pending);
            match pending.as_mut() {
                Some(calls) => calls.insert(id, sender),
                None => return Err(ClientError::Disconnected),
            };
        }
        let request = Request::new(RequestId::Number(id), method, params);
        let mut frame = serde_json::to_vec(&request).map_err(|error| {
            ClientError::protocol(format!("could not encode {method}: {error}"))
        })?;
        frame.push(b'\n');
        let written = {
            let mut writer = self.shared.writer.lock().await;
            match writer.write_all(&frame).await {
                Ok(()) => writer.flush().await,
                Err(error) => Err(error),
            }
        };
        if let Err(error) = written {
            self.forget(id);
            return Err(ClientError::io(format!("send {method} to Patchbay"), error));
        }
        match tokio::time::timeout(limit, receiver).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_closed)) => Err(ClientError::Disconnected),
            Err(_elapsed) => {
                self.forget(id);
                Err(ClientError::Timeout {
                    method: method.to_owned(),
                    seconds: limit.as_secs(),
                })
            }
        }
    }

    fn forget(&self, id: i64) {
        if let Some(calls) = lock(&self.shared.pending).as_mut() {
            calls.remove(&id);
        }
    }

    /// `patchbay.hello`: the server's protocol and app version and its
    /// methods. Fails with [`ClientError::UnsupportedVersion`] when the
    /// server speaks another protocol version.
    pub async fn hello(&self) -> Result<HelloResult, ClientError> {
        let params = serde_json::json!({ "protocols": PROTOCOL_VERSIONS });
        let hello: HelloResult = decode(
            methods::HELLO,
            &self.call_raw(methods::HELLO, Some(params)).await?,
        )?;
        if !PROTOCOL_VERSIONS.contains(&hello.protocol) {
            return Err(ClientError::UnsupportedVersion {
                what: "IPC protocol",
                found: u64::from(hello.protocol),
                supported: u64::from(LATEST_PROTOCOL),
            });
        }
        Ok(hello)
    }

    /// `entries.list`: the current picker entries. When this connection
    /// already holds a list (from an earlier call or a notification), its
    /// tag goes along as `if_none_match`, and an unchanged list costs the
    /// server a few bytes and this call no decoding: the held list comes
    /// back, shared, not copied.
    pub async fn list_entries(&self) -> Result<EntryList, ClientError> {
        let known = lock(&self.shared.latest)
            .clone()
            .filter(|list| !list.etag().is_empty());
        let params = match &known {
            Some(list) => Some(encode(&ListParams {
                if_none_match: Some(list.etag().to_owned()),
            })?),
            None => None,
        };
        let answer: ListAnswer = decode(
            methods::ENTRIES_LIST,
            &self.call_raw(methods::ENTRIES_LIST, params).await?,
        )?;
        let list =
            match (answer.entries, known) {
                (Some(entries), _) => EntryList::from_result(EntriesResult {
                    etag: answer.etag,
                    entries,
                }),
                (None, Some(known)) if answer.unchanged && answer.etag == known.etag() => known,
                (None, _) => return Err(ClientError::protocol(
                    "entries.list answered without entries for a list this client does not hold",
                )),
            };
        *lock(&self.shared.latest) = Some(list.clone());
        Ok(list)
    }

    /// `entries.subscribe`: the entries now, then every change.
    pub async fn subscribe(&self) -> Result<Subscription, ClientError> {
        let mut receiver = self.shared.entries.clone();
        // Anything that arrives from here on is newer than what we have seen.
        receiver.borrow_and_update();
        let result: EntriesResult = decode(
            methods::ENTRIES_SUBSCRIBE,
            &self.call_raw(methods::ENTRIES_SUBSCRIBE, None).await?,
        )?;
        let initial = EntryList::from_result(result);
        *lock(&self.shared.latest) = Some(initial.clone());
        Ok(Subscription {
            initial,
            receiver,
            _client: self.clone(),
        })
    }

    /// `providers.list`: the providers as Patchbay shows them (the
    /// `ProviderView` shape of `docs/ipc.md`), without any secret.
    pub async fn list_providers(&self) -> Result<Vec<Value>, ClientError> {
        let result: ProvidersResult = decode(
            methods::PROVIDERS_LIST,
            &self.call_raw(methods::PROVIDERS_LIST, None).await?,
        )?;
        Ok(result.providers)
    }

    /// `provider.test`: runs the staged connection test and returns its
    /// report (see `docs/ipc.md` for its shape).
    pub async fn test_provider(
        &self,
        token: &str,
        provider_id: &str,
        model: Option<&str>,
    ) -> Result<Value, ClientError> {
        let params = ProviderTestParams {
            token: token.to_owned(),
            provider_id: provider_id.to_owned(),
            model: model.map(str::to_owned),
        };
        decode(
            methods::PROVIDER_TEST,
            &self
                .call_within(methods::PROVIDER_TEST, Some(encode(&params)?), TEST_TIMEOUT)
                .await?,
        )
    }

    /// `host.pair`: asks the person to allow this host. Waits (up to about
    /// five minutes) for the decision; on approval returns the token, which
    /// Patchbay will never show again: store it.
    pub async fn pair(&self, app_id: &str, app_name: &str) -> Result<PairResult, ClientError> {
        let params = PairParams {
            app_id: app_id.to_owned(),
            app_name: app_name.to_owned(),
        };
        let result = self
            .call_within(methods::HOST_PAIR, Some(encode(&params)?), PAIR_TIMEOUT)
            .await?;
        decode(methods::HOST_PAIR, &result)
    }

    /// `entries.resolve` (protocol 2): where and how to send requests for
    /// one entry — Patchbay's local gateway as `base_url`, the entry id as
    /// `model_id`, and this app's own token as the `Authorization` header.
    /// The provider's key never reaches the app. Fails with the server's
    /// `key_withheld`/`gateway_off` while the gateway is switched off.
    /// The result's `Debug` shows header names only.
    pub async fn resolve(&self, token: &str, entry_id: &str) -> Result<ResolveResult, ClientError> {
        self.resolve_with(token, entry_id, LATEST_PROTOCOL).await
    }

    /// `entries.resolve` in the given protocol version: 1 asks for the
    /// provider's own key and headers, which only an app the person allowed
    /// to receive raw keys gets (`key_withheld`/`raw_keys_not_allowed`
    /// otherwise).
    pub async fn resolve_with(
        &self,
        token: &str,
        entry_id: &str,
        protocol: u32,
    ) -> Result<ResolveResult, ClientError> {
        let params = ResolveParams {
            token: token.to_owned(),
            entry_id: entry_id.to_owned(),
            protocol: (protocol != PROTOCOL_VERSION).then_some(protocol),
        };
        decode(
            methods::ENTRIES_RESOLVE,
            &self
                .call_raw(methods::ENTRIES_RESOLVE, Some(encode(&params)?))
                .await?,
        )
    }

    /// Admin (`hosts.pending`): pairing requests waiting for a decision.
    pub async fn pending_pairings(&self) -> Result<Vec<PendingPairing>, ClientError> {
        let result: PendingResult = decode(
            methods::HOSTS_PENDING,
            &self.call_raw(methods::HOSTS_PENDING, None).await?,
        )?;
        Ok(result.pending)
    }

    /// Admin (`hosts.approve`): allows a pending request; the waiting host
    /// receives its token.
    pub async fn approve_pairing(
        &self,
        request_id: &str,
        admin: &str,
    ) -> Result<PairedHost, ClientError> {
        let params = DecisionParams {
            request_id: request_id.to_owned(),
            admin: admin.to_owned(),
        };
        decode(
            methods::HOSTS_APPROVE,
            &self
                .call_raw(methods::HOSTS_APPROVE, Some(encode(&params)?))
                .await?,
        )
    }

    /// Admin (`hosts.deny`): refuses a pending request.
    pub async fn deny_pairing(
        &self,
        request_id: &str,
        admin: &str,
    ) -> Result<PendingPairing, ClientError> {
        let params = DecisionParams {
            request_id: request_id.to_owned(),
            admin: admin.to_owned(),
        };
        decode(
            methods::HOSTS_DENY,
            &self
                .call_raw(methods::HOSTS_DENY, Some(encode(&params)?))
                .await?,
        )
    }

    /// Admin (`hosts.list`): paired hosts.
    pub async fn paired_hosts(&self) -> Result<Vec<PairedHost>, ClientError> {
        let result: HostsResult = decode(
            methods::HOSTS_LIST,
            &self.call_raw(methods::HOSTS_LIST, None).await?,
        )?;
        Ok(result.hosts)
    }

    /// Admin (`hosts.revoke`): forgets a paired host. `Ok(false)` when it
    /// was not paired.
    pub async fn revoke_host(&self, app_id: &str, admin: &str) -> Result<bool, ClientError> {
        let params = RevokeParams {
            app_id: app_id.to_owned(),
            admin: admin.to_owned(),
        };
        let result: RevokeResult = decode(
            methods::HOSTS_REVOKE,
            &self
                .call_raw(methods::HOSTS_REVOKE, Some(encode(&params)?))
                .await?,
        )?;
        Ok(result.revoked)
    }

    /// Admin (`hosts.resolve_log`): the most recent resolves, oldest first.
    pub async fn resolve_log(&self) -> Result<Vec<ResolveRecord>, ClientError> {
        let result: ResolveLogResult = decode(
            methods::HOSTS_RESOLVE_LOG,
            &self.call_raw(methods::HOSTS_RESOLVE_LOG, None).await?,
        )?;
        Ok(result.records)
    }

    /// Admin (`hosts.subscribe`): the pairing requests waiting now, then a
    /// notice for every new request, decision, expiry, revocation and use.
    /// When the server goes away, [`PairingSubscription::next`] returns
    /// `None`. One subscription per client: a second one ends the first.
    pub async fn subscribe_pairings(&self) -> Result<PairingSubscription, ClientError> {
        let (sender, notices) = mpsc::channel(pairing_feed::READ_AHEAD);
        // In place before the call: the server's notices follow its answer.
        *lock(&self.shared.pairing) = Some(sender);
        let answer = self.call_raw(methods::HOSTS_SUBSCRIBE, None).await;
        let subscribed =
            answer.and_then(|raw| decode::<HostsSubscribeResult>(methods::HOSTS_SUBSCRIBE, &raw));
        match subscribed {
            Ok(result) => Ok(PairingSubscription {
                pending: result.pending,
                notices,
                _client: self.clone(),
            }),
            Err(error) => {
                lock(&self.shared.pairing).take();
                Err(error)
            }
        }
    }
}

/// Live entry lists after `entries.subscribe`. When the host reads slowly,
/// intermediate lists are skipped: [`Subscription::next`] always returns the
/// newest full list, so memory stays bounded and nothing stale is shown.
pub struct Subscription {
    initial: EntryList,
    receiver: watch::Receiver<EntriesSlot>,
    _client: Client,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("initial_entries", &self.initial.len())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// The entries at the moment of subscribing.
    pub fn initial(&self) -> &EntryList {
        &self.initial
    }

    /// Waits for the next change and returns the full new list; `None` once
    /// the connection has closed.
    pub async fn next(&mut self) -> Option<EntryList> {
        loop {
            self.receiver.changed().await.ok()?;
            if let Some(entries) = self.receiver.borrow_and_update().as_ref() {
                return Some(entries.clone());
            }
        }
    }
}

/// Where the reader hands notifications on.
struct Feeds {
    entries: watch::Sender<EntriesSlot>,
    latest: Latest,
    pairing: PairingSlot,
}

async fn read_loop(read_half: ReadHalf<Box<dyn Stream>>, pending: PendingCalls, feeds: Feeds) {
    // Large enough that a whole entry list arrives in a few reads.
    let mut reader = BufReader::with_capacity(64 * 1024, read_half);
    let mut buffer = Vec::new();
    loop {
        match read_frame(&mut reader, &mut buffer, MAX_SERVER_FRAME_BYTES).await {
            Ok(FrameRead::Frame) => dispatch(&buffer, &pending, &feeds),
            // The server never sends such frames; skipping one keeps the
            // connection usable, and the caller whose answer it was times out.
            Ok(FrameRead::TooLarge) => continue,
            Ok(FrameRead::Closed) | Err(_) => break,
        }
    }
    // Dropping the senders wakes every waiting call with `Disconnected` and
    // ends a pairing subscription.
    lock(&pending).take();
    lock(&feeds.pairing).take();
}

/// Any server frame, with `result` and `params` left as raw JSON.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default, borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<ErrorObject>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

fn dispatch(frame: &[u8], pending: &PendingCalls, feeds: &Feeds) {
    // Unparseable frames can't be routed to a caller; the caller times out.
    let Ok(incoming) = serde_json::from_slice::<Incoming<'_>>(frame) else {
        return;
    };
    match (incoming.id, incoming.method) {
        (Some(RequestId::Number(id)), None) => {
            let waiter = lock(pending).as_mut().and_then(|calls| calls.remove(&id));
            let Some(waiter) = waiter else { return };
            let reply = match (incoming.result, incoming.error) {
                (_, Some(error)) => Err(ClientError::Rpc {
                    code: error.code,
                    kind: error.kind().map(str::to_owned),
                    reason: error.reason().map(str::to_owned),
                    message: error.message,
                }),
                (Some(result), None) => Ok(result.to_owned()),
                // `"result": null` reads as absent.
                (None, None) => Ok(null_result()),
            };
            // The caller may have timed out and gone; nothing to do then.
            drop(waiter.send(reply));
        }
        (None, Some(method)) if method == methods::ENTRIES_CHANGED => {
            let parsed = incoming
                .params
                .map(|params| serde_json::from_str::<EntriesResult>(params.get()));
            if let Some(Ok(result)) = parsed {
                let list = EntryList::from_result(result);
                *lock(&feeds.latest) = Some(list.clone());
                feeds.entries.send_replace(Some(list));
            }
        }
        (None, Some(method)) => {
            let notice = incoming
                .params
                .and_then(|params| pairing_feed::notice(&method, params));
            let mut slot = lock(&feeds.pairing);
            if let (Some(notice), Some(sender)) = (notice, slot.as_ref()) {
                // Gone, or so far behind that notices would be lost: end
                // the subscription rather than let it miss one silently.
                if sender.try_send(notice).is_err() {
                    slot.take();
                }
            }
        }
        // Unknown notifications are from a newer server: ignored, as
        // documented. Answers with ids we never use are ignored too.
        _ => {}
    }
}

/// An `entries.list` result: the full list, or `{"etag","unchanged":true}`.
/// One struct rather than an untagged enum, so a large list is decoded in a
/// single pass without buffering.
#[derive(Deserialize)]
struct ListAnswer {
    #[serde(default)]
    etag: String,
    #[serde(default)]
    unchanged: bool,
    #[serde(default)]
    entries: Option<Vec<PickerEntry>>,
}

/// serde_json's default raw value is `null`.
fn null_result() -> Box<RawValue> {
    Box::<RawValue>::default()
}

fn decode<T: DeserializeOwned>(method: &str, raw: &RawValue) -> Result<T, ClientError> {
    serde_json::from_str(raw.get())
        .map_err(|error| ClientError::protocol(format!("unexpected {method} result: {error}")))
}

fn encode<T: Serialize>(params: &T) -> Result<Value, ClientError> {
    serde_json::to_value(params)
        .map_err(|error| ClientError::protocol(format!("could not encode params: {error}")))
}

/// A poisoned lock only means another thread panicked while holding it; the
/// map inside is still consistent (every operation is a single insert or
/// remove), so keep going.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
