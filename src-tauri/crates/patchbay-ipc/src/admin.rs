//! What `patchbay hosts …` needs, in one place. Pending requests live in the
//! running server's memory (a host is waiting on its `host.pair` call), so
//! `pending`, `approve` and `deny` go over the socket as admin methods;
//! `list` and `revoke` work on `hosts.json` directly, with or without a
//! server, because the server re-reads that file on every resolve.
//!
//! Trust model: the socket is reachable only by the same OS user (0700
//! directory, 0600 socket, peer uid checked). Any process of that user can
//! already read the user's keychain, so the admin methods do not add power;
//! pairing is about consent and accounting (which app used which endpoint),
//! not a wall between processes of one user.

use std::path::Path;

use patchbay_client::Client;
use patchbay_protocol::rpc::{PairedHost, PendingPairing, ResolveRecord};

use crate::error::Result;
use crate::hosts::HostRegistry;

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
pub async fn approve(endpoint: Option<&Path>, request_id: &str) -> Result<PairedHost> {
    Ok(connect(endpoint).await?.approve_pairing(request_id).await?)
}

/// Denies a pending request on the running server.
pub async fn deny(endpoint: Option<&Path>, request_id: &str) -> Result<PendingPairing> {
    Ok(connect(endpoint).await?.deny_pairing(request_id).await?)
}

/// Paired hosts, straight from `hosts.json`.
pub fn list(registry: &HostRegistry) -> Result<Vec<PairedHost>> {
    registry.list()
}

/// Revokes a host in `hosts.json`; a running server refuses its token from
/// the next resolve on.
pub fn revoke(registry: &HostRegistry, app_id: &str) -> Result<bool> {
    registry.revoke(app_id)
}

/// The recorded resolves, straight from `hosts.json`.
pub fn resolve_log(registry: &HostRegistry) -> Result<Vec<ResolveRecord>> {
    registry.resolve_log()
}
