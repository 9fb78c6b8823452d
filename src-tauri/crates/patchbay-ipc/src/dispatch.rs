//! What each JSON-RPC method does: the cheap ones answered inline from the
//! cached entries, the slow ones (providers, tests, pairing, resolve, the
//! host registry) on their own task, bounded per connection. Providers and
//! tests are `patchbay-service`'s use cases; this file only translates
//! parameters and results.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use patchbay_core::store::ProviderView;
use patchbay_core::ProviderId;
use patchbay_protocol::rpc::Requester;
use patchbay_protocol::rpc::{
    methods, DecisionParams, EntriesUnchanged, ErrorObject, HostsResult, ListParams, PairParams,
    PendingResult, ProviderTestParams, RequestId, ResolveLogResult, ResolveParams, RevokeParams,
    RevokeResult,
};
use patchbay_protocol::rpc::{HelloParams, PROTOCOL_VERSION, PROTOCOL_VERSIONS};
use patchbay_protocol::Kind;
use patchbay_service::{Handout, Subject, TestRequest};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::{IpcError, Result};
use crate::feed::{Frame, Subscriber};
use patchbay_protocol::rpc::HostsChanged;
use patchbay_service::PairingEvent;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use crate::server::{Connection, State, MAX_IN_FLIGHT};
use crate::wire::{
    failure_frame, parse_call, parse_params, success_frame, success_frame_raw, to_value, truncate,
};

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

pub(crate) fn refresh(state: &State) -> Result<bool> {
    state.feed.update(state.service.entries()?)
}

