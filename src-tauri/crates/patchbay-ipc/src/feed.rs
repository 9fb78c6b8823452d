//! The entries feed: the current picker entries, serialised once per change
//! (so `entries.list` only copies bytes), and the subscribers that get an
//! `entries.changed` notification when they change.
//!
//! Delivery never waits on a subscriber: each connection has a bounded
//! outgoing queue, and a subscriber whose queue is full is dropped and its
//! connection closed (it can reconnect and re-subscribe), so one stuck host
//! cannot hold up the others, the config watcher or the app.

use std::collections::HashMap;
use std::io::IoSlice;
use std::sync::{Arc, Mutex, RwLock};

use patchbay_protocol::entries::PickerEntry;
use patchbay_protocol::rpc::{methods, MAX_SERVER_FRAME_BYTES};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

use crate::error::{IpcError, Result};

/// One frame ready to write, newline included: `head`, then `body`, then
/// `tail`. A large cached body (the entries list, a notification shared by
/// every subscriber) is referenced, not copied, for each answer.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    head: Vec<u8>,
    body: Option<Arc<str>>,
    tail: &'static [u8],
}

impl Frame {
    /// A whole frame in one buffer.
    pub(crate) fn owned(bytes: Vec<u8>) -> Self {
        Self {
            head: bytes,
            body: None,
            tail: b"",
        }
    }

    /// `head` + a shared `body` + `tail`.
    pub(crate) fn wrapped(head: Vec<u8>, body: Arc<str>, tail: &'static [u8]) -> Self {
        Self {
            head,
            body: Some(body),
            tail,
        }
    }

    /// Writes the frame with as few syscalls as the socket allows (one
    /// vectored write when it all fits in the socket buffer), so the reader
    /// is not woken for a partial frame such as the head alone.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        let body = self.body.as_deref().unwrap_or("").as_bytes();
        let mut parts = [
            IoSlice::new(&self.head),
            IoSlice::new(body),
            IoSlice::new(self.tail),
        ];
        let mut remaining: &mut [IoSlice<'_>] = &mut parts;
        // Drops the empty parts, so an empty frame writes nothing.
        IoSlice::advance_slices(&mut remaining, 0);
        while !remaining.is_empty() {
            let written = writer.write_vectored(remaining).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut remaining, written);
        }
        Ok(())
    }

    /// The frame as one buffer (tests).
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut bytes = self.head.clone();
        if let Some(body) = &self.body {
            bytes.extend_from_slice(body.as_bytes());
        }
        bytes.extend_from_slice(self.tail);
        bytes
    }
}

/// The current entries and their serialised forms.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) revision: u64,
    pub(crate) entries: Arc<Vec<PickerEntry>>,
    /// The list's tag: a hash of its JSON, so it is the same for the same
    /// entries in every server (app, `patchbay serve`, after a restart).
    pub(crate) etag: Arc<str>,
    /// `{"etag":"…","entries":[…]}`: the `result` of `entries.list`.
    pub(crate) result_json: Arc<str>,
}

/// A subscribed connection's outgoing queue and its kill switch.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub(crate) queue: mpsc::Sender<Frame>,
    pub(crate) kick: Arc<Notify>,
}

#[derive(Debug)]
pub(crate) struct EntriesFeed {
    snapshot: RwLock<Arc<Snapshot>>,
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    /// Serialises refreshes (the watcher thread and the app's pokes).
    refreshing: Mutex<()>,
}

