//! What `patchbay hosts …` (and a window whose socket another process
//! serves) needs, in one place. Pending requests live in the running
//! server's memory (a host is waiting on its `host.pair` call), so
//! `pending`, `approve`, `deny` and `subscribe` go over the socket as admin
//! methods;
//! `list` and `revoke` work on `hosts.json` directly, with or without a
//! server, because the server re-reads that file on every resolve.
//!
//! Trust model: the socket is reachable only by the same OS user (0700
//! directory, 0600 socket, peer uid checked). Any process of that user can
//! already read the user's keychain, so the admin methods do not add power;
//! pairing is about consent and accounting (which app used which endpoint),
//! not a wall between processes of one user.

use std::path::Path;

use patchbay_client::{Client, ErrorKind as ClientErrorKind};
pub use patchbay_client::{HostsChanged, PairingNotice, PairingSubscription};
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};

use patchbay_core::ApiKey;

use crate::error::{IpcError, Result};
use patchbay_service::HostRegistry;

async fn connect(endpoint: Option<&Path>) -> Result<Client> {
    let client = match endpoint {
        Some(endpoint) => Client::connect_to(endpoint).await?,
        None => Client::connect().await?,
    };
    Ok(client)
}

/// Pairing requests waiting on the running server (`patchbay hosts pending`).
/// Fails with a `not_running` client error when no server runs: then nothing
/// can be pending.
pub async fn pending(endpoint: Option<&Path>) -> Result<Vec<PendingPairing>> {
    Ok(connect(endpoint).await?.pending_pairings().await?)
}

/// Approves a pending request on the running server.
/// `admin` is the admin secret (`ProviderStore::admin_secret`).
pub async fn approve(
    endpoint: Option<&Path>,
    request_id: &str,
    admin: &ApiKey,
) -> Result<PairedHost> {
    Ok(connect(endpoint)
        .await?
        .approve_pairing(request_id, admin.expose())
        .await?)
}

/// Denies a pending request on the running server.
pub async fn deny(
    endpoint: Option<&Path>,
    request_id: &str,
    admin: &ApiKey,
) -> Result<PendingPairing> {
    Ok(connect(endpoint)
        .await?
        .deny_pairing(request_id, admin.expose())
        .await?)
}

/// `hosts.subscribe` on the running server: the requests waiting now, then
/// a [`PairingNotice`] for each new request, decision, expiry, revocation
/// and use. The subscription ends (`next()` gives `None`) when that server
/// stops. Fails with a `not_running` client error when no server runs, and
/// with an `rpc` error of kind `method_not_found` from a server older than
/// the method.
pub async fn subscribe(endpoint: Option<&Path>) -> Result<PairingSubscription> {
    Ok(connect(endpoint).await?.subscribe_pairings().await?)
}

/// Whether `error` means no server answers at the endpoint (any more): it
/// was never started, it stopped, or it closed the connection. The app
/// then takes the socket over instead of reporting a failure.
pub fn server_gone(error: &IpcError) -> bool {
    matches!(
        error,
        IpcError::Client(client)
            if matches!(client.kind(), ClientErrorKind::NotRunning | ClientErrorKind::Disconnected)
    )
}

/// Paired hosts, straight from `hosts.json`.
pub fn list(registry: &HostRegistry) -> Result<Vec<PairedHost>> {
    Ok(registry.list()?)
}

/// Revokes a host in `hosts.json`; a running server refuses its token from
/// the next resolve on.
pub fn revoke(registry: &HostRegistry, app_id: &str) -> Result<bool> {
    Ok(registry.revoke(app_id)?)
}

/// The recorded resolves, straight from `hosts.json`.
pub fn resolve_log(registry: &HostRegistry) -> Result<Vec<ResolveRecord>> {
    Ok(registry.resolve_log()?)
}
