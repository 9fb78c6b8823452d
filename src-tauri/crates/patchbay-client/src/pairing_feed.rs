//! [`PairingSubscription`]: the admin feed of pairing requests
//! (`hosts.subscribe`) for Patchbay's own app when another Patchbay process
//! serves the socket. It runs on a connection of its own, so its lifetime
//! is the subscription's: dropping it unsubscribes, and the server going
//! away ends it ([`PairingSubscription::next`] returns `None`).

use std::fmt;
use std::path::Path;
use std::time::Duration;

use patchbay_protocol::rpc::{
    methods, HostsChanged, HostsSubscribeResult, Outcome, PendingPairing, Request, RequestId,
    ServerFrame, MAX_SERVER_FRAME_BYTES,
};
use tokio::io::{AsyncBufRead, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::ClientError;
use crate::frame::{read_frame, FrameRead};
use crate::transport::{self, Stream};

/// Notices read ahead before the reader waits for [`PairingSubscription::next`];
/// a subscriber that falls further behind is disconnected by the server.
const READ_AHEAD: usize = 64;

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
    pending: Vec<PendingPairing>,
    notices: mpsc::Receiver<PairingNotice>,
    reader: JoinHandle<()>,
    /// Held so the connection stays open; dropped with the subscription.
    _writer: WriteHalf<Box<dyn Stream>>,
}

impl fmt::Debug for PairingSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingSubscription")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Drop for PairingSubscription {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl PairingSubscription {
    /// Connects to `endpoint` and sends `hosts.subscribe`, waiting at most
    /// `limit` for its answer.
    pub(crate) async fn open(endpoint: &Path, limit: Duration) -> Result<Self, ClientError> {
        let stream = transport::connect(endpoint).await?;
        let (read_half, mut writer) = tokio::io::split(stream);
        let request = Request::new(RequestId::Number(1), methods::HOSTS_SUBSCRIBE, None);
        let mut frame = serde_json::to_vec(&request).map_err(|error| {
            ClientError::protocol(format!("could not encode hosts.subscribe: {error}"))
        })?;
        frame.push(b'\n');
        let sent = match writer.write_all(&frame).await {
            Ok(()) => writer.flush().await,
            Err(error) => Err(error),
        };
        sent.map_err(|error| ClientError::io("send hosts.subscribe to Patchbay", error))?;

        let mut reader = BufReader::new(read_half);
        let mut buffer = Vec::new();
        let pending = tokio::time::timeout(limit, read_answer(&mut reader, &mut buffer))
            .await
            .map_err(|_elapsed| ClientError::Timeout {
                method: methods::HOSTS_SUBSCRIBE.to_owned(),
                seconds: limit.as_secs(),
            })??;
        let (sender, notices) = mpsc::channel(READ_AHEAD);
        let reader = tokio::spawn(relay(reader, buffer, sender));
        Ok(Self {
            pending,
            notices,
            reader,
            _writer: writer,
        })
    }

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

/// Reads up to the answer to request 1: the pending list, or the server's
/// error (`method_not_found` from a server older than `hosts.subscribe`).
async fn read_answer<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
) -> Result<Vec<PendingPairing>, ClientError> {
    loop {
        let read = read_frame(reader, buffer, MAX_SERVER_FRAME_BYTES)
            .await
            .map_err(|error| ClientError::io("read the answer to hosts.subscribe", error))?;
        match read {
            FrameRead::Frame => {}
            FrameRead::TooLarge => continue,
            FrameRead::Closed => return Err(ClientError::Disconnected),
        }
        let frame = ServerFrame::parse(buffer).map_err(|error| {
            ClientError::protocol(format!("unexpected answer to hosts.subscribe: {error}"))
        })?;
        let ServerFrame::Response(response) = frame else {
            continue;
        };
        return match response.outcome {
            Outcome::Result(result) => serde_json::from_value::<HostsSubscribeResult>(result)
                .map(|result| result.pending)
                .map_err(|error| {
                    ClientError::protocol(format!("unexpected hosts.subscribe result: {error}"))
                }),
            Outcome::Error(error) => Err(ClientError::Rpc {
                code: error.code,
                kind: error.kind().map(str::to_owned),
                message: error.message,
            }),
        };
    }
}

/// Turns notifications into notices until the connection closes or the
/// subscription is dropped.
async fn relay(
    mut reader: BufReader<ReadHalf<Box<dyn Stream>>>,
    mut buffer: Vec<u8>,
    notices: mpsc::Sender<PairingNotice>,
) {
    loop {
        match read_frame(&mut reader, &mut buffer, MAX_SERVER_FRAME_BYTES).await {
            Ok(FrameRead::Frame) => {}
            Ok(FrameRead::TooLarge) => continue,
            Ok(FrameRead::Closed) | Err(_) => break,
        }
        let Some(notice) = parse_notice(&buffer) else {
            continue;
        };
        if notices.send(notice).await.is_err() {
            break;
        }
    }
}

/// A known notification as a notice; anything else (a newer server's
/// notification, a malformed frame) is skipped.
fn parse_notice(frame: &[u8]) -> Option<PairingNotice> {
    let Ok(ServerFrame::Notification(notification)) = ServerFrame::parse(frame) else {
        return None;
    };
    let params = notification.params?;
    match notification.method.as_str() {
        methods::HOSTS_PAIRING_REQUESTED => serde_json::from_value(params)
            .ok()
            .map(PairingNotice::Requested),
        methods::HOSTS_CHANGED => serde_json::from_value(params)
            .ok()
            .map(PairingNotice::Changed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
