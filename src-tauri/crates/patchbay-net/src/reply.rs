//! A response as read from a provider, with what its headers say.

use std::time::Instant;

use bytes::Bytes;
use hyper::header::{self, HeaderMap};
use hyper::StatusCode;
use url::Url;

/// A response, read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body, or for [`ReadMode::FirstEvent`] the first event's data.
    pub(crate) body: Bytes,
    /// When the response headers arrived.
    pub(crate) headers_at: Instant,
    /// When the first server-sent event arrived.
    pub(crate) first_event_at: Option<Instant>,
    /// The URL that answered (after redirects).
    pub(crate) url: Url,
}

impl Reply {
    pub(crate) fn content_type(&self) -> Option<String> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(100).collect())
    }

    pub(crate) fn is_event_stream(&self) -> bool {
        self.content_type()
            .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"))
    }

    /// HTML by content type or by its first byte.
    pub(crate) fn looks_like_html(&self) -> bool {
        let by_type = self.content_type().is_some_and(|kind| {
            let lower = kind.to_ascii_lowercase();
            lower.starts_with("text/html") || lower.starts_with("application/xhtml")
        });
        by_type || self.body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'<')
    }
}
