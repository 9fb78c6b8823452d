//! Passing one request through to a provider (the local gateway): the
//! target's credentials added, the connection opened through the full
//! egress policy and pinned to the checked addresses, and the answer handed
//! back as it arrives — each chunk as soon as it comes, with an idle timeout
//! between chunks rather than an overall one, so long generations are not
//! cut. Dropping the [`Upstream`] closes the connection to the provider.
//!
//! What leaves here is redacted: chunks of a successful answer by the value
//! of every secret the request carried ([`Upstream::next_chunk`]; by shape
//! would corrupt legitimate model output), an error body also by shape
//! ([`Upstream::error_body`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::header;
use hyper::Method;
use patchbay_core::ApiKey;
use url::Url;

use crate::client::HttpClient;
use crate::error::NetError;
use crate::policy::Lookup;
use crate::session::{Live, Session, Streaming};
use crate::stage::Stage;
use crate::target::Target;

/// An idle connection is kept this long for the next request.
const IDLE_FOR: Duration = Duration::from_secs(30);
/// A connection is reused for at most this long after it was opened (and
/// its addresses judged): DNS changes are picked up within a minute.
const MAX_AGE: Duration = Duration::from_secs(60);
/// At most this many idle connections per target.
const IDLE_PER_TARGET: usize = 32;

/// Kept-alive connections to providers, one list per target (its origin,
/// network allowance, proxy and trusted certificate: a target whose
/// settings change gets new connections, judged again). Every connection in
/// it was opened through the full policy and stays pinned to the address
/// that was checked.
#[derive(Debug, Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Parked>>>,
}

#[derive(Debug)]
struct Parked {
    live: Live,
    opened: Instant,
    since: Instant,
}

impl Pool {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Idle connections held now (all targets).
    pub fn idle_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Parked>>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, key: &str) -> Option<(Live, Instant)> {
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        let now = Instant::now();
        list.retain(|parked| {
            now.duration_since(parked.since) < IDLE_FOR
                && now.duration_since(parked.opened) < MAX_AGE
                && !parked.live.sender.is_closed()
        });
        let parked = list.pop()?;
        tracing::trace!(peer = %parked.live.peer, "reusing a kept-alive provider connection");
        Some((parked.live, parked.opened))
    }

    fn put(&self, key: String, live: Live, opened: Instant) {
        if live.sender.is_closed() || opened.elapsed() >= MAX_AGE {
            return;
        }
        let mut idle = self.lock();
        let list = idle.entry(key).or_default();
        if list.len() < IDLE_PER_TARGET {
            list.push(Parked {
                live,
                opened,
                since: Instant::now(),
            });
        }
    }
}

/// What identifies a target's connections in the pool.
fn pool_key(target: &Target) -> String {
    use sha2::{Digest, Sha256};
    let mut trust = Sha256::new();
    for der in &target.ca_certificates {
        trust.update((der.len() as u64).to_be_bytes());
        trust.update(der);
    }
    // The proxy password itself stays out of the key: a hash of it would
    // still be derived from a secret, and a changed password needs no new
    // connection (the proxy checked it when the tunnel was made).
    format!(
        "{}|{}|{}|{}|{}|{}",
        target.base_url.origin().ascii_serialization(),
        target.network.as_str(),
        target.proxy.as_ref().map_or("", |proxy| proxy.as_str()),
        target
            .proxy_credentials
            .as_ref()
            .map_or("", |(name, _password)| name.as_str()),
        target.trusted_cert_sha256.as_deref().unwrap_or(""),
        hex::encode(trust.finalize())
    )
}

/// A provider's answer, arriving.
#[derive(Debug)]
pub struct Upstream {
    status: u16,
    /// The response head and the URL asked, for classifying a failure.
    headers: header::HeaderMap,
    url: Url,
    content_type: Option<String>,
    content_length: Option<u64>,
    body: hyper::body::Incoming,
    /// Until the body has been read to its end; then back to the pool.
    connection: Option<(Live, Instant)>,
    keep_alive: bool,
    pool: Arc<Pool>,
    key: String,
    reused: bool,
    secrets: Vec<ApiKey>,
    idle: Duration,
}

