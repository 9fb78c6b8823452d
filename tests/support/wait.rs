//! Polling with a deadline, for things that happen asynchronously (the
//! window reacting, a file watcher firing). Failing tests say what they
//! waited for.

use std::time::{Duration, Instant};

/// Calls `probe` every 100 ms until it returns `Some`, or panics after
/// `timeout` naming `what`.
pub fn until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Like [`until`], but returns `None` at the deadline so the caller can
/// report what it saw last.
pub fn until_or_none<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
