//! The OpenAI-compatible wire format, as pure functions: building a request
//! (with the key and custom headers only while the origin is the base
//! URL's), classifying an answer's status, parsing a `/models` answer, the
//! chat probe's body and what a chat refusal says about the model.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request};
use patchbay_core::egress::display_form as display_url;
use patchbay_core::ApiKey;
use url::Url;

use crate::discovery::{self, DiscoveredModel, DiscoveryError};
use crate::error::{self, NetError, Resource, Secrets};
use crate::reply::Reply;
use crate::target::Target;

/// The short user message of the chat probe.
const CHAT_PROBE_MESSAGE: &str = "Reply with OK.";

/// How many close model ids a "model not found" names.
const CLOSE_MATCH_COUNT: usize = 3;

/// Headers the client sets itself (or that frame the message). Core's
/// validation already refuses them as custom headers; the client refuses
/// them again because a config file can be edited by hand.
const RESERVED_HEADERS: [&str; 9] = [
    "authorization",
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
    "user-agent",
    "accept",
    "cookie",
];

/// The HTTP/1.1 request for `url`. `credentials` is the target whose key
/// and custom headers are sent, or `None` once a redirect left the base
/// URL's origin. `absolute_form` names the whole URL (a request through an
/// http proxy).
/// `Basic base64(user:password)` for `Proxy-Authorization`.
pub(crate) fn proxy_basic((username, password): &(String, ApiKey)) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    format!("Basic {token}")
}

pub(crate) fn build_request(
    method: &Method,
    url: &Url,
    body: Option<Bytes>,
    absolute_form: bool,
    user_agent: &str,
    credentials: Option<&Target>,
    proxy_credentials: Option<&(String, ApiKey)>,
) -> Result<Request<Full<Bytes>>, NetError> {
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if absolute_form {
        // RFC 9112 §3.2.2: a request to a proxy names the whole URL.
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        path = format!(
            "{}://{}{port}{path}",
            url.scheme(),
            url.host_str().unwrap_or("")
        );
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    };
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, host)
        .header(header::USER_AGENT, user_agent);
    let json = body.is_some();
    builder = builder.header(
        header::ACCEPT,
        if json {
            "text/event-stream, application/json"
        } else {
            "application/json"
        },
    );
    if json {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    if absolute_form {
        // The request goes to the proxy itself: it gets the proxy's
        // credentials (and strips the header before forwarding).
        if let Some(credentials) = proxy_credentials {
            let mut value =
                HeaderValue::from_str(&proxy_basic(credentials)).map_err(|_invalid| {
                    NetError::InvalidRequest {
                        detail: "the proxy user name or password holds characters HTTP cannot send"
                            .to_owned(),
                    }
                })?;
            value.set_sensitive(true);
            builder = builder.header(header::PROXY_AUTHORIZATION, value);
        }
    }
    let mut request = builder
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|error| NetError::InvalidRequest {
            detail: format!("the request could not be built ({error})"),
        })?;
    if let Some(target) = credentials {
        add_credentials(request.headers_mut(), target)?;
    }
    Ok(request)
}

/// The target's custom headers and its key (`Authorization: Bearer …`),
/// marked sensitive. Names Patchbay sets itself are refused again here (a
/// config file can be edited by hand).
fn add_credentials(headers: &mut hyper::HeaderMap, target: &Target) -> Result<(), NetError> {
    for (name, value) in &target.headers {
        if RESERVED_HEADERS
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(name))
        {
            return Err(NetError::InvalidRequest {
                detail: format!("`{name}` is set by Patchbay and cannot be a custom header"),
            });
        }
        let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_invalid| {
            NetError::InvalidRequest {
                detail: format!("`{name}` is not a valid header name"),
            }
        })?;
        let mut header_value =
            HeaderValue::from_str(value.expose()).map_err(|_invalid| NetError::InvalidRequest {
                detail: format!(
                    "the value of header `{name}` contains characters a header cannot carry"
                ),
            })?;
        header_value.set_sensitive(true);
        headers.insert(header_name, header_value);
    }
    if target.api == patchbay_core::model::Api::Anthropic
        && !headers.contains_key("anthropic-version")
    {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
    }
    if let Some(key) = &target.api_key {
        let (name, text) = match target.key_header() {
            "authorization" => (header::AUTHORIZATION, format!("Bearer {}", key.expose())),
            other => (HeaderName::from_static(other), key.expose().to_owned()),
        };
        let mut value =
            HeaderValue::from_str(&text).map_err(|_invalid| NetError::InvalidRequest {
                detail: "the API key contains characters a header cannot carry".to_owned(),
            })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(())
}

/// Parses a successful `/models` reply into models, classifying any
/// failure (status, HTML, envelope, shape).
pub(crate) fn models_from(
    reply: &Reply,
    secrets: &Secrets<'_>,
    target: &Target,
) -> Result<Vec<DiscoveredModel>, NetError> {
    check_status(reply, Resource::Models, secrets, target)?;
    if reply.looks_like_html() {
        return Err(NetError::NotJson {
            resource: Resource::Models,
            content_type: reply.content_type(),
            web_page: true,
        });
    }
    discovery::parse_models(&reply.body).map_err(|error| discovery_failure(reply, error, secrets))
}

