//! The IPC server: accepts connections on the local endpoint, gives each a
//! reader and a writer task, and hands every frame read to
//! [`crate::dispatch`] (which answers the cheap methods inline from cached
//! bytes and runs the slow ones — pairing, resolve, tests, admin — on their
//! own tasks so a connection can keep asking while one waits). The JSON-RPC
//! framing is [`crate::wire`].
//!
//! Isolation: every connection has a reader task and a writer task joined by
//! a bounded queue. A client that stops reading fills only its own queue;
//! its writes time out and it is disconnected. Notifications are never
//! awaited (see [`crate::feed`]). Nothing here holds a lock across an await.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use patchbay_client::{read_frame, FrameRead};
use patchbay_core::config::ConfigPaths;
use patchbay_core::store::ProviderStore;
use patchbay_gateway::GatewayOptions;
use patchbay_protocol::rpc::Requester;
use patchbay_protocol::rpc::{
    ErrorObject, HelloResult, MAX_FRAME_BYTES, PROTOCOL_VERSION, PROTOCOL_VERSIONS,
};
use patchbay_protocol::Kind;
use patchbay_service::Service;
use tokio::io::{AsyncWriteExt, BufReader, WriteHalf};
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::endpoint::{self, Listener, Stream};
use crate::error::{IpcError, Result};
use crate::feed::{EntriesFeed, Frame};
use crate::gateway_slot::{GatewaySlot, GatewayStatus};
use patchbay_service::hosts::DEFAULT_PAIRING_TIMEOUT;
use patchbay_service::HostRegistry;
use patchbay_service::{PairingCallback, Pairings};
use tokio::task::AbortHandle;

use crate::dispatch::{handle_frame, refresh, METHODS};
use crate::wire::failure_frame;
/// Frames queued per connection before a subscriber counts as stuck.
const QUEUE_CAPACITY: usize = 64;
/// A write that makes no progress for this long means the client stopped
/// reading: it is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Slow requests one connection may have in flight at once.
pub(crate) const MAX_IN_FLIGHT: usize = 8;
/// Connections served at once; more are told `busy` and closed.
const MAX_CONNECTIONS: usize = 512;

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
    /// A connection that sends nothing for this long while it has no
    /// subscription and no call in flight is closed, so idle sleepers
    /// cannot hold every connection slot (default [`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// The local gateway to run beside the socket, or `None` (off). A
    /// gateway that cannot start (its port is taken) leaves the IPC server
    /// running: see [`ServerHandle::gateway_error`].
    pub gateway: Option<GatewayOptions>,
}