impl EntriesFeed {
    pub(crate) fn new(entries: Vec<PickerEntry>) -> Result<Self> {
        let snapshot = build_snapshot(0, entries)?;
        Ok(Self {
            snapshot: RwLock::new(Arc::new(snapshot)),
            subscribers: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(()),
        })
    }

    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&read(&self.snapshot))
    }

    /// Installs `entries` if they differ from the current ones and notifies
    /// every subscriber. Returns whether anything changed.
    pub(crate) fn update(&self, entries: Vec<PickerEntry>) -> Result<bool> {
        let _serialised = lock(&self.refreshing);
        let current = self.snapshot();
        if *current.entries == entries {
            return Ok(false);
        }
        let snapshot = Arc::new(build_snapshot(current.revision + 1, entries)?);
        let notification = notification_frame(&snapshot);
        // Swapping under the subscribers lock orders this change after any
        // `entries.subscribe` answer already queued with the old snapshot.
        let mut subscribers = lock(&self.subscribers);
        *write(&self.snapshot) = Arc::clone(&snapshot);
        subscribers.retain(|connection, subscriber| {
            match subscriber.queue.try_send(notification.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        connection,
                        "dropping an IPC subscriber that stopped reading"
                    );
                    subscriber.kick.notify_one();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        tracing::debug!(
            revision = snapshot.revision,
            subscribers = subscribers.len(),
            "entries changed"
        );
        Ok(true)
    }

    /// Subscribes a connection and queues `answer(snapshot)` on it in the
    /// same critical section, so no change can slip in between.
    pub(crate) fn subscribe(
        &self,
        connection: u64,
        subscriber: Subscriber,
        answer: impl FnOnce(&Snapshot) -> Frame,
    ) -> Result<()> {
        let mut subscribers = lock(&self.subscribers);
        let snapshot = self.snapshot();
        subscriber
            .queue
            .try_send(answer(&snapshot))
            .map_err(|_| IpcError::Busy {
                detail: "this connection has too many unread frames".to_owned(),
            })?;
        subscribers.insert(connection, subscriber);
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, connection: u64) {
        lock(&self.subscribers).remove(&connection);
    }

    pub(crate) fn is_subscribed(&self, connection: u64) -> bool {
        lock(&self.subscribers).contains_key(&connection)
    }

    pub(crate) fn subscriber_count(&self) -> usize {
        lock(&self.subscribers).len()
    }
}

fn build_snapshot(revision: u64, entries: Vec<PickerEntry>) -> Result<Snapshot> {
    let entries_json = serde_json::to_string(&entries).map_err(|error| IpcError::Internal {
        detail: format!("could not encode the entries: {error}"),
    })?;
    // What goes around the list in a frame: the tag, the envelope, an id.
    const ENVELOPE_BYTES: usize = 1024;
    if entries_json.len() + ENVELOPE_BYTES > MAX_SERVER_FRAME_BYTES {
        return Err(IpcError::Internal {
            detail: format!(
                "the {} entries take {} bytes, more than the {MAX_SERVER_FRAME_BYTES} bytes a frame may carry; disable providers or remove models",
                entries.len(),
                entries_json.len()
            ),
        });
    }
    let etag = etag_of(&entries_json);
    let mut result_json = String::with_capacity(entries_json.len() + etag.len() + 24);
    result_json.push_str("{\"etag\":\"");
    result_json.push_str(&etag);
    result_json.push_str("\",\"entries\":");
    result_json.push_str(&entries_json);
    result_json.push('}');
    Ok(Snapshot {
        revision,
        entries: Arc::new(entries),
        etag: Arc::from(etag),
        result_json: Arc::from(result_json),
    })
}

/// The first 128 bits of the SHA-256 of the entries' JSON, in hex: enough
/// that two different lists never share a tag in practice.
fn etag_of(entries_json: &str) -> String {
    let digest = Sha256::digest(entries_json.as_bytes());
    hex::encode(&digest[..16])
}

/// `{"jsonrpc":"2.0","method":"entries.changed","params":<result_json>}`,
/// built around the cached result rather than encoding the list again.
fn notification_frame(snapshot: &Snapshot) -> Frame {
    let mut head = Vec::with_capacity(64);
    head.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":\"");
    head.extend_from_slice(methods::ENTRIES_CHANGED.as_bytes());
    head.extend_from_slice(b"\",\"params\":");
    Frame::wrapped(head, Arc::clone(&snapshot.result_json), b"}\n")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_protocol::rpc::{EntriesResult, ServerFrame};

    #[tokio::test]
    async fn a_subscriber_that_stops_reading_is_dropped_and_the_rest_still_get_changes() {
        let feed = EntriesFeed::new(Vec::new()).expect("feed");
        let (stuck_queue, _stuck_receiver) = mpsc::channel(1);
        let stuck_kick = Arc::new(Notify::new());
        feed.subscribe(
            1,
            Subscriber {
                queue: stuck_queue,
                kick: Arc::clone(&stuck_kick),
            },
            |_| Frame::owned(b"{}\n".to_vec()),
        )
        .expect("subscribe");
        let (live_queue, mut live_receiver) = mpsc::channel(8);
        feed.subscribe(
            2,
            Subscriber {
                queue: live_queue,
                kick: Arc::new(Notify::new()),
            },
            |snapshot| Frame::wrapped(Vec::new(), Arc::clone(&snapshot.result_json), b""),
        )
        .expect("subscribe");
        let initial = live_receiver
            .recv()
            .await
            .expect("subscribe answer")
            .to_vec();
        let parsed: EntriesResult =
            serde_json::from_slice(&initial).expect("result_json is an EntriesResult");
        assert!(parsed.entries.is_empty());

        // The stuck queue (capacity 1) is already full with its answer.
        let entries = vec![sample_entry()];
        assert!(feed.update(entries.clone()).expect("update"));
        assert!(
            !feed.update(entries.clone()).expect("same entries again"),
            "no change, no notification"
        );
        assert_eq!(feed.subscriber_count(), 1);
        tokio::time::timeout(std::time::Duration::from_secs(1), stuck_kick.notified())
            .await
            .expect("stuck one kicked");

        let frame = live_receiver.recv().await.expect("notification").to_vec();
        match ServerFrame::parse(frame.strip_suffix(b"\n").expect("newline")) {
            Ok(ServerFrame::Notification(notification)) => {
                assert_eq!(notification.method, "entries.changed");
                let params: EntriesResult =
                    serde_json::from_value(notification.params.expect("params")).expect("shape");
                assert_eq!(params.entries, entries);
                // The tag is the list's: the notification, the snapshot and
                // a fresh feed of the same entries agree; the old one differs.
                assert_eq!(params.etag, *feed.snapshot().etag);
                let fresh = EntriesFeed::new(entries.clone()).expect("feed");
                assert_eq!(fresh.snapshot().etag, feed.snapshot().etag);
                assert_ne!(params.etag, parsed.etag);
            }
            other => panic!("expected a notification, got {other:?}"),
        }
        assert_eq!(feed.snapshot().revision, 1);
    }

    fn sample_entry() -> PickerEntry {
        serde_json::from_value(serde_json::json!({
            "id": "p/m", "label": "m · P",
            "provider": {"id": "p", "label": "P", "base_url": "https://p.example/v1"},
            "model_id": "m", "is_default": true, "byok": true, "auth": "none", "input_modalities": []
        }))
        .expect("entry")
    }
}