fn discovery_failure(reply: &Reply, error: DiscoveryError, secrets: &Secrets<'_>) -> NetError {
    match error {
        DiscoveryError::Html => NetError::NotJson {
            resource: Resource::Models,
            content_type: reply.content_type(),
            web_page: true,
        },
        DiscoveryError::NotJson { .. } => NetError::NotJson {
            resource: Resource::Models,
            content_type: reply.content_type(),
            web_page: false,
        },
        DiscoveryError::ErrorEnvelope { provider_text } => NetError::ErrorEnvelope {
            status: reply.status.as_u16(),
            provider_message: provider_text
                .map(|text| error::sanitize_text(&text, secrets, 300))
                .filter(|text| !text.is_empty()),
        },
        other => NetError::BadResponse {
            detail: other.to_string(),
        },
    }
}

/// Maps a non-2xx status to its failure. A 407 from the target's proxy is
/// the proxy's refusal; a 401 when no key was sent asks for one rather than
/// blaming a key.
pub(crate) fn check_status(
    reply: &Reply,
    resource: Resource,
    secrets: &Secrets<'_>,
    target: &Target,
) -> Result<(), NetError> {
    let proxy = target.proxy.as_ref();
    let status = reply.status;
    if status.is_success() {
        return Ok(());
    }
    let provider_message = error::provider_message(&reply.body, secrets);
    let url = display_url(&reply.url);
    Err(match status.as_u16() {
        407 if proxy.is_some() => NetError::Proxy {
            proxy: proxy
                .map(|proxy| {
                    format!(
                        "{}:{}",
                        proxy.host_str().unwrap_or(""),
                        proxy.port_or_known_default().unwrap_or(80)
                    )
                })
                .unwrap_or_default(),
            detail: "it asks for credentials (HTTP 407 Proxy Authentication Required)".to_owned(),
            status: Some(407),
        },
        401 if target.api_key.is_none() => NetError::AuthenticationRequired { provider_message },
        401 => NetError::Unauthorized { provider_message },
        403 => NetError::Forbidden { provider_message },
        404 => NetError::NotFound {
            resource,
            url,
            provider_message,
        },
        405 => NetError::MethodNotAllowed { resource, url },
        429 => NetError::RateLimited {
            retry_after: reply
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .map(|value| retry_after_text(value, secrets)),
            provider_message,
        },
        500..=599 => NetError::ServerError {
            status: status.as_u16(),
            provider_message,
        },
        400..=499 => NetError::BadRequest {
            status: status.as_u16(),
            provider_message,
        },
        other => NetError::BadResponse {
            detail: format!("unexpected HTTP status {other}"),
        },
    })
}

/// `Retry-After` is seconds or an HTTP date; shown as "N s" or the date.
fn retry_after_text(value: &str, secrets: &Secrets<'_>) -> String {
    match value.trim().parse::<u64>() {
        Ok(seconds) => format!("{seconds} s"),
        Err(_not_seconds) => error::sanitize_text(value.trim(), secrets, 64),
    }
}

/// The chat probe's request body: one short user message, one token,
/// streamed (so the first event gives the time to first token).
/// The `anthropic-version` Patchbay speaks (Anthropic's Messages API).
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The one-token probe in Anthropic's Messages format.
pub(crate) fn messages_probe_body(model: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "model": model,
            "max_tokens": 1,
            "stream": true,
            "messages": [{"role": "user", "content": "Hi"}],
        })
        .to_string(),
    )
}

pub(crate) fn chat_probe_body(model: &str) -> Bytes {
    let request = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": CHAT_PROBE_MESSAGE}],
        "max_tokens": 1,
        "stream": true,
    });
    Bytes::from(request.to_string())
}

/// An `{"error": …}` inside a 2xx answer (some servers stream errors as an
/// event): `Some(message)` when present.
pub(crate) fn embedded_error(reply: &Reply, secrets: &Secrets<'_>) -> Option<Option<String>> {
    let value: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
    let has_error = value.get("error").is_some_and(|inner| !inner.is_null());
    has_error.then(|| error::provider_message(&reply.body, secrets))
}

/// A chat failure that is about the model becomes `model_not_found` with
/// close matches: any 404 (the list worked, so the path is right — and
/// OpenAI, Ollama and vLLM all answer an unknown model with 404), or another
/// refusal whose message says the model does not exist.
pub(crate) fn refine_chat_failure(
    error: NetError,
    model: &str,
    known: Option<&[DiscoveredModel]>,
) -> NetError {
    let (is_missing_model, provider_message) = match &error {
        NetError::NotFound {
            provider_message, ..
        } => (
            known.is_some()
                || provider_message
                    .as_deref()
                    .is_some_and(mentions_missing_model),
            provider_message.clone(),
        ),
        NetError::BadRequest {
            provider_message, ..
        }
        | NetError::ErrorEnvelope {
            provider_message, ..
        } => (
            provider_message
                .as_deref()
                .is_some_and(mentions_missing_model),
            provider_message.clone(),
        ),
        _ => (false, None),
    };
    if !is_missing_model {
        return error;
    }
    NetError::ModelNotFound {
        model: model.to_owned(),
        close_matches: known
            .map(|models| close_matches(model, models))
            .unwrap_or_default(),
        provider_message,
    }
}