/// How long a connection may sit idle (no frame, no subscription, no call
/// in flight) before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
            idle_timeout: IDLE_TIMEOUT,
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            watch_config: true,
            gateway: None,
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
        // The lock is ours: only now may the gateway take its port.
        let gateway_file = listener
            .path()
            .parent()
            .map(|directory| directory.join(patchbay_protocol::paths::GATEWAY_FILE_NAME))
            .unwrap_or_else(|| PathBuf::from(patchbay_protocol::paths::GATEWAY_FILE_NAME));
        let gateway = Arc::new(GatewaySlot::new(
            Arc::clone(&options.service),
            options.hosts.clone(),
            gateway_file,
        ));
        gateway.switch(options.gateway.clone()).await;
        let hello = HelloResult {
            protocol: PROTOCOL_VERSION,
            app_version: options.app_version.clone(),
            methods: METHODS.iter().map(|method| (*method).to_owned()).collect(),
            protocols: PROTOCOL_VERSIONS.to_vec(),
            gateway: None,
        };
        let (shutdown_sender, shutdown) = watch::channel(false);
        let feed = EntriesFeed::new(options.service.entries()?)?;
        let store = Arc::clone(options.service.store());
        let admin = tokio::task::spawn_blocking(move || store.admin_secret())
            .await
            .map_err(|error| IpcError::Internal {
                detail: format!("a worker task failed: {error}"),
            })??;
        let state = Arc::new(State {
            store: Arc::clone(options.service.store()),
            service: options.service,
            feed,
            pairings: Pairings::new(
                options.hosts,
                options.on_pairing_request,
                options.pairing_timeout,
            ),
            hello,
            gateway: Arc::clone(&gateway),
            admin,
            idle_timeout: options.idle_timeout,
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
            gateway,
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
    gateway: Arc<GatewaySlot>,
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

    /// The gateway's base URL (`http://127.0.0.1:4141/v1`) while it runs.
    pub fn gateway_base_url(&self) -> Option<String> {
        self.gateway.info().map(|info| info.base_url)
    }

    /// Whether the gateway runs, and why not when it failed to start.
    pub fn gateway_status(&self) -> GatewayStatus {
        self.gateway.status()
    }

    /// Why the gateway asked for did not start (its port was taken, …).
    pub fn gateway_error(&self) -> Option<String> {
        self.gateway.status().message
    }

    /// A handle to switch the gateway while the server runs (the window's
    /// switch): see [`GatewaySwitch::switch`].
    pub fn gateway_switch(&self) -> GatewaySwitch {
        GatewaySwitch(Arc::clone(&self.gateway))
    }

    /// Connections currently open.
    pub fn connection_count(&self) -> usize {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Stops the server and waits until it no longer accepts connections: on
    /// Unix the socket file is gone when this returns; on Windows the last
    /// waiting pipe instance closes a moment later.
    /// Requests still streaming through the gateway get
    /// [`SHUTDOWN_GRACE`] to finish.
    ///
    /// In order: the gateway's port is closed, then the IPC socket (so a
    /// Patchbay taking over finds both free), then the gateway's requests
    /// in flight are waited for.
    pub async fn shutdown(mut self) {
        let draining = self.gateway.stop_accepting().await;
        self.stop();
        let accept = std::mem::replace(&mut self.accept, tokio::spawn(async {}));
        if let Err(error) = accept.await {
            if !error.is_cancelled() {
                tracing::warn!(%error, "the IPC accept task failed");
            }
        }
        if let Some(draining) = draining {
            if !draining.drained_within(SHUTDOWN_GRACE).await {
                tracing::info!(
                    grace_secs = SHUTDOWN_GRACE.as_secs(),
                    "requests still running when the gateway stopped were cut off"
                );
            }
        }
    }

    fn stop(&self) {
        self.shutdown.send_replace(true);
        self.accept.abort();
        self.gateway.halt();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long a stopping server lets the gateway's requests in flight finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Switches a running server's gateway on (with options) or off.
#[derive(Debug, Clone)]
pub struct GatewaySwitch(Arc<GatewaySlot>);

impl GatewaySwitch {
    /// Stops the gateway (if it runs) and starts it with `options`
    /// (`None`: off); `patchbay.hello` and `gateway.json` follow.
    pub async fn switch(&self, options: Option<GatewayOptions>) -> GatewayStatus {
        self.0.switch(options).await
    }

    pub fn status(&self) -> GatewayStatus {
        self.0.status()
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
    if let Some(base_url) = handle.gateway_base_url() {
        eprintln!("Gateway: {base_url} (OpenAI-compatible; each app uses its own token)");
    } else if let Some(error) = handle.gateway_error() {
        eprintln!("The gateway is off: {error}");
    }
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

pub(crate) struct State {
    pub(crate) store: Arc<ProviderStore>,
    pub(crate) service: Arc<Service>,
    pub(crate) feed: EntriesFeed,
    pub(crate) pairings: Pairings,
    /// `patchbay.hello` without the gateway, which is added when asked
    /// (it can be switched while the server runs).
    pub(crate) hello: HelloResult,
    pub(crate) gateway: Arc<GatewaySlot>,
    /// What admin calls must present (see `ProviderStore::admin_secret`).
    pub(crate) admin: patchbay_core::ApiKey,
    pub(crate) idle_timeout: Duration,
    pub(crate) next_connection: AtomicU64,
    pub(crate) connections: AtomicUsize,
    pub(crate) shutdown: watch::Receiver<bool>,
}

async fn accept_loop(listener: Listener, state: Arc<State>) {
    loop {
        let (stream, pid) = match listener.accept().await {
            Ok(accepted) => accepted,
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
                serve_connection(&state, stream, id, requester(pid)).await;
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
pub(crate) struct Connection {
    pub(crate) id: u64,
    pub(crate) queue: mpsc::Sender<Frame>,
    pub(crate) kick: Arc<Notify>,
    pub(crate) closed: watch::Receiver<bool>,
    pub(crate) in_flight: Arc<Semaphore>,
    /// The task relaying pairing events after `hosts.subscribe`.
    pub(crate) hosts_feed: Arc<std::sync::Mutex<Option<AbortHandle>>>,
    /// Whether a `host.pair` of this connection is waiting: one at a time,
    /// so one client cannot fill every pending slot.
    pub(crate) pairing: Arc<std::sync::atomic::AtomicBool>,
    /// The process on the other end, from the OS.
    pub(crate) requester: Option<Requester>,
}

/// The peer process as the OS reports it: its pid and, on Linux, its
/// executable (`/proc/<pid>/exe`). Never what the client claims.
fn requester(pid: Option<u32>) -> Option<Requester> {
    let pid = pid?;
    #[cfg(target_os = "linux")]
    let executable = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|path| path.display().to_string());
    #[cfg(not(target_os = "linux"))]
    let executable = None;
    Some(Requester { pid, executable })
}

async fn serve_connection(
    state: &Arc<State>,
    stream: Box<dyn Stream>,
    id: u64,
    requester: Option<Requester>,
) {
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
        pairing: Arc::default(),
        requester,
    };
    let mut reader = BufReader::new(read_half);
    let mut buffer = Vec::with_capacity(1024);
    let mut shutdown = state.shutdown.clone();
    let mut idle_until = tokio::time::Instant::now() + state.idle_timeout;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(idle_until) => {
                let subscribed = state.feed.is_subscribed(id)
                    || connection
                        .hosts_feed
                        .lock()
                        .map_or(true, |feed| feed.is_some());
                let calling = connection.in_flight.available_permits() < MAX_IN_FLIGHT;
                if subscribed || calling {
                    idle_until = tokio::time::Instant::now() + state.idle_timeout;
                } else {
                    tracing::debug!(connection = id, "closing an idle IPC connection");
                    break;
                }
            }
            read = read_frame(&mut reader, &mut buffer, MAX_FRAME_BYTES) => match read {
                Ok(FrameRead::Frame) => {
                    idle_until = tokio::time::Instant::now() + state.idle_timeout;
                    if let Some(frame) = handle_frame(state, &connection, &buffer) {
                        if connection.queue.send(frame).await.is_err() {
                            break;
                        }
                    }
                }
                Ok(FrameRead::TooLarge) => {
                    // The rest of the frame was skipped up to its newline,
                    // so the stream is back in sync and stays usable.
                    let error = ErrorObject::of(
                        Kind::FrameTooLarge,
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
