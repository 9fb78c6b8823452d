//! The IPC server: accepts connections on the local endpoint, reads capped
//! JSON-RPC frames, answers the cheap methods inline from cached bytes, and
//! runs the slow ones (pairing, resolve, tests, admin) on their own tasks so
//! a connection can keep asking while one waits.
//!
//! Isolation: every connection has a reader task and a writer task joined by
//! a bounded queue. A client that stops reading fills only its own queue;
//! its writes time out and it is disconnected. Notifications are never
//! awaited (see [`crate::feed`]). Nothing here holds a lock across an await.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use patchbay_client::{read_frame, FrameRead};
use patchbay_core::config::ConfigPaths;
use patchbay_core::store::{ProviderStore, ProviderView};
use patchbay_core::{Auth, ProviderId};
use patchbay_protocol::entries::split_entry_id;
use patchbay_protocol::rpc::{
    codes, methods, DecisionParams, EntriesUnchanged, ErrorObject, HelloResult, HostsResult,
    ListParams, PairParams, PendingResult, ProviderTestParams, RequestId, ResolveLogResult,
    ResolveParams, ResolveResult, Response, RevokeParams, RevokeResult, MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
};
use patchbay_service::{Service, Subject, TestRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncWriteExt, BufReader, WriteHalf};
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::endpoint::{self, Listener, Stream};
use crate::error::{IpcError, Result};
use crate::feed::{EntriesFeed, Frame, Subscriber};
use crate::hosts::HostRegistry;
use crate::pairing::PairingEvent;
use crate::pairing::{PairingCallback, Pairings, DEFAULT_PAIRING_TIMEOUT};
use patchbay_protocol::rpc::HostsChanged;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

/// Frames queued per connection before a subscriber counts as stuck.
const QUEUE_CAPACITY: usize = 64;
/// A write that makes no progress for this long means the client stopped
/// reading: it is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Slow requests one connection may have in flight at once.
const MAX_IN_FLIGHT: usize = 8;
/// Connections served at once; more are told `busy` and closed.
const MAX_CONNECTIONS: usize = 512;

/// Every method this server answers, as `patchbay.hello` reports them.
pub const METHODS: &[&str] = &[
    methods::HELLO,
    methods::ENTRIES_LIST,
    methods::ENTRIES_SUBSCRIBE,
    methods::ENTRIES_UNSUBSCRIBE,
    methods::ENTRIES_RESOLVE,
    methods::PROVIDERS_LIST,
    methods::PROVIDER_TEST,
    methods::HOST_PAIR,
    methods::HOSTS_LIST,
    methods::HOSTS_PENDING,
    methods::HOSTS_APPROVE,
    methods::HOSTS_DENY,
    methods::HOSTS_REVOKE,
    methods::HOSTS_RESOLVE_LOG,
    methods::HOSTS_SUBSCRIBE,
    methods::HOSTS_UNSUBSCRIBE,
];

/// What [`Server::start`] needs.
pub struct ServerOptions {
    /// The socket path (Unix) or pipe name (Windows).
    pub endpoint: PathBuf,
    /// The use cases (and the one provider store) the app or CLI already uses.
    pub service: Arc<Service>,
    /// Where `providers.json` lives: watched for changes by other processes.
    pub config: ConfigPaths,
    /// `hosts.json`, normally in the same directory as `providers.json`.
    pub hosts: HostRegistry,
    /// Called when a host asks to pair (the app shows its prompt).
    pub on_pairing_request: Option<PairingCallback>,
    pub pairing_timeout: Duration,
    /// Reported by `patchbay.hello`.
    pub app_version: String,
    /// Watch `providers.json` for changes by other processes (the app, the
    /// CLI, hand edits). Tests that drive changes through
    /// [`ServerHandle::notify_config_changed`] may turn it off.
    pub watch_config: bool,
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("endpoint", &self.endpoint)
            .field("config", &self.config)
            .field("hosts", &self.hosts)
            .field("service", &self.service)
            .field("on_pairing_request", &self.on_pairing_request.is_some())
            .field("pairing_timeout", &self.pairing_timeout)
            .field("app_version", &self.app_version)
            .field("watch_config", &self.watch_config)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// Defaults: the platform endpoint, the service store's config paths,
    /// `hosts.json` beside `providers.json`, a five-minute pairing timeout,
    /// this crate's version, watching on.
    pub fn new(service: Arc<Service>) -> Result<Self> {
        Ok(Self::at(endpoint::default_endpoint()?, service))
    }

