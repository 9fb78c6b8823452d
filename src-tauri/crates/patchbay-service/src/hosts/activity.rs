//! What apps did through the gateway: one record per request — which app,
//! which entry, the status, how long it took, the time to the first byte
//! of the answer, and the token usage when the provider reported it. Never
//! a prompt or a completion.
//!
//! Kept in memory (the latest [`ACTIVITY_MEMORY`]) and appended to
//! `activity.jsonl` beside `providers.json` by a writer thread, off the
//! request's path. The file is bounded: past [`ACTIVITY_FILE_LIMIT`] bytes
//! it becomes `activity.jsonl.1` (replacing the previous one) and a new
//! file starts, so at most twice that is kept.

use std::collections::VecDeque;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The activity file's name in the config directory.
pub const ACTIVITY_FILE_NAME: &str = "activity.jsonl";
/// It is rotated past this size.
pub const ACTIVITY_FILE_LIMIT: u64 = 1024 * 1024;
/// Records kept in memory for the window.
pub const ACTIVITY_MEMORY: usize = 1000;

/// Token usage as the provider reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
}

/// One request through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub app_id: String,
    pub app_name: String,
    /// The entry the body named (`<provider_id>/<model_id>`), when it named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// The route (`chat/completions`, `models`, …).
    pub endpoint: String,
    /// The status the app received.
    pub status: u16,
    /// Until the answer's last byte went out (or the request failed).
    pub duration_ms: u64,
    /// Until the answer's first byte came from the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<u64>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The gateway's own error code, when it answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// The activity of one config directory. Clones share it.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    recent: Mutex<VecDeque<ActivityRecord>>,
    writer: Mutex<Option<SyncSender<ActivityRecord>>>,
}

impl ActivityLog {
    /// The log in `config_dir` (the file is created on the first record).
    pub fn in_dir(config_dir: &Path) -> Self {
        Self {
            inner: Arc::new(Inner {
                path: config_dir.join(ACTIVITY_FILE_NAME),
                recent: Mutex::new(VecDeque::with_capacity(64)),
                writer: Mutex::new(None),
            }),
        }
    }

    /// Records one request: at once in memory, soon in the file (a full
    /// queue drops the file line, never blocks the request).
    pub fn record(&self, record: ActivityRecord) {
        {
            let mut recent = self
                .inner
                .recent
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if recent.len() == ACTIVITY_MEMORY {
                recent.pop_front();
            }
            recent.push_back(record.clone());
        }
        let mut writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sender = writer.get_or_insert_with(|| spawn_writer(self.inner.path.clone()));
        match sender.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::debug!("the activity file is behind; a line was dropped");
            }
            Err(TrySendError::Disconnected(record)) => {
                // The writer stopped (a write failed): start a new one.
                let fresh = spawn_writer(self.inner.path.clone());
                if fresh.try_send(record).is_err() {
                    tracing::debug!("could not queue an activity line");
                }
                *sender = fresh;
            }
        }
    }

    /// The latest requests of this process, oldest first.
    pub fn recent(&self) -> Vec<ActivityRecord> {
        self.inner
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Every request in the files (the rotated one first), oldest first:
    /// what `patchbay hosts log` shows, with or without a running server.
    pub fn read(config_dir: &Path) -> io::Result<Vec<ActivityRecord>> {
        let path = config_dir.join(ACTIVITY_FILE_NAME);
        let mut records = Vec::new();
        for file in [rotated(&path), path] {
            let Ok(opened) = fs::File::open(&file) else {
                continue;
            };
            for line in io::BufReader::new(opened).lines() {
                if let Ok(record) = serde_json::from_str::<ActivityRecord>(&line?) {
                    records.push(record);
                }
            }
        }
        Ok(records)
    }
}

fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// A thread that appends queued records to the file, rotating it.
fn spawn_writer(path: PathBuf) -> SyncSender<ActivityRecord> {
    let (sender, receiver) = mpsc::sync_channel::<ActivityRecord>(4096);
    let spawned = std::thread::Builder::new()
        .name("patchbay-activity".to_owned())
        .spawn(move || {
            while let Ok(record) = receiver.recv() {
                let mut batch = vec![record];
                batch.extend(receiver.try_iter());
                if let Err(error) = append(&path, &batch) {
                    tracing::warn!(path = %path.display(), %error, "could not write the activity log");
                    return;
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the activity writer");
    }
    sender
}

fn append(path: &Path, batch: &[ActivityRecord]) -> io::Result<()> {
    if fs::metadata(path).is_ok_and(|metadata| metadata.len() >= ACTIVITY_FILE_LIMIT) {
        fs::rename(path, rotated(path))?;
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let mut lines = Vec::new();
    for record in batch {
        serde_json::to_writer(&mut lines, record).map_err(io::Error::other)?;
        lines.push(b'\n');
    }
    file.write_all(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64) -> ActivityRecord {
        ActivityRecord {
            at: OffsetDateTime::UNIX_EPOCH,
            app_id: "com.example.app".to_owned(),
            app_name: "App".to_owned(),
            entry_id: Some(format!("local/m{index}")),
            endpoint: "chat/completions".to_owned(),
            status: 200,
            duration_ms: index,
            first_byte_ms: Some(1),
            stream: false,
            usage: Some(Usage {
                prompt_tokens: Some(3),
                completion_tokens: Some(2),
                total_tokens: Some(5),
            }),
            error_code: None,
        }
    }

    #[test]
    fn records_reach_memory_at_once_and_the_file_soon_and_the_file_rotates() {
        let directory = tempfile::tempdir().expect("dir");
        let log = ActivityLog::in_dir(directory.path());
        for index in 0..3 {
            log.record(record(index));
        }
        assert_eq!(log.recent().len(), 3);
        let mut read = Vec::new();
        for _ in 0..200 {
            read = ActivityLog::read(directory.path()).expect("read");
            if read.len() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(read, log.recent());

        // Past the limit the file is rotated: the old lines move to .1.
        let path = directory.path().join(ACTIVITY_FILE_NAME);
        let filler = vec![b'x'; usize::try_from(ACTIVITY_FILE_LIMIT).expect("fits")];
        fs::write(&path, filler).expect("fill");
        log.record(record(9));
        for _ in 0..200 {
            if fs::metadata(&path).is_ok_and(|metadata| metadata.len() < 4096) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(rotated(&path).exists());
        let read = ActivityLog::read(directory.path()).expect("read");
        assert_eq!(
            read.last().and_then(|record| record.entry_id.clone()),
            Some("local/m9".to_owned())
        );
        assert!(fs::metadata(&path).expect("meta").len() < 4096);
    }
}
