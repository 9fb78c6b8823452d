//! The entries feed: the current picker entries, serialised once per change
//! (so `entries.list` only copies bytes), and the subscribers that get an
//! `entries.changed` notification when they change.
//!
//! Delivery never waits on a subscriber: each connection has a bounded
//! outgoing queue, and a subscriber whose queue is full is dropped and its
//! connection closed (it can reconnect and re-subscribe), so one stuck host
//! cannot hold up the others, the config watcher or the app.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use patchbay_protocol::entries::PickerEntry;
use patchbay_protocol::rpc::{methods, Notification};
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

    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        if !self.head.is_empty() {
            writer.write_all(&self.head).await?;
        }
        if let Some(body) = &self.body {
            writer.write_all(body.as_bytes()).await?;
        }
        if !self.tail.is_empty() {
            writer.write_all(self.tail).await?;
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
    /// `{"entries":[…]}`: the `result` of `entries.list`.
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
        let notification = notification_frame(&snapshot)?;
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

    pub(crate) fn subscriber_count(&self) -> usize {
        lock(&self.subscribers).len()
    }
}

fn build_snapshot(revision: u64, entries: Vec<PickerEntry>) -> Result<Snapshot> {
    let entries = Arc::new(entries);
    let result = EntriesResultRef { entries: &entries };
    let result_json = serde_json::to_string(&result).map_err(|error| IpcError::Internal {
        detail: format!("could not encode the entries: {error}"),
    })?;
    Ok(Snapshot {
        revision,
        entries,
        result_json: Arc::from(result_json),
    })
}

/// Serialises like [`EntriesResult`] without cloning the entries.
#[derive(serde::Serialize)]
struct EntriesResultRef<'a> {
    entries: &'a [PickerEntry],
}

fn notification_frame(snapshot: &Snapshot) -> Result<Frame> {
    let params = serde_json::to_value(EntriesResultRef {
        entries: &snapshot.entries,
    })
    .map_err(|error| IpcError::Internal {
        detail: format!("could not encode the entries: {error}"),
    })?;
    let notification = Notification::new(methods::ENTRIES_CHANGED, Some(params));
    let mut text = serde_json::to_string(&notification).map_err(|error| IpcError::Internal {
        detail: format!("could not encode the notification: {error}"),
    })?;
    text.push('\n');
    Ok(Frame::wrapped(Vec::new(), Arc::from(text), b""))
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