    /// [`ServerOptions::new`] with an explicit endpoint.
    pub fn at(endpoint: PathBuf, service: Arc<Service>) -> Self {
        let config = service.store().paths().clone();
        Self {
            endpoint,
            hosts: HostRegistry::in_dir(&config.dir),
            service,
            config,
            on_pairing_request: None,
            pairing_timeout: DEFAULT_PAIRING_TIMEOUT,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            watch_config: true,
        }
    }
}

/// Namespace for starting the server.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Claims the endpoint and starts serving on the current tokio runtime.
    /// Fails with [`IpcError::AlreadyRunning`] when another server holds it.
    pub async fn start(options: ServerOptions) -> Result<ServerHandle> {
        let listener = Listener::bind(&options.endpoint).await?;
        let hello = HelloResult {
            protocol: PROTOCOL_VERSION,
            app_version: options.app_version.clone(),
            methods: METHODS.iter().map(|method| (*method).to_owned()).collect(),
        };
        let hello_json = serde_json::to_string(&hello).map_err(|error| IpcError::Internal {
            detail: format!("could not encode hello: {error}"),
        })?;
        let (shutdown_sender, shutdown) = watch::channel(false);
        let feed = EntriesFeed::new(current_entries(options.service.store())?)?;
        let state = Arc::new(State {
            store: Arc::clone(options.service.store()),
            service: options.service,
            feed,
            pairings: Pairings::new(
                options.hosts,
                options.on_pairing_request,
                options.pairing_timeout,
            ),
            hello_json: Arc::from(hello_json),
            next_connection: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            shutdown,
        });
        let watcher = if options.watch_config {
            let watched = Arc::clone(&state);
            let watcher = patchbay_core::config::watch(&options.config, move || {
                if let Err(error) = refresh(&watched) {
                    tracing::warn!(%error, "could not reload the entries after a config change");
                }
            })?;
            Some(watcher)
        } else {
            None
        };
        let endpoint = listener.path().to_owned();
        tracing::info!(endpoint = %endpoint.display(), "IPC server listening");
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Ok(ServerHandle {
            state,
            shutdown: shutdown_sender,
            accept,
            endpoint,
            _watcher: watcher,
        })
    }
}