/// Parses and answers one frame. Returns the frame to send now, if any;
/// slow methods send their answer later from their own task.
pub(crate) fn handle_frame(
    state: &Arc<State>,
    connection: &Connection,
    bytes: &[u8],
) -> Option<Frame> {
    let call = match parse_call(bytes) {
        Ok(call) => call,
        Err(rejected) => return Some(failure_frame(rejected.id.as_ref(), rejected.error)),
    };
    // Requests without an id are notifications; no client notification is
    // defined, so they are ignored, as JSON-RPC allows.
    let id = call.id?;
    match call.method.as_str() {
        methods::HELLO => {
            let asked: HelloParams = match call.params {
                Some(params) => match serde_json::from_value(params) {
                    Ok(asked) => asked,
                    Err(error) => {
                        return Some(failure_frame(
                            Some(&id),
                            IpcError::InvalidParams {
                                detail: format!("patchbay.hello params: {error}"),
                            }
                            .to_error_object(),
                        ))
                    }
                },
                None => HelloParams::default(),
            };
            let mut hello = state.hello.clone();
            hello.protocol = asked
                .protocols
                .iter()
                .copied()
                .filter(|version| PROTOCOL_VERSIONS.contains(version))
                .max()
                .unwrap_or(PROTOCOL_VERSION);
            hello.gateway = state.gateway.info();
            Some(success_frame(&id, json!(hello)))
        }
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
        methods::HOST_PAIR => {
            if connection.pairing.swap(true, Ordering::AcqRel) {
                let error = IpcError::Busy {
                    detail: "this connection is already waiting for a pairing decision".to_owned(),
                };
                return Some(failure_frame(Some(&id), error.to_error_object()));
            }
            let release = PairingRelease(Arc::clone(&connection.pairing));
            spawn_call(
                state,
                connection,
                id,
                call.method,
                call.params,
                Some(release),
            )
        }
        method if METHODS.contains(&method) => {
            spawn_call(state, connection, id, call.method, call.params, None)
        }
        method => Some(failure_frame(
            Some(&id),
            ErrorObject::of(
                Kind::MethodNotFound,
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

/// The admin methods' proof: the secret only Patchbay's own window and CLI
/// can read. Compared without an early exit.
fn check_admin(state: &State, presented: &str) -> Result<()> {
    let expected = state.admin.expose().as_bytes();
    let presented = presented.as_bytes();
    let mut difference = u8::from(expected.len() != presented.len());
    for (left, right) in expected.iter().zip(presented.iter().cycle()) {
        difference |= left ^ right;
    }
    if presented.is_empty() || difference != 0 {
        return Err(IpcError::AdminRequired);
    }
    Ok(())
}

/// Clears a connection's "pairing waiting" flag when its `host.pair` ends,
/// however it ends.
struct PairingRelease(Arc<AtomicBool>);

impl Drop for PairingRelease {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn spawn_call(
    state: &Arc<State>,
    connection: &Connection,
    id: RequestId,
    method: String,
    params: Option<Value>,
    hold: Option<PairingRelease>,
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
    let requester = connection.requester.clone();
    tokio::spawn(async move {
        let answer = tokio::select! {
            outcome = run_method(&state, &method, params, requester) => match outcome {
                Ok(result) => success_frame(&id, result),
                Err(error) => failure_frame(Some(&id), error.to_error_object()),
            },
            // The client left: drop the work (a pairing request is withdrawn).
            _ = closed.wait_for(|closed| *closed) => return,
        };
        drop(hold);
        if queue.send(answer).await.is_err() {
            tracing::debug!(method, "the client left before its answer was sent");
        }
        drop(permit);
    });
    None
}

async fn run_method(
    state: &Arc<State>,
    method: &str,
    params: Option<Value>,
    requester: Option<Requester>,
) -> Result<Value> {
    match method {
        methods::PROVIDERS_LIST => {
            let state = Arc::clone(state);
            blocking(move || -> Result<Value> {
                let listing = state.store.list()?;
                let views: Vec<ProviderView> =
                    listing.providers.iter().map(ProviderView::from).collect();
                Ok(json!({ "providers": views }))
            })
            .await
        }
        methods::PROVIDER_TEST => {
            let params: ProviderTestParams = parse_params(params)?;
            // The test sends the stored key: a paired host only.
            let registry = state.pairings.registry().clone();
            let token = params.token.clone();
            blocking(move || registry.authenticate(&token)).await?;
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
                    .request(&params.app_id, &params.app_name, requester)
                    .await?,
            )
        }
        methods::ENTRIES_RESOLVE => {
            let params: ResolveParams = parse_params(params)?;
            let handout = match params.protocol.unwrap_or(PROTOCOL_VERSION) {
                1 => Handout::RawKey,
                2 => Handout::Gateway {
                    base_url: state.gateway.info().map(|info| info.base_url),
                },
                other => {
                    return Err(IpcError::InvalidParams {
                        detail: format!(
                        "protocol {other} is not spoken here; patchbay.hello lists the versions"
                    ),
                    })
                }
            };
            let resolved = state
                .service
                .resolve(
                    &state.pairings,
                    &params.token,
                    &params.entry_id,
                    requester,
                    handout,
                )
                .await?;
            to_value(resolved)
        }
        methods::HOSTS_LIST => {
            let pairings = state.pairings.clone();
            blocking(move || -> Result<Value> {
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
            check_admin(state, &params.admin)?;
            let pairings = state.pairings.clone();
            blocking(move || to_value(pairings.approve(&params.request_id)?)).await
        }
        methods::HOSTS_DENY => {
            let params: DecisionParams = parse_params(params)?;
            check_admin(state, &params.admin)?;
            to_value(state.pairings.deny(&params.request_id)?)
        }
        methods::HOSTS_REVOKE => {
            let params: RevokeParams = parse_params(params)?;
            check_admin(state, &params.admin)?;
            let pairings = state.pairings.clone();
            blocking(move || -> Result<Value> {
                to_value(RevokeResult {
                    revoked: pairings.revoke(&params.app_id)?,
                })
            })
            .await
        }
        methods::HOSTS_RESOLVE_LOG => {
            let pairings = state.pairings.clone();
            blocking(move || -> Result<Value> {
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
        // A newer kind of event: "something changed", re-read.
        _ => hosts_changed_frame("other", None, None),
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

/// Runs blocking work (files, the keychain) off the async workers.
pub(crate) async fn blocking<T, E>(
    work: impl FnOnce() -> std::result::Result<T, E> + Send + 'static,
) -> Result<T>
where
    T: Send + 'static,
    E: Into<IpcError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| IpcError::Internal {
            detail: format!("a worker task failed: {error}"),
        })?
        .map_err(Into::into)
}