/// `POST {base_url}/{path}` with `body` (JSON) and the target's key and
/// headers (for Azure's classic API, under `model`'s deployment with the
/// `api-version`), through the policy, on a kept-alive connection from `pool`
/// when there is one. `idle` bounds the wait for the response head and
/// then for each chunk of the body.
pub async fn forward(
    client: &HttpClient,
    target: &Target,
    lookup: &dyn Lookup,
    pool: &Arc<Pool>,
    path: &str,
    model: &str,
    body: Bytes,
    idle: Duration,
) -> Result<Upstream, NetError> {
    let url = endpoint(&target.base_url, path)?;
    let url = if target.api_version.is_some() {
        target.request_url(path.trim_start_matches('/'), Some(model))
    } else {
        url
    };
    let key = pool_key(target);
    let pooled = pool.take(&key);
    let opened_before = pooled.as_ref().map(|(_, opened)| *opened);
    let mut session = Session::new(client, target, lookup, None);
    let streaming: Streaming = session
        .start_stream(
            &Method::POST,
            &url,
            body,
            idle,
            pooled.map(|(live, _)| live),
        )
        .await?;
    let opened = match (streaming.reused, opened_before) {
        (true, Some(opened)) => opened,
        _ => Instant::now(),
    };
    let content_length = streaming
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());
    let keep_alive = !streaming
        .headers
        .get(header::CONNECTION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("close"));
    let content_type = streaming
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut secrets: Vec<ApiKey> = target.api_key.iter().cloned().collect();
    secrets.extend(target.headers.iter().map(|(_name, value)| value.clone()));
    secrets.extend(
        target
            .proxy_credentials
            .iter()
            .map(|(_name, password)| password.clone()),
    );
    secrets.retain(|secret| !secret.expose().is_empty());
    Ok(Upstream {
        status: streaming.status.as_u16(),
        headers: streaming.headers.clone(),
        url,
        content_type,
        content_length,
        body: streaming.body,
        connection: Some((streaming.connection, opened)),
        keep_alive,
        pool: Arc::clone(pool),
        key,
        reused: streaming.reused,
        secrets,
        idle,
    })
}

/// `{base}/{path}` for a path under the base URL (`chat/completions`); a
/// path that would leave it (`..`) is refused.
fn endpoint(base: &Url, path: &str) -> Result<Url, NetError> {
    let clean = path.trim_start_matches('/');
    if clean
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        return Err(NetError::InvalidRequest {
            detail: "the request path may not contain `.` or `..` segments".to_owned(),
        });
    }
    let mut url = patchbay_core::base_url::endpoint(base, clean);
    if let Some((path_only, query)) = clean.split_once('?') {
        url = patchbay_core::base_url::endpoint(base, path_only);
        url.set_query(Some(query));
    }
    Ok(url)
}

impl Upstream {
    /// The provider's HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Its `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Its `Content-Length`, when it sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Whether the request went on a kept-alive connection from the pool.
    pub fn reused_connection(&self) -> bool {
        self.reused
    }

    /// True for a 2xx `text/event-stream` answer.
    pub fn is_event_stream(&self) -> bool {
        (200..300).contains(&self.status)
            && self
                .content_type
                .as_deref()
                .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"))
    }

    /// The next chunk of the body as it arrives (`None` at the end), with
    /// every secret the request carried replaced by `[redacted]`. An idle
    /// gap longer than the idle timeout ends the body with a timeout.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, NetError>> {
        loop {
            let frame = match tokio::time::timeout(self.idle, self.body.frame()).await {
                Err(_elapsed) => {
                    return Some(Err(NetError::Timeout {
                        stage: Stage::Chat,
                        after: self.idle,
                    }))
                }
                Ok(None) => {
                    // The whole body was read: the connection can carry
                    // the next request.
                    if let Some((live, opened)) = self.connection.take() {
                        if self.keep_alive {
                            self.pool.put(self.key.clone(), live, opened);
                        }
                    }
                    return None;
                }
                Ok(Some(Err(failure))) => {
                    return Some(Err(NetError::BadResponse {
                        detail: format!("the answer broke off ({failure})"),
                    }))
                }
                Ok(Some(Ok(frame))) => frame,
            };
            if let Ok(data) = frame.into_data() {
                return Some(Ok(redact_values(data, &self.secrets)));
            }
        }
    }

    /// What a non-2xx answer to a chat request means, classified the way a
    /// connection test's chat request is (401 a refused key, 429 a rate
    /// limit with `Retry-After`, …), with the provider's message cleaned of
    /// anything secret. `None` for a 2xx answer.
    pub async fn into_failure(self, target: &Target) -> Option<NetError> {
        if (200..300).contains(&self.status) {
            return None;
        }
        let status = hyper::StatusCode::from_u16(self.status).ok()?;
        let (headers, url, secrets) =
            (self.headers.clone(), self.url.clone(), self.secrets.clone());
        let body = self.error_body(16 * 1024).await;
        let reply = crate::reply::Reply {
            status,
            headers,
            body,
            headers_at: Instant::now(),
            first_event_at: None,
            url,
        };
        let secrets = crate::error::Secrets::new(secrets.iter());
        crate::openai::check_status(&reply, crate::error::Resource::Chat, &secrets, target).err()
    }

    /// The whole body of an error answer, up to `limit` bytes, redacted by
    /// value and by shape (anything that looks like a credential).
    pub async fn error_body(mut self, limit: usize) -> Bytes {
        let mut collected = BytesMut::new();
        while let Some(Ok(chunk)) = self.next_chunk().await {
            let room = limit.saturating_sub(collected.len());
            collected.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if collected.len() >= limit {
                break;
            }
        }
        redact_shapes(&collected)
    }
}

