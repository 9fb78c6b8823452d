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

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::header;
use hyper::Method;
use patchbay_core::ApiKey;
use url::Url;

use crate::client::HttpClient;
use crate::error::NetError;
use crate::policy::Lookup;
use crate::session::{Session, Streaming};
use crate::stage::Stage;
use crate::target::Target;

/// A provider's answer, arriving.
#[derive(Debug)]
pub struct Upstream {
    status: u16,
    content_type: Option<String>,
    streaming: Streaming,
    secrets: Vec<ApiKey>,
    idle: Duration,
}

/// `POST {base_url}/{path}` with `body` (JSON) and the target's key and
/// headers, through the policy. `idle` bounds the wait for the response
/// head and then for each chunk of the body.
pub async fn forward(
    client: &HttpClient,
    target: &Target,
    lookup: &dyn Lookup,
    path: &str,
    body: Bytes,
    idle: Duration,
) -> Result<Upstream, NetError> {
    let url = endpoint(&target.base_url, path)?;
    let mut session = Session::new(client, target, lookup, None);
    let streaming = session
        .start_stream(&Method::POST, &url, body, idle)
        .await?;
    let content_type = streaming
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut secrets: Vec<ApiKey> = target.api_key.iter().cloned().collect();
    secrets.extend(target.headers.iter().map(|(_name, value)| value.clone()));
    secrets.retain(|secret| !secret.expose().is_empty());
    Ok(Upstream {
        status: streaming.status.as_u16(),
        content_type,
        streaming,
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
            let frame = match tokio::time::timeout(self.idle, self.streaming.body.frame()).await {
                Err(_elapsed) => {
                    return Some(Err(NetError::Timeout {
                        stage: Stage::Chat,
                        after: self.idle,
                    }))
                }
                Ok(None) => return None,
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