fn mentions_missing_model(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("model")
        && [
            "not found",
            "does not exist",
            "not exist",
            "no such",
            "unknown",
            "invalid model",
            "not available",
            "not supported",
            "try pulling",
        ]
        .iter()
        .any(|phrase| lower.contains(phrase))
}

/// The ids closest to `model` (edit distance, case-insensitive, on the whole
/// id, its last path part and that part without an Ollama `:tag`), best
/// first.
pub(crate) fn close_matches(model: &str, models: &[DiscoveredModel]) -> Vec<String> {
    let wanted = id_forms(&model.to_lowercase());
    let allowed = (wanted[2].chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = models
        .iter()
        .filter_map(|candidate| {
            let forms = id_forms(&candidate.id.to_lowercase());
            let distance = wanted
                .iter()
                .flat_map(|left| forms.iter().map(move |right| edit_distance(left, right)))
                .min()
                .unwrap_or(usize::MAX);
            let related = forms[0].contains(&wanted[2]) || wanted[0].contains(&forms[2]);
            (distance <= allowed || related).then_some((distance, candidate.id.as_str()))
        })
        .collect();
    scored.sort_by(|left, right| left.0.cmp(&right.0).then_with(|| left.1.cmp(right.1)));
    scored
        .into_iter()
        .take(CLOSE_MATCH_COUNT)
        .map(|(_, id)| id.to_owned())
        .collect()
}

/// `[whole id, last path part, last path part without :tag]`.
fn id_forms(id: &str) -> [String; 3] {
    let tail = id.rsplit('/').next().unwrap_or(id);
    let untagged = tail.split(':').next().unwrap_or(tail);
    [id.to_owned(), tail.to_owned(), untagged.to_owned()]
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current = vec![0; right.len() + 1];
    for (row, left_character) in left.chars().enumerate() {
        current[0] = row + 1;
        for (column, right_character) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_character != *right_character);
            current[column + 1] = substitution
                .min(previous[column + 1] + 1)
                .min(current[column] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

/// Another API's own `/models` shape behind a base URL that should have
/// been its OpenAI-compatible one: the API's name and the base URL to use
/// instead. Google Gemini's native list (`{"models":[{"name":"models/…"}]}`,
/// from `…/v1beta` without `/openai`) and Ollama's `/api/tags`
/// (`{"models":[{"name","model","digest",…}]}`). Ollama's OpenAI endpoint
/// (`/v1`, `"data": […]` or `"data": null`) is not affected, and neither is
/// Anthropic's own list (`{"data":[{"type":"model","id":…}],"has_more":…}`):
/// its ids are the ones Anthropic's OpenAI-compatible endpoint at the same
/// base URL accepts.
pub(crate) fn native_api(body: &[u8], base_url: &Url) -> Option<(&'static str, String)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if object.contains_key("data") {
        return None;
    }
    let models = object.get("models")?.as_array()?;
    let first = models.first()?.as_object()?;
    let named = |prefix: &str| {
        models.iter().all(|model| {
            model
                .get("name")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|name| name.starts_with(prefix))
        })
    };
    if named("models/") {
        let base = display_url(base_url);
        return Some((
            "Google Gemini",
            format!("{}/openai", base.trim_end_matches('/')),
        ));
    }
    if first.contains_key("digest") || first.contains_key("modified_at") {
        let mut root = base_url.clone();
        root.set_path("/v1");
        return Some(("Ollama", display_url(&root)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_core::model::ModelMetadata;

    fn models(ids: &[&str]) -> Vec<DiscoveredModel> {
        ids.iter()
            .map(|id| DiscoveredModel {
                id: (*id).to_owned(),
                metadata: ModelMetadata::default(),
            })
            .collect()
    }

    #[test]
    fn close_matches_rank_by_distance() {
        let list = models(&[
            "gpt-4o",
            "gpt-4o-mini",
            "o3-mini",
            "meta-llama/llama-3.1-8b-instruct",
            "text-embedding-3-small",
        ]);
        assert_eq!(
            close_matches("gpt4o", &list).first().map(String::as_str),
            Some("gpt-4o")
        );
        assert_eq!(
            close_matches("llama-3.1-8b-instruct", &list),
            vec!["meta-llama/llama-3.1-8b-instruct".to_owned()]
        );
        assert!(close_matches("claude-sonnet", &list).is_empty());
    }

    #[test]
    fn model_not_found_phrases() {
        assert!(mentions_missing_model(
            "model \"llama9\" not found, try pulling it first"
        ));
        assert!(mentions_missing_model(
            "The model `gpt-5x` does not exist or you do not have access to it."
        ));
        assert!(!mentions_missing_model(
            "Invalid request: max_tokens too large"
        ));
    }
}