/// A running server. Dropping it (or [`ServerHandle::shutdown`]) stops
/// accepting, closes every connection and removes the socket file.
pub struct ServerHandle {
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
    endpoint: PathBuf,
    _watcher: Option<patchbay_core::config::ConfigWatcher>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("endpoint", &self.endpoint)
            .field(
                "connections",
                &self.state.connections.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    pub fn endpoint(&self) -> &Path {
        &self.endpoint
    }

    /// The admin API for the app: pending requests, approve, deny, paired
    /// hosts, revoke, resolve log, and an event stream for the UI.
    pub fn pairings(&self) -> &Pairings {
        &self.state.pairings
    }

    /// Re-reads the providers and notifies subscribers if the entries
    /// changed. The app calls it after its own writes so hosts see them
    /// without waiting for the file watcher. Blocking (reads the config
    /// file); returns whether the entries changed.
    pub fn notify_config_changed(&self) -> Result<bool> {
        refresh(&self.state)
    }

    /// Connections currently subscribed to `entries.changed`.
    pub fn subscriber_count(&self) -> usize {
        self.state.feed.subscriber_count()
    }

    /// Connections currently open.
    pub fn connection_count(&self) -> usize {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Stops the server and waits until it no longer accepts connections: on
    /// Unix the socket file is gone when this returns; on Windows the last
    /// waiting pipe instance closes a moment later.
    pub async fn shutdown(mut self) {
        self.stop();
        let accept = std::mem::replace(&mut self.accept, tokio::spawn(async {}));
        if let Err(error) = accept.await {
            if !error.is_cancelled() {
                tracing::warn!(%error, "the IPC accept task failed");
            }
        }
    }

    fn stop(&self) {
        self.shutdown.send_replace(true);
        self.accept.abort();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the server until Ctrl-C or SIGTERM: `patchbay serve`.
pub async fn serve_foreground(options: ServerOptions) -> Result<()> {
    let handle = Server::start(options).await?;
    eprintln!(
        "Patchbay is serving on {} (pid {}). Press Ctrl-C to stop.",
        handle.endpoint().display(),
        std::process::id()
    );
    wait_for_termination().await?;
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_termination() -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|error| IpcError::io("listen for", "SIGTERM", error))?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.map_err(|error| IpcError::io("listen for", "Ctrl-C", error)),
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_termination() -> Result<()> {
    tokio::signal::ctrl_c()
        .await
        .map_err(|error| IpcError::io("listen for", "Ctrl-C", error))
}

struct State {
    store: Arc<ProviderStore>,
    service: Arc<Service>,
    feed: EntriesFeed,
    pairings: Pairings,
    hello_json: Arc<str>,
    next_connection: AtomicU64,
    connections: AtomicUsize,
    shutdown: watch::Receiver<bool>,
}

fn current_entries(store: &ProviderStore) -> Result<Vec<patchbay_protocol::entries::PickerEntry>> {
    let listing = store.list()?;
    Ok(patchbay_core::entries::picker_entries(&listing.providers))
}

fn refresh(state: &State) -> Result<bool> {
    state.feed.update(current_entries(&state.store)?)
}

async fn accept_loop(listener: Listener, state: Arc<State>) {
    loop {
        let stream = match listener.accept().await {
            Ok(stream) => stream,
            Err(error) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(%error, "accepting an IPC connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let open = state.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            if open > MAX_CONNECTIONS {
                refuse_busy(stream).await;
            } else {
                let id = state.next_connection.fetch_add(1, Ordering::Relaxed);
                serve_connection(&state, stream, id).await;
            }
            state.connections.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

async fn refuse_busy(mut stream: Box<dyn Stream>) {
    let error = IpcError::Busy {
        detail: format!("more than {MAX_CONNECTIONS} connections are open"),
    };
    let frame = failure_frame(None, error.to_error_object());
    if let Err(error) = tokio::time::timeout(WRITE_TIMEOUT, frame.write_to(&mut stream)).await {
        tracing::debug!(%error, "could not tell a refused client why");
    }
}

/// One connection's shared parts, handed to the tasks that answer it.
#[derive(Clone)]
struct Connection {
    id: u64,
    queue: mpsc::Sender<Frame>,
    kick: Arc<Notify>,
    closed: watch::Receiver<bool>,
    in_flight: Arc<Semaphore>,
    /// The task relaying pairing events after `hosts.subscribe`.
    hosts_feed: Arc<std::sync::Mutex<Option<AbortHandle>>>,
}

async fn serve_connection(state: &Arc<State>, stream: Box<dyn Stream>, id: u64) {
    let (read_half, write_half) = tokio::io::split(stream);
    let (queue, outgoing) = mpsc::channel(QUEUE_CAPACITY);
    let kick = Arc::new(Notify::new());
    let (closed_sender, closed) = watch::channel(false);
    let writer = tokio::spawn(write_loop(write_half, outgoing, Arc::clone(&kick)));
    let connection = Connection {
        id,
        queue,
        kick: Arc::clone(&kick),
        closed,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        hosts_feed: Arc::default(),
    };
    let mut reader = BufReader::new(read_half);
    let mut buffer = Vec::with_capacity(1024);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            read = read_frame(&mut reader, &mut buffer, MAX_FRAME_BYTES) => match read {
                Ok(FrameRead::Frame) => {
                    if let Some(frame) = handle_frame(state, &connection, &buffer) {
                        if connection.queue.send(frame).await.is_err() {
                            break;
                        }
                    }
                }
                Ok(FrameRead::TooLarge) => {
                    // The rest of the frame was skipped up to its newline,
                    // so the stream is back in sync and stays usable.
                    let error = ErrorObject::new(
                        codes::FRAME_TOO_LARGE,
                        "frame_too_large",
                        format!("Frames are limited to {MAX_FRAME_BYTES} bytes; this one was skipped."),
                    );
                    if connection.queue.send(failure_frame(None, error)).await.is_err() {
                        break;
                    }
                }
                Ok(FrameRead::Closed) | Err(_) => break,
            },
            () = kick.notified() => break,
            _ = shutdown.changed() => break,
        }
    }
    state.feed.unsubscribe(id);
    closed_sender.send_replace(true);
    drop(connection);
    // The writer ends once every task answering this connection has dropped
    // its queue handle; a stuck writer is bounded by WRITE_TIMEOUT.
    if let Err(error) = writer.await {
        tracing::debug!(%error, "an IPC writer task failed");
    }
}

async fn write_loop(
    mut writer: WriteHalf<Box<dyn Stream>>,
    mut outgoing: mpsc::Receiver<Frame>,
    kick: Arc<Notify>,
) {
    while let Some(frame) = outgoing.recv().await {
        match tokio::time::timeout(WRITE_TIMEOUT, frame.write_to(&mut writer)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(%error, "an IPC client went away");
                kick.notify_one();
                return;
            }
            Err(_elapsed) => {
                tracing::warn!("disconnecting an IPC client that stopped reading");
                kick.notify_one();
                return;
            }
        }
    }
    if let Err(error) = writer.shutdown().await {
        tracing::debug!(%error, "closing an IPC connection");
    }
}

/// The request part of a frame that passed the JSON-RPC checks.
struct Call {
    id: Option<RequestId>,
    method: String,
    params: Option<Value>,
}

/// Parses and answers one frame. Returns the frame to send now, if any;
/// slow methods send their answer later from their own task.
fn handle_frame(state: &Arc<State>, connection: &Connection, bytes: &[u8]) -> Option<Frame> {
    let call = match parse_call(bytes) {
        Ok(call) => call,
        Err(rejected) => return Some(failure_frame(rejected.id.as_ref(), rejected.error)),
    };
    // Requests without an id are notifications; no client notification is
    // defined, so they are ignored, as JSON-RPC allows.
    let id = call.id?;
    match call.method.as_str() {
        methods::HELLO => Some(success_frame_raw(&id, &state.hello_json)),
        methods::ENTRIES_LIST => Some(list_entries(state, &id, call.params)),
        methods::ENTRIES_SUBSCRIBE => {
            let subscriber = Subscriber {
                queue: connection.queue.clone(),
                kick: Arc::clone(&connection.kick),
            };
            let subscribed = state.feed.subscribe(connection.id, subscriber, |snapshot| {
                success_frame_raw(&id, &snapshot.result_json)
            });
            subscribed
                .err()
                .map(|error| failure_frame(Some(&id), error.to_error_object()))
        }
        methods::ENTRIES_UNSUBSCRIBE => {
            state.feed.unsubscribe(connection.id);
            Some(success_frame(&id, json!({"subscribed": false})))
        }
        methods::HOSTS_SUBSCRIBE => subscribe_hosts(state, connection, &id),
        methods::HOSTS_UNSUBSCRIBE => {
            stop_hosts_feed(connection);
            Some(success_frame(&id, json!({"subscribed": false})))
        }
        method if METHODS.contains(&method) => {
            spawn_call(state, connection, id, call.method, call.params)
        }
        method => Some(failure_frame(
            Some(&id),
            ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                "method_not_found",
                format!(
                    "Unknown method `{}`. patchbay.hello lists the supported ones.",
                    truncate(method, 64)
                ),
            ),
        )),
    }
}

/// `entries.list`: the cached list, or only `{"etag","unchanged":true}`
/// when the host's `if_none_match` is the current tag.
fn list_entries(state: &State, id: &RequestId, params: Option<Value>) -> Frame {
    let params: ListParams = match parse_params(params) {
        Ok(params) => params,
        Err(error) => return failure_frame(Some(id), error.to_error_object()),
    };
    let snapshot = state.feed.snapshot();
    if params.if_none_match.as_deref() == Some(&*snapshot.etag) {
        let unchanged = EntriesUnchanged {
            etag: snapshot.etag.to_string(),
            unchanged: true,
        };
        return match to_value(unchanged) {
            Ok(result) => success_frame(id, result),
            Err(error) => failure_frame(Some(id), error.to_error_object()),
        };
    }
    success_frame_raw(id, &snapshot.result_json)
}

fn spawn_call(
    state: &Arc<State>,
    connection: &Connection,
    id: RequestId,
    method: String,
    params: Option<Value>,
) -> Option<Frame> {
    let Ok(permit) = Arc::clone(&connection.in_flight).try_acquire_owned() else {
        let error = IpcError::Busy {
            detail: format!("at most {MAX_IN_FLIGHT} slow requests per connection"),
        };
        return Some(failure_frame(Some(&id), error.to_error_object()));
    };
    let state = Arc::clone(state);
    let queue = connection.queue.clone();
    let mut closed = connection.closed.clone();
    tokio::spawn(async move {
        let answer = tokio::select! {
            outcome = run_method(&state, &method, params) => match outcome {
                Ok(result) => success_frame(&id, result),
                Err(error) => failure_frame(Some(&id), error.to_error_object()),
            },
            // The client left: drop the work (a pairing request is withdrawn).
            _ = closed.wait_for(|closed| *closed) => return,
        };
        if queue.send(answer).await.is_err() {
            tracing::debug!(method, "the client left before its answer was sent");
        }
        drop(permit);
    });
    None
}

async fn run_method(state: &Arc<State>, method: &str, params: Option<Value>) -> Result<Value> {
    match method {
        methods::PROVIDERS_LIST => {
            let state = Arc::clone(state);
            blocking(move || {
                let listing = state.store.list()?;
                let views: Vec<ProviderView> =
                    listing.providers.iter().map(ProviderView::from).collect();
                Ok(json!({ "providers": views }))
            })
            .await
        }
        methods::PROVIDER_TEST => {
            let params: ProviderTestParams = parse_params(params)?;
            let provider_id = ProviderId::parse(&params.provider_id).map_err(|error| {
                IpcError::InvalidParams {
                    detail: error.to_string(),
                }
            })?;
            let request = TestRequest {
                chat_model: params.model,
                ..TestRequest::new(Subject::Saved(provider_id))
            };
            let report = state.service.test(request, &|_stage| {}).await?;
            to_value(report)
        }
        methods::HOST_PAIR => {
            let params: PairParams = parse_params(params)?;
            to_value(
                state
                    .pairings
                    .request(&params.app_id, &params.app_name)
                    .await?,
            )
        }
        methods::ENTRIES_RESOLVE => {
            let params: ResolveParams = parse_params(params)?;
            let state = Arc::clone(state);
            blocking(move || to_value(resolve(&state, &params.token, &params.entry_id)?)).await
        }
        methods::HOSTS_LIST => {
            let pairings = state.pairings.clone();
            blocking(move || {
                to_value(HostsResult {
                    hosts: pairings.list()?,
                })
            })
            .await
        }
        methods::HOSTS_PENDING => to_value(PendingResult {
            pending: state.pairings.pending(),
        }),
        methods::HOSTS_APPROVE => {
            let params: DecisionParams = parse_params(params)?;
            let pairings = state.pairings.clone();
            blocking(move || to_value(pairings.approve(&params.request_id)?)).await
        }
        methods::HOSTS_DENY => {
            let params: DecisionParams = parse_params(params)?;
            to_value(state.pairings.deny(&params.request_id)?)
        }
        methods::HOSTS_REVOKE => {
            let params: RevokeParams = parse_params(params)?;
            let pairings = state.pairings.clone();
            blocking(move || {
                to_value(RevokeResult {
                    revoked: pairings.revoke(&params.app_id)?,
                })
            })
            .await
        }
        methods::HOSTS_RESOLVE_LOG => {
            let pairings = state.pairings.clone();
            blocking(move || {
                to_value(ResolveLogResult {
                    records: pairings.resolve_log()?,
                })
            })
            .await
        }
        other => Err(IpcError::Internal {
            detail: format!("no handler for {other}"),
        }),
    }
}

/// `hosts.subscribe`: queues the pending list, then relays every pairing
/// event on this connection until it closes or unsubscribes. Like
/// `entries.changed`, delivery never waits: a subscriber whose queue is
/// full is disconnected. Subscribing again replaces the earlier feed.
fn subscribe_hosts(state: &State, connection: &Connection, id: &RequestId) -> Option<Frame> {
    stop_hosts_feed(connection);
    let (pending, mut events) = state.pairings.subscribe_with_pending();
    let answer = match to_value(PendingResult { pending }) {
        Ok(result) => success_frame(id, result),
        Err(error) => return Some(failure_frame(Some(id), error.to_error_object())),
    };
    // Queued here, before the relay starts, so the answer precedes every
    // notification.
    if connection.queue.try_send(answer).is_err() {
        let error = IpcError::Busy {
            detail: "this connection has too many unread frames".to_owned(),
        };
        return Some(failure_frame(Some(id), error.to_error_object()));
    }
    let queue = connection.queue.clone();
    let kick = Arc::clone(&connection.kick);
    let mut closed = connection.closed.clone();
    let connection_id = connection.id;
    let relay = tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = closed.wait_for(|closed| *closed) => break,
            };
            let frame = match event {
                Ok(event) => match pairing_notification(&event) {
                    Some(frame) => frame,
                    None => continue,
                },
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(connection_id, missed, "a hosts subscriber lagged");
                    hosts_changed_frame("lagged", None, None)
                }
                Err(RecvError::Closed) => break,
            };
            match queue.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        connection_id,
                        "dropping a hosts subscriber that stopped reading"
                    );
                    kick.notify_one();
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    });
    *lock_feed(connection) = Some(relay.abort_handle());
    None
}