/// `data` with every occurrence of a secret replaced (byte for byte
/// otherwise).
fn redact_values(data: Bytes, secrets: &[ApiKey]) -> Bytes {
    let found = secrets
        .iter()
        .any(|secret| contains(&data, secret.expose().as_bytes()));
    if !found {
        return data;
    }
    let mut text = data.to_vec();
    for secret in secrets {
        text = replace_all(&text, secret.expose().as_bytes(), b"[redacted]");
    }
    Bytes::from(text)
}

/// Every run of credential characters that looks like a credential
/// ([`patchbay_core::secret::looks_like_credential`]) replaced.
fn redact_shapes(data: &[u8]) -> Bytes {
    let Ok(text) = std::str::from_utf8(data) else {
        return Bytes::from_static(b"");
    };
    let mut output = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, output: &mut String| {
        if !run.is_empty() {
            if patchbay_core::secret::looks_like_credential(run) {
                output.push_str("[redacted]");
            } else {
                output.push_str(run);
            }
            run.clear();
        }
    };
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || "-_.~+/=".contains(character) {
            run.push(character);
        } else {
            flush(&mut run, &mut output);
            output.push(character);
        }
    }
    flush(&mut run, &mut output);
    Bytes::from(output)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut output = Vec::with_capacity(haystack.len());
    let mut index = 0;
    while index < haystack.len() {
        if haystack[index..].starts_with(needle) {
            output.extend_from_slice(with);
            index += needle.len();
        } else {
            output.push(haystack[index]);
            index += 1;
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_replaced_and_everything_else_kept_byte_for_byte() {
        let secrets = [ApiKey::new("sk-secret-0123456789")];
        let body = Bytes::from_static(b"data: {\"x\":\"sk-secret-0123456789\", \"y\": 1}\n\n");
        assert_eq!(
            redact_values(body, &secrets),
            Bytes::from_static(b"data: {\"x\":\"[redacted]\", \"y\": 1}\n\n")
        );
        let untouched = Bytes::from_static(b"data: {\"a\": \"\xc3\xa9\"}\n\n");
        assert_eq!(redact_values(untouched.clone(), &secrets), untouched);
    }

    #[test]
    fn error_bodies_lose_anything_shaped_like_a_key() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx1234","code":"invalid_api_key"}}"#;
        let redacted = redact_shapes(body);
        let text = std::str::from_utf8(&redacted).expect("utf-8");
        assert!(!text.contains("sk-proj-"), "{text}");
        assert!(text.contains("\"code\":\"invalid_api_key\""), "{text}");
    }

    #[test]
    fn paths_stay_under_the_base_url() {
        let base = Url::parse("https://api.example.com/v1").expect("url");
        assert_eq!(
            endpoint(&base, "chat/completions").expect("ok").as_str(),
            "https://api.example.com/v1/chat/completions"
        );
        assert_eq!(
            endpoint(&base, "models?limit=2").expect("ok").as_str(),
            "https://api.example.com/v1/models?limit=2"
        );
        assert!(endpoint(&base, "../admin").is_err());
    }
}
