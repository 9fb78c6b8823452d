//! Serve host apps, or follow the Patchbay that already serves them.
//!
//! A window (or any long-lived process) calls [`HostSupervisor::run`]: it
//! starts the IPC server on the socket; when another Patchbay process
//! already serves it (`patchbay serve`, a second window), it does not fail
//! but subscribes to that server's pairing events (`hosts.subscribe`) and
//! reports them through the same [`HostsObserver`] as its own, so the
//! person's prompt appears either way. Pairing decisions go to whichever
//! server holds the requests ([`HostSupervisor::approve`], …); paired apps
//! and the resolve log are read from `hosts.json`, which every server
//! re-reads on each resolve. When the followed process stops (its feed
//! ends), the supervisor takes the socket over and serves itself.
//!
//! The observer is the only link to a user interface, so the rules live
//! here, without one, and are tested without one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use patchbay_core::ApiKey;
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};
use patchbay_service::Service;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::admin::{self, PairingNotice};
use crate::dispatch::blocking;
use crate::error::{IpcError, Result};
use crate::gateway_slot::GatewayStatus;
use crate::server::{Server, ServerHandle, ServerOptions};
use patchbay_gateway::GatewayOptions;
use patchbay_service::HostRegistry;
use patchbay_service::{HostsError, PairingEvent, Pairings};

/// A followed server whose feed ends sooner than this counts as a quick
/// end; after [`MAX_QUICK_HANDOVERS`] in a row the supervisor stops trying
/// to take over (it stays "elsewhere"; decisions still reach that server).
const QUICK_END: Duration = Duration::from_secs(2);
const MAX_QUICK_HANDOVERS: u32 = 10;

/// What a user interface hears from the supervisor.
pub trait HostsObserver: Send + Sync + 'static {
    /// A host app asks to pair: show "Allow <app_name> to use your AI
    /// endpoints?".
    fn pairing_requested(&self, request: &PendingPairing);

    /// Something about connected apps changed (`status`, `approved`,
    /// `denied`, `expired`, `revoked`, `pending`, `lagged`, …): re-read.
    fn changed(&self, what: &str);
}

/// `{state: "starting"|"running"|"elsewhere"|"unavailable", endpoint?,
/// message?, gateway?}`. `gateway` is this process's gateway while it
/// serves; while another process serves, the address that one published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostsStatus {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayStatus>,
}

#[derive(Debug, Default)]
enum Serving {
    #[default]
    Starting,
    /// Kept while the supervisor lives: dropping the handle stops the server.
    Running(ServerHandle),
    /// Another Patchbay process holds the socket; decisions go to it with
    /// the admin secret.
    Elsewhere {
        endpoint: PathBuf,
        message: String,
        admin: ApiKey,
    },
    Unavailable {
        message: String,
    },
}

/// The gateway another process published beside `endpoint` (its
/// `gateway.json`), as a status.
fn published_gateway(endpoint: &Path) -> Option<GatewayStatus> {
    let file = endpoint
        .parent()?
        .join(patchbay_protocol::paths::GATEWAY_FILE_NAME);
    let info: patchbay_protocol::rpc::GatewayInfo =
        serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    Some(GatewayStatus {
        state: "on",
        base_url: Some(info.base_url),
        message: None,
    })
}

/// Where pairing decisions go.
enum Decider {
    Here(Pairings),
    Elsewhere(PathBuf, ApiKey),
    Nobody,
}

/// An observer that tells nobody: for a supervisor that is stopping (the
/// app quitting, the background server exiting).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl HostsObserver for Silent {
    fn pairing_requested(&self, _request: &PendingPairing) {}
    fn changed(&self, _what: &str) {}
}

/// Serves host apps for one process; see the module docs. The lock is held
/// only to read or replace the state, never across an `.await`.
#[derive(Debug)]
pub struct HostSupervisor {
    serving: Mutex<Serving>,
    registry: HostRegistry,
    /// The gateway to run while this process serves (`None`: off).
    gateway: Mutex<Option<GatewayOptions>>,
}

impl HostSupervisor {
    /// A supervisor whose paired apps live in `hosts.json` in `config_dir`
    /// (beside `providers.json`).
    pub fn new(config_dir: &Path) -> Self {
        Self {
            serving: Mutex::new(Serving::Starting),
            registry: HostRegistry::in_dir(config_dir),
            gateway: Mutex::new(None),
        }
    }

    /// Runs the gateway with `options` while this process serves (set it
    /// before [`HostSupervisor::run`]; `None`, the default, is off).
    pub fn with_gateway(self, options: Option<GatewayOptions>) -> Self {
        *self.gateway.lock().unwrap_or_else(PoisonError::into_inner) = options;
        self
    }