fn stop_hosts_feed(connection: &Connection) {
    if let Some(relay) = lock_feed(connection).take() {
        relay.abort();
    }
}

fn lock_feed(connection: &Connection) -> std::sync::MutexGuard<'_, Option<AbortHandle>> {
    connection
        .hosts_feed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The notification for one pairing event, `None` for events admin clients
/// are not told about.
fn pairing_notification(event: &PairingEvent) -> Option<Frame> {
    let frame = match event {
        PairingEvent::Requested(request) => {
            let params = serde_json::to_value(request).ok()?;
            notification_frame(methods::HOSTS_PAIRING_REQUESTED, params)
        }
        PairingEvent::Approved { request_id, host } => {
            hosts_changed_frame("approved", Some(request_id), Some(&host.app_id))
        }
        PairingEvent::Denied { request_id, app_id } => {
            hosts_changed_frame("denied", Some(request_id), Some(app_id))
        }
        PairingEvent::Expired { request_id, app_id } => {
            hosts_changed_frame("expired", Some(request_id), Some(app_id))
        }
        PairingEvent::Revoked { app_id } => hosts_changed_frame("revoked", None, Some(app_id)),
        PairingEvent::Resolved(record) => {
            hosts_changed_frame("resolved", None, Some(&record.app_id))
        }
    };
    Some(frame)
}

