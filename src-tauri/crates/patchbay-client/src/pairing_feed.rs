//! [`PairingSubscription`]: the admin feed of pairing requests
//! (`hosts.subscribe`) for Patchbay's own app when another Patchbay process
//! serves the socket. It shares its [`Client`]'s connection and reader: the
//! reader hands each pairing notification to the subscription, and the
//! connection closing ends it ([`PairingSubscription::next`] returns `None`).

use std::fmt;

use patchbay_protocol::rpc::{methods, HostsChanged, PendingPairing};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::client::Client;

/// Notices held for [`PairingSubscription::next`]. A subscriber that falls
/// further behind loses its subscription (`next` returns `None`), as the
/// server drops a connection that stops reading.
pub(crate) const READ_AHEAD: usize = 64;

/// One notification of the feed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PairingNotice {
    /// `hosts.pairing_requested`: a host asked to pair; show the prompt.
    Requested(PendingPairing),
    /// `hosts.changed`: a request was decided or expired, or a host was
    /// paired, revoked or used; re-read what is shown. A `lagged` reason
    /// means notices were missed: re-read `hosts.pending` too.
    Changed(HostsChanged),
}

/// The pairing requests waiting when it was opened, then every
/// [`PairingNotice`] in order.
pub struct PairingSubscription {
    pub(crate) pending: Vec<PendingPairing>,
    pub(crate) notices: mpsc::Receiver<PairingNotice>,
    /// Keeps the connection open as long as the subscription.
    pub(crate) _client: Client,
}

impl fmt::Debug for PairingSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingSubscription")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl PairingSubscription {
    /// The requests that were waiting when the subscription opened, oldest
    /// first. Each later request arrives as [`PairingNotice::Requested`];
    /// none is in both.
    pub fn pending(&self) -> &[PendingPairing] {
        &self.pending
    }

    /// The next notice; `None` once the connection has closed (the server
    /// stopped, or dropped this subscriber for not reading). Cancel-safe.
    pub async fn next(&mut self) -> Option<PairingNotice> {
        self.notices.recv().await
    }
}

/// A pairing notification as a notice; `None` for any other method (a
/// newer server's notification) or params of the wrong shape.
pub(crate) fn notice(method: &str, params: &RawValue) -> Option<PairingNotice> {
    match method {
        methods::HOSTS_PAIRING_REQUESTED => serde_json::from_str(params.get())
            .ok()
            .map(PairingNotice::Requested),
        methods::HOSTS_CHANGED => serde_json::from_str(params.get())
            .ok()
            .map(PairingNotice::Changed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame's notification as a notice, as the client's reader sees it.
    fn parse_notice(frame: &[u8]) -> Option<PairingNotice> {
        #[derive(serde::Deserialize)]
        struct Notification<'a> {
            method: &'a str,
            #[serde(borrow)]
            params: &'a RawValue,
        }
        let notification: Notification<'_> = serde_json::from_slice(frame).ok()?;
        notice(notification.method, notification.params)
    }

    #[test]
    fn notifications_become_notices_and_unknown_ones_are_skipped() {
        let requested = br#"{"jsonrpc":"2.0","method":"hosts.pairing_requested","params":{"request_id":"0a1b2c3d","app_id":"com.example.editor","app_name":"Editor","requested_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:05:00Z"}}"#;
        match parse_notice(requested) {
            Some(PairingNotice::Requested(request)) => {
                assert_eq!(request.request_id, "0a1b2c3d");
                assert_eq!(request.app_name, "Editor");
            }
            other => panic!("expected a request, got {other:?}"),
        }
        let changed = br#"{"jsonrpc":"2.0","method":"hosts.changed","params":{"reason":"denied","request_id":"0a1b2c3d","app_id":"com.example.editor"}}"#;
        assert_eq!(
            parse_notice(changed),
            Some(PairingNotice::Changed(HostsChanged {
                reason: "denied".to_owned(),
                request_id: Some("0a1b2c3d".to_owned()),
                app_id: Some("com.example.editor".to_owned()),
            }))
        );
        let newer = br#"{"jsonrpc":"2.0","method":"hosts.something_new","params":{}}"#;
        assert_eq!(parse_notice(newer), None);
        assert_eq!(parse_notice(b"not json"), None);
    }
}