    /// Switches the gateway (the window's switch): now, when this process
    /// serves; otherwise from when it takes over.
    pub async fn switch_gateway(&self, options: Option<GatewayOptions>) -> Option<GatewayStatus> {
        *self.gateway.lock().unwrap_or_else(PoisonError::into_inner) = options.clone();
        let switch = match &*self.lock() {
            Serving::Running(handle) => Some(handle.gateway_switch()),
            _ => None,
        };
        match switch {
            Some(switch) => Some(switch.switch(options).await),
            None => None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Serving> {
        self.serving.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, serving: Serving, observer: &dyn HostsObserver) {
        *self.lock() = serving;
        observer.changed("status");
    }

    /// What the supervisor is doing now.
    pub fn status(&self) -> HostsStatus {
        match &*self.lock() {
            Serving::Starting => HostsStatus {
                state: "starting",
                endpoint: None,
                message: None,
                gateway: None,
            },
            Serving::Running(handle) => HostsStatus {
                state: "running",
                endpoint: Some(handle.endpoint().display().to_string()),
                message: None,
                gateway: Some(handle.gateway_status()),
            },
            Serving::Elsewhere {
                endpoint, message, ..
            } => HostsStatus {
                state: "elsewhere",
                endpoint: Some(endpoint.display().to_string()),
                message: Some(message.clone()),
                gateway: published_gateway(endpoint),
            },
            Serving::Unavailable { message } => HostsStatus {
                state: "unavailable",
                endpoint: None,
                message: Some(message.clone()),
                gateway: None,
            },
        }
    }

    /// Stops serving for good (the app quits): the socket is removed, the
    /// gateway closed after its requests in flight finish (at most
    /// [`crate::server::SHUTDOWN_GRACE`]). Following another server just
    /// stops.
    pub async fn shutdown(&self, observer: &dyn HostsObserver) {
        let previous = std::mem::replace(
            &mut *self.lock(),
            Serving::Unavailable {
                message: "Patchbay is quitting".to_owned(),
            },
        );
        if let Serving::Running(handle) = previous {
            handle.shutdown().await;
        }
        observer.changed("status");
    }

    /// Records that host apps cannot be served at all (no socket path).
    pub fn unavailable(&self, message: String, observer: &dyn HostsObserver) {
        self.set(Serving::Unavailable { message }, observer);
    }

    fn decider(&self) -> Decider {
        match &*self.lock() {
            Serving::Running(handle) => Decider::Here(handle.pairings().clone()),
            Serving::Elsewhere {
                endpoint, admin, ..
            } => Decider::Elsewhere(endpoint.clone(), admin.clone()),
            Serving::Starting | Serving::Unavailable { .. } => Decider::Nobody,
        }
    }

    /// Serves `endpoint`; while another process serves it, follows that
    /// server, and when it stops, takes the socket over. Returns once this
    /// process serves (the server runs on until the supervisor is dropped),
    /// or when serving is impossible.
    pub async fn run(
        &self,
        service: Arc<Service>,
        endpoint: PathBuf,
        observer: Arc<dyn HostsObserver>,
    ) {
        let mut quick_ends = 0;
        loop {
            let mut options = ServerOptions::at(endpoint.clone(), Arc::clone(&service));
            options.gateway = self
                .gateway
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let requested = Arc::clone(&observer);
            options.on_pairing_request = Some(Arc::new(move |request: &PendingPairing| {
                requested.pairing_requested(request);
            }));
            let error = match Server::start(options).await {
                Ok(server) => {
                    relay_events(Arc::clone(&observer), server.pairings());
                    self.set(Serving::Running(server), observer.as_ref());
                    return;
                }
                Err(error @ IpcError::AlreadyRunning { .. }) => error,
                Err(error) => {
                    tracing::warn!(%error, "could not start the IPC server");
                    self.unavailable(error.to_string(), observer.as_ref());
                    return;
                }
            };
            tracing::info!(%error, "another Patchbay serves host apps");
            let store = Arc::clone(service.store());
            let admin = match blocking(move || store.admin_secret()).await {
                Ok(admin) => admin,
                Err(error) => {
                    self.unavailable(error.to_string(), observer.as_ref());
                    return;
                }
            };
            self.set(
                Serving::Elsewhere {
                    endpoint: endpoint.clone(),
                    message: error.to_string(),
                    admin,
                },
                observer.as_ref(),
            );
            let followed_since = Instant::now();
            if !follow(observer.as_ref(), &endpoint).await {
                return;
            }
            if followed_since.elapsed() >= QUICK_END {
                quick_ends = 0;
                continue;
            }
            // It keeps vanishing as soon as we follow it (it is stopping, or
            // it drops us): back off, and give up after a few rounds.
            quick_ends += 1;
            if quick_ends > MAX_QUICK_HANDOVERS {
                tracing::warn!(
                    "the other Patchbay keeps closing the pairing feed; not following it any more"
                );
                return;
            }
            let pause = (Duration::from_millis(200) * quick_ends).min(Duration::from_secs(1));
            tokio::time::sleep(pause).await;
        }
    }

    /// Requests waiting for the person, oldest first, from whichever server
    /// holds them.
    pub async fn pending(&self) -> Result<Vec<PendingPairing>> {
        match self.decider() {
            Decider::Here(pairings) => Ok(pairings.pending()),
            Decider::Elsewhere(endpoint, _) => admin::pending(Some(&endpoint)).await,
            Decider::Nobody => Ok(Vec::new()),
        }
    }

    /// Allows a pending request: the waiting host receives its token (never
    /// the caller).
    pub async fn approve(&self, request_id: String) -> Result<PairedHost> {
        match self.decider() {
            Decider::Here(pairings) => blocking(move || pairings.approve(&request_id)).await,
            Decider::Elsewhere(endpoint, secret) => {
                admin::approve(Some(&endpoint), &request_id, &secret).await
            }
            Decider::Nobody => Err(HostsError::NotPending { request_id }.into()),
        }
    }

    /// Refuses a pending request: the host gets an error, no token.
    pub async fn deny(&self, request_id: String) -> Result<PendingPairing> {
        match self.decider() {
            Decider::Here(pairings) => Ok(pairings.deny(&request_id)?),
            Decider::Elsewhere(endpoint, secret) => {
                admin::deny(Some(&endpoint), &request_id, &secret).await
            }
            Decider::Nobody => Err(HostsError::NotPending { request_id }.into()),
        }
    }

    /// Forgets a paired app; its token is refused from the next resolve on.
    /// `false` when it was not paired.
    pub async fn revoke(&self, app_id: String) -> Result<bool> {
        match self.decider() {
            // Through the server, so its own event stream reports it.
            Decider::Here(pairings) => blocking(move || pairings.revoke(&app_id)).await,
            Decider::Elsewhere(..) | Decider::Nobody => {
                let registry = self.registry.clone();
                blocking(move || registry.revoke(&app_id)).await
            }
        }
    }

    /// Paired apps, from `hosts.json`.
    pub async fn paired(&self) -> Result<Vec<PairedHost>> {
        let registry = self.registry.clone();
        blocking(move || registry.list()).await
    }

    /// Which app resolved which entry, when; newest first.
    pub async fn resolve_log(&self) -> Result<Vec<ResolveRecord>> {
        let registry = self.registry.clone();
        let mut log = blocking(move || registry.resolve_log()).await?;
        log.reverse();
        Ok(log)
    }
}

/// Relays the pairing feed of the server at `endpoint` until it ends.
/// `true` when that server went away (take the socket over), `false` when
/// it cannot be followed (a server older than `hosts.subscribe`).
async fn follow(observer: &dyn HostsObserver, endpoint: &Path) -> bool {
    let mut feed = match admin::subscribe(Some(endpoint)).await {
        Ok(feed) => feed,
        Err(error) if admin::server_gone(&error) => return true,
        Err(error) => {
            tracing::warn!(%error, "cannot follow the other Patchbay's pairing requests");
            return false;
        }
    };
    if !feed.pending().is_empty() {
        // A user interface prompts for waiting requests whenever it re-reads them.
        observer.changed("pending");
    }
    while let Some(notice) = feed.next().await {
        match notice {
            PairingNotice::Requested(request) => observer.pairing_requested(&request),
            PairingNotice::Changed(change) => observer.changed(&change.reason),
            _ => observer.changed("other"),
        }
    }
    tracing::info!("the Patchbay process that served host apps stopped; taking over");
    true
}

/// Relays decisions, expiries and revocations of this process's server, so
/// an open prompt closes and lists reload, whoever decided.
fn relay_events(observer: Arc<dyn HostsObserver>, pairings: &Pairings) {
    let mut events = pairings.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(PairingEvent::Requested(_)) => {}
                Ok(PairingEvent::Approved { .. }) => observer.changed("approved"),
                Ok(PairingEvent::Denied { .. }) => observer.changed("denied"),
                Ok(PairingEvent::Expired { .. }) => observer.changed("expired"),
                Ok(PairingEvent::Revoked { .. }) => observer.changed("revoked"),
                Ok(_) => observer.changed("other"),
                // Missed events only mean the lists should be re-read.
                Err(RecvError::Lagged(_)) => observer.changed("lagged"),
                Err(RecvError::Closed) => break,
            }
        }
    });
}