fn hosts_changed_frame(
    reason: &str,
    request_id: Option<&String>,
    app_id: Option<&String>,
) -> Frame {
    let params = HostsChanged {
        reason: reason.to_owned(),
        request_id: request_id.cloned(),
        app_id: app_id.cloned(),
    };
    // A struct of strings always encodes.
    let params = serde_json::to_value(params).unwrap_or(Value::Null);
    notification_frame(methods::HOSTS_CHANGED, params)
}

fn notification_frame(method: &str, params: Value) -> Frame {
    let notification = patchbay_protocol::rpc::Notification::new(method, Some(params));
    let mut bytes = serde_json::to_vec(&notification).unwrap_or_else(|error| {
        tracing::error!(%error, "could not encode a notification");
        Vec::new()
    });
    bytes.push(b'\n');
    Frame::owned(bytes)
}

/// `entries.resolve`: authenticate first (an unpaired caller learns nothing
/// about which entries exist), then build the headers from the keychain and
/// record the resolve.
fn resolve(state: &State, token: &str, entry_id: &str) -> Result<ResolveResult> {
    let registry = state.pairings.registry();
    let host = registry.authenticate(token)?;
    let not_found = || IpcError::EntryNotFound {
        entry_id: truncate(entry_id, 300),
    };
    let (provider_part, model_id) = split_entry_id(entry_id).ok_or_else(not_found)?;
    let provider_id = ProviderId::parse(provider_part).map_err(|_| not_found())?;
    let provider = match state.store.get(&provider_id) {
        Ok(provider) => provider,
        Err(error) if error.kind() == patchbay_core::ErrorKind::NotFound => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    if !provider.enabled || !provider.models.iter().any(|model| model.id == model_id) {
        return Err(not_found());
    }
    let mut headers = BTreeMap::new();
    for (name, value) in state.store.secret_headers(&provider)? {
        headers.insert(name, value.expose().to_owned());
    }
    if provider.auth == Auth::ApiKey {
        let key = state
            .store
            .api_key(&provider.id)?
            .ok_or_else(|| IpcError::KeyMissing {
                provider_id: provider.id.to_string(),
            })?;
        headers.insert(
            "Authorization".to_owned(),
            format!("Bearer {}", key.expose()),
        );
    }
    state.pairings.record_resolve(&host.app_id, entry_id)?;
    tracing::info!(app_id = %host.app_id, entry_id, "entry resolved");
    Ok(ResolveResult {
        entry_id: entry_id.to_owned(),
        base_url: provider.base_url.as_str().trim_end_matches('/').to_owned(),
        model_id: model_id.to_owned(),
        headers,
    })
}

/// A frame that is not a valid request: the error, and the id to answer
/// with when it could be read. Boxed: it is the rare path.
struct Rejected {
    id: Option<RequestId>,
    error: ErrorObject,
}

fn parse_call(bytes: &[u8]) -> std::result::Result<Call, Box<Rejected>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let message = format!("The frame is not valid JSON: {error}");
        Box::new(Rejected {
            id: None,
            error: ErrorObject::new(codes::PARSE_ERROR, "parse_error", message),
        })
    })?;
    let invalid = |id: Option<RequestId>, message: &str| {
        Box::new(Rejected {
            id,
            error: ErrorObject::new(
                codes::INVALID_REQUEST,
                "invalid_request",
                message.to_owned(),
            ),
        })
    };
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(invalid(
                None,
                "Batch requests are not supported; send one request per line.",
            ))
        }
        _ => return Err(invalid(None, "A request must be a JSON object.")),
    };
    let id = match object.remove("id") {
        None => None,
        Some(Value::Number(number)) => match number.as_i64() {
            Some(number) => Some(RequestId::Number(number)),
            None => return Err(invalid(None, "`id` must be an integer or a string.")),
        },
        Some(Value::String(text)) => Some(RequestId::String(text)),
        Some(_) => return Err(invalid(None, "`id` must be an integer or a string.")),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "`jsonrpc` must be \"2.0\"."));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => method,
        _ => return Err(invalid(id, "`method` must be a string.")),
    };
    let params = object.remove("params");
    Ok(Call { id, method, params })
}

/// Decodes a method's params; the error names the field that is wrong
/// (`` `if_none_match`: invalid type: integer `7`, expected a string ``).
fn parse_params<T: DeserializeOwned>(params: Option<Value>) -> Result<T> {
    let params = params.unwrap_or(Value::Object(Map::new()));
    serde_path_to_error::deserialize(params).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        IpcError::InvalidParams {
            detail: if path == "." {
                inner.to_string()
            } else {
                format!("`{path}`: {inner}")
            },
        }
    })
}

fn to_value<T: Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|error| IpcError::Internal {
        detail: format!("could not encode the result: {error}"),
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| IpcError::Internal {
            detail: format!("a worker task failed: {error}"),
        })?
}

/// `{"jsonrpc":"2.0","id":…,"result":<result_json>}\n` without re-encoding
/// the cached result; a large result is not even copied.
fn success_frame_raw(id: &RequestId, result_json: &Arc<str>) -> Frame {
    /// Below this, one buffer (one write) beats three writes.
    const COPY_LIMIT: usize = 16 * 1024;
    let id_json = match id {
        RequestId::Number(number) => number.to_string(),
        RequestId::String(text) => Value::String(text.clone()).to_string(),
    };
    let mut head = Vec::with_capacity(id_json.len() + 40);
    head.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    head.extend_from_slice(id_json.as_bytes());
    head.extend_from_slice(b",\"result\":");
    if result_json.len() > COPY_LIMIT {
        return Frame::wrapped(head, Arc::clone(result_json), b"}\n");
    }
    head.extend_from_slice(result_json.as_bytes());
    head.extend_from_slice(b"}\n");
    Frame::owned(head)
}

fn success_frame(id: &RequestId, result: Value) -> Frame {
    encode_frame(&Response::success(id.clone(), result))
}

fn failure_frame(id: Option<&RequestId>, error: ErrorObject) -> Frame {
    encode_frame(&Response::failure(id.cloned(), error))
}

fn encode_frame(response: &Response) -> Frame {
    let mut bytes = serde_json::to_vec(response).unwrap_or_else(|error| {
        // Only a non-string map key could fail here, which no result has;
        // answer with a fixed internal error rather than nothing.
        tracing::error!(%error, "could not encode a response");
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Patchbay could not encode its answer.","data":{"kind":"internal"}}}"#.to_vec()
    });
    bytes.push(b'\n');
    Frame::owned(bytes)
}

/// Echoing client text in messages is capped so an error can't amplify a
/// large frame.
fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((position, _)) => format!("{}…", &text[..position]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_success_frames_are_valid_json_rpc() {
        let small: Arc<str> = Arc::from(r#"{"entries":[]}"#);
        let large: Arc<str> = Arc::from(format!(
            r#"{{"entries":[],"pad":"{}"}}"#,
            "x".repeat(20_000)
        ));
        for body in [small, large] {
            let frame = success_frame_raw(&RequestId::String("a\"b".into()), &body).to_vec();
            let parsed: Response =
                serde_json::from_slice(&frame[..frame.len() - 1]).expect("valid response");
            assert_eq!(parsed.id, Some(RequestId::String("a\"b".into())));
            assert_eq!(frame.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn malformed_requests_are_classified() {
        let code = |bytes: &[u8]| parse_call(bytes).err().map(|rejected| rejected.error.code);
        assert_eq!(code(b"{nope"), Some(codes::PARSE_ERROR));
        assert_eq!(code(b"[1,2]"), Some(codes::INVALID_REQUEST));
        assert_eq!(
            code(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
            Some(codes::INVALID_REQUEST)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#),
            Some(codes::INVALID_REQUEST)
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1}"#),
            Some(codes::INVALID_REQUEST)
        );
        let rejected = parse_call(br#"{"jsonrpc":"2.0","id":9}"#)
            .err()
            .expect("invalid");
        assert_eq!(
            rejected.id,
            Some(RequestId::Number(9)),
            "the id is echoed when it could be read"
        );
        assert!(parse_call(br#"{"jsonrpc":"2.0","id":"x","method":"entries.list"}"#).is_ok());
    }

    #[test]
    fn long_client_text_is_truncated_in_messages() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
