//! "Check capabilities": small real requests that show what a model does —
//! answers as a stream, calls a tool it is told to call, reads an image,
//! gives JSON when asked — sent the way host apps' requests go
//! ([`crate::call::send`]), so the answer is what a host app will get (a
//! provider behind the Anthropic translation has no JSON mode there, for
//! instance). The model list is refreshed first for the context window and
//! output limit the provider advertises.
//!
//! The person is told first how many requests and roughly how many tokens
//! it takes ([`plan`]) and must say yes; the window and the CLI ask. What a
//! probe could not tell — a timeout, a rate limit, a refused key, a server
//! error — is recorded with its reason and never as "unsupported".

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use patchbay_core::model::{Capability, ProbeOutcome, ProbedCapabilities, PROBED};
use patchbay_core::{Provider, ProviderId};
use patchbay_net::{NetError, Pool, Upstream};
use patchbay_service::{EntryTarget, Service, ServiceError};
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::call::{self, CallError, Sent};

/// The longest a probe waits for the provider (each gap), unless the
/// provider sets a shorter timeout of its own.
pub const PROBE_IDLE: Duration = Duration::from_secs(60);

/// One request of a check, as the person is told before saying yes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedRequest {
    /// `null` for the model-list refresh.
    pub capability: Option<Capability>,
    /// What it sends, in a few words.
    pub what: &'static str,
    /// About how many tokens it may use (prompt and at most this answer).
    pub tokens: u32,
}

/// What a check will send, for the question before it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckPlan {
    pub requests: Vec<PlannedRequest>,
    /// Chat requests (the model list is not billed).
    pub chat_requests: usize,
    /// About how many tokens in all, at most.
    pub approx_tokens: u32,
    /// One sentence for the question.
    pub summary: String,
}

/// The requests of a check: a model-list refresh, then one small chat
/// request per capability.
pub fn plan(provider: &Provider, model: &str) -> CheckPlan {
    let requests = vec![
        PlannedRequest {
            capability: None,
            what: "GET the model list (context window and output limit; not billed)",
            tokens: 0,
        },
        PlannedRequest {
            capability: Some(Capability::Streaming),
            what: "a streamed answer of at most 8 tokens",
            tokens: 30,
        },
        PlannedRequest {
            capability: Some(Capability::Tools),
            what: "one tool offered and required; at most 64 tokens back",
            tokens: 160,
        },
        PlannedRequest {
            capability: Some(Capability::ImageInput),
            what: "an 8×8 image to name the colour of; at most 10 tokens back",
            tokens: 120,
        },
        PlannedRequest {
            capability: Some(Capability::JsonOutput),
            what: "response_format json_object; at most 32 tokens back",
            tokens: 70,
        },
    ];
    let chat_requests = requests
        .iter()
        .filter(|request| request.capability.is_some())
        .count();
    let approx_tokens = requests.iter().map(|request| request.tokens).sum();
    let billing = if provider.network.allows_loopback()
        && provider.auth == patchbay_core::model::Auth::None
    {
        "on your own server"
    } else {
        "your provider may bill them"
    };
    CheckPlan {
        summary: format!(
            "Checking {model} on {} sends {chat_requests} small chat requests (about {approx_tokens} tokens in all, {billing}) and refreshes the model list.",
            provider.label
        ),
        requests,
        chat_requests,
        approx_tokens,
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// `<provider_id>/<model_id>`.
    pub entry_id: String,
    /// This check's own findings (before merging with earlier ones).
    pub probed: ProbedCapabilities,
    /// Why the model-list refresh failed, if it did (limits then stay as
    /// they were).
    pub list_failure: Option<String>,
    /// The provider with the findings recorded.
    #[serde(skip)]
    pub provider: Provider,
}

/// Runs the check of `model` (one of provider `id`'s chosen models) and
/// records what it found in the model's `probed` field. `cancel` stops it;
/// nothing is recorded then.
pub async fn check_capabilities(
    service: &Service,
    id: &ProviderId,
    model: &str,
    cancel: CancellationToken,
) -> Result<CheckReport, ServiceError> {
    let provider = service.provider(id)?;
    if !provider.models.iter().any(|chosen| chosen.id == model) {
        let known: Vec<&str> = provider
            .models
            .iter()
            .map(|chosen| chosen.id.as_str())
            .collect();
        return Err(patchbay_core::Error::invalid(
            "model",
            format!(
                "{} has no model `{model}`; its models are: {}. Add it first.",
                provider.label,
                known.join(", ")
            ),
        )
        .into());
    }
    let entry = service.model_target(id, model).await?;
    let list_failure = tokio::select! {
        () = cancel.cancelled() => return Err(NetError::Cancelled.into()),
        refreshed = service.refresh_models(id.clone()) => match refreshed {
            Ok(refreshed) => refreshed.failure.map(|failure| failure.to_string()),
            Err(error) => Some(error.to_string()),
        },
    };
    let idle = entry
        .target
        .timeout
        .map_or(PROBE_IDLE, |own| own.min(PROBE_IDLE));
    let mut probed = ProbedCapabilities {
        at: OffsetDateTime::now_utc(),
        streaming: None,
        tools: None,
        image_input: None,
        json_output: None,
    };
    for capability in PROBED {
        let outcome = tokio::select! {
            () = cancel.cancelled() => return Err(NetError::Cancelled.into()),
            outcome = probe(service, &entry, capability, idle) => outcome,
        };
        probed.set(capability, outcome);
    }
    let store = service.store().clone();
    let (provider_id, model_id, findings) = (id.clone(), model.to_owned(), probed.clone());
    let provider = tokio::task::spawn_blocking(move || {
        store.record_capabilities(&provider_id, &model_id, findings)
    })
    .await
    .map_err(|_| ServiceError::Interrupted)??;
    Ok(CheckReport {
        entry_id: format!("{id}/{model}"),
        probed,
        list_failure,
        provider,
    })
}

/// One probe: its request, sent, and what the answer shows.
async fn probe(
    service: &Service,
    entry: &EntryTarget,
    capability: Capability,
    idle: Duration,
) -> ProbeOutcome {
    let body = probe_body(&entry.model_id, capability);
    // Each probe on a connection of its own that ends with it.
    let pool = Pool::new();
    let sent = match call::send(service, &pool, entry, "chat/completions", body, idle).await {
        Ok(sent) => sent,
        Err(CallError::NotTranslatable(message)) => {
            return ProbeOutcome::unsupported(format!(
                "Not available through the gateway's translation: {message}"
            ))
        }
        Err(CallError::Unavailable(error)) => {
            return ProbeOutcome::undetermined(error.kind().reason(), error.to_string())
        }
        Err(CallError::Net(error)) => return undetermined(&error),
    };
    let Sent { upstream, shape } = sent;
    let status = upstream.status();
    if !(200..300).contains(&status) {
        return refused(upstream, entry, status).await;
    }
    let streamed = upstream.is_event_stream();
    let (body, chunks, took) = match read_all(upstream).await {
        Ok(read) => read,
        Err(error) => return undetermined(&error),
    };
    let body = match shape {
        // Translated answers come back in Anthropic's shape: read them the
        // way the gateway hands them to hosts.
        Some(shape) if streamed => {
            let mut stream = crate::anthropic::Stream::new(&entry.model_id, 0, shape.include_usage);
            stream.feed(&body).into_bytes()
        }
        Some(_) => crate::anthropic::answer(&body, &entry.model_id, 0).unwrap_or_default(),
        None => body,
    };
    judge(capability, streamed, chunks, took, &body)
}

/// What a 2xx answer shows about `capability`.
fn judge(
    capability: Capability,
    streamed: bool,
    chunks: usize,
    took: Duration,
    body: &[u8],
) -> ProbeOutcome {
    match capability {
        Capability::Streaming => {
            let events = if streamed { sse_data(body).len() } else { 0 };
            if streamed && events > 0 {
                ProbeOutcome::supported(format!(
                    "{events} events arrived in {chunks} pieces over {} ms",
                    took.as_millis()
                ))
            } else {
                ProbeOutcome::unsupported("Asked for a stream, the server answered in one piece.")
            }
        }
        Capability::Tools => {
            let message = answer_message(streamed, body);
            let called = message
                .as_ref()
                .and_then(|message| message.pointer("/tool_calls/0/function/name"))
                .and_then(Value::as_str);
            match called {
                Some("get_weather") => {
                    ProbeOutcome::supported("Called the tool it was told to call.")
                }
                Some(other) => ProbeOutcome::unsupported(format!(
                    "Called `{}` instead of the required tool.",
                    other.chars().take(60).collect::<String>()
                )),
                None if message.is_some() => ProbeOutcome::unsupported(
                    "Answered with text instead of calling the required tool.",
                ),
                None => ProbeOutcome::undetermined(
                    "bad_response",
                    "The answer is not a chat completion.",
                ),
            }
        }
        Capability::ImageInput => match answer_message(streamed, body) {
            Some(_) => ProbeOutcome::supported("Answered a message with an image."),
            None => {
                ProbeOutcome::undetermined("bad_response", "The answer is not a chat completion.")
            }
        },
        Capability::JsonOutput => match answer_message(streamed, body) {
            Some(message) => {
                let content = message.get("content").and_then(Value::as_str).unwrap_or("");
                let object = serde_json::from_str::<Value>(content.trim())
                    .is_ok_and(|value| value.is_object());
                if object {
                    ProbeOutcome::supported("Answered with a JSON object.")
                } else {
                    ProbeOutcome::unsupported(
                        "Accepted response_format but did not answer with a JSON object.",
                    )
                }
            }
            None => {
                ProbeOutcome::undetermined("bad_response", "The answer is not a chat completion.")
            }
        },
    }
}

/// A non-2xx answer: a refusal of the request's shape (400, 404 for the
/// route, 415, 422) means the capability is not supported; anything that
/// says nothing about the model (401, 403, 408, 429, 5xx) is inconclusive.
async fn refused(upstream: Upstream, entry: &EntryTarget, status: u16) -> ProbeOutcome {
    let failure = upstream.into_failure(&entry.target).await;
    let message = failure
        .as_ref()
        .map_or_else(|| format!("HTTP {status}"), ToString::to_string);
    let shape_refused = matches!(status, 400 | 415 | 422);
    if shape_refused {
        return ProbeOutcome::unsupported(format!("Refused: {}", clip(&message)));
    }
    match failure {
        Some(error) => undetermined(&error),
        None => ProbeOutcome::undetermined("bad_response", clip(&message)),
    }
}

fn undetermined(error: &NetError) -> ProbeOutcome {
    ProbeOutcome::undetermined(error.kind().reason(), clip(&error.to_string()))
}

fn clip(text: &str) -> String {
    let mut clipped: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if text.chars().count() > 300 {
        clipped.push('…');
    }
    clipped
}

/// The whole answer, how many pieces it came in and how long it took.
async fn read_all(mut upstream: Upstream) -> Result<(Vec<u8>, usize, Duration), NetError> {
    let started = Instant::now();
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = upstream.next_chunk().await {
        let chunk = chunk?;
        chunks += 1;
        body.extend_from_slice(&chunk);
        if body.len() > 1024 * 1024 {
            break;
        }
    }
    Ok((body, chunks, started.elapsed()))
}

/// The `data:` payloads of a server-sent event stream (`[DONE]` left out).
fn sse_data(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .map(str::trim)
        .filter(|data| *data != "[DONE]")
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect()
}

/// The assistant message of a completion, or of a stream's chunks put back
/// together (text and tool calls).
fn answer_message(streamed: bool, body: &[u8]) -> Option<Value> {
    if !streamed {
        let completion: Value = serde_json::from_slice(body).ok()?;
        return completion.pointer("/choices/0/message").cloned();
    }
    let mut content = String::new();
    let mut tool_name: Option<String> = None;
    let mut any = false;
    for chunk in sse_data(body) {
        let Some(delta) = chunk.pointer("/choices/0/delta") else {
            continue;
        };
        any = true;
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            content.push_str(text);
        }
        if let Some(name) = delta
            .pointer("/tool_calls/0/function/name")
            .and_then(Value::as_str)
        {
            tool_name.get_or_insert_with(|| name.to_owned());
        }
    }
    any.then(|| match tool_name {
        Some(name) => json!({"role": "assistant", "content": content, "tool_calls": [{"function": {"name": name}}]}),
        None => json!({"role": "assistant", "content": content}),
    })
}

/// The request that probes `capability`.
fn probe_body(model: &str, capability: Capability) -> Bytes {
    let body = match capability {
        Capability::Streaming => json!({
            "model": model,
            "messages": [{"role": "user", "content": "Count from 1 to 5."}],
            "stream": true,
            "max_tokens": 8,
        }),
        Capability::Tools => json!({
            "model": model,
            "messages": [{"role": "user", "content": "What is the weather in Paris? Use the tool."}],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "The current weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            }}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_tokens": 64,
        }),
        Capability::ImageInput => json!({
            "model": model,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What colour is this image? One word."},
                {"type": "image_url", "image_url": {"url": format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(tiny_png())
                )}},
            ]}],
            "max_tokens": 10,
        }),
        Capability::JsonOutput => json!({
            "model": model,
            "messages": [{"role": "user", "content": "Reply with a JSON object with one key \"ok\" set to true."}],
            "response_format": {"type": "json_object"},
            "max_tokens": 32,
        }),
    };
    Bytes::from(body.to_string())
}

/// An 8×8 red PNG, made here: the image probe needs a real image, and a
/// tiny one costs the fewest tokens.
fn tiny_png() -> Vec<u8> {
    const SIDE: u32 = 8;
    // Each row: filter byte 0 (none), then SIDE red pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain([0xd0, 0x20, 0x20].repeat(SIDE as usize))
        .collect();
    let raw = row.repeat(SIDE as usize);
    // zlib with one stored (uncompressed) deflate block.
    let mut zlib = vec![0x78, 0x01, 0x01];
    let length = u16::try_from(raw.len()).unwrap_or(u16::MAX);
    zlib.extend_from_slice(&length.to_le_bytes());
    zlib.extend_from_slice(&(!length).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut header = Vec::new();
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&SIDE.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    for (kind, data) in [(*b"IHDR", header), (*b"IDAT", zlib), (*b"IEND", Vec::new())] {
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        png.extend_from_slice(&length.to_be_bytes());
        let mut checked = kind.to_vec();
        checked.extend_from_slice(&data);
        png.extend_from_slice(&checked);
        png.extend_from_slice(&crc32(&checked).to_be_bytes());
    }
    png
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1_u32, 0_u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Kept for the window's and the CLI's question: the plan for a saved
/// provider's model.
pub fn plan_for(
    service: &Service,
    id: &ProviderId,
    model: &str,
) -> Result<CheckPlan, ServiceError> {
    let provider = service.provider(id)?;
    Ok(plan(&provider, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiny_png_is_a_valid_png() {
        let png = tiny_png();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        // Known CRC-32 and Adler-32 values.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert!(png.ends_with(&[0xae, 0x42, 0x60, 0x82]), "IEND's CRC");
    }

    #[test]
    fn a_tool_call_in_a_stream_or_a_whole_answer_is_recognised() {
        let whole = br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}}]}"#;
        assert_eq!(
            judge(Capability::Tools, false, 1, Duration::ZERO, whole).supported,
            Some(true)
        );
        let text = br#"{"choices":[{"message":{"role":"assistant","content":"It is sunny."}}]}"#;
        let outcome = judge(Capability::Tools, false, 1, Duration::ZERO, text);
        assert_eq!(outcome.supported, Some(false));
        let stream = b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\ndata: [DONE]\n\n";
        assert_eq!(
            judge(Capability::Tools, true, 1, Duration::ZERO, stream).supported,
            Some(true)
        );
    }

    #[test]
    fn json_output_needs_a_json_object_back() {
        let object = br#"{"choices":[{"message":{"content":" {\"ok\": true} "}}]}"#;
        assert_eq!(
            judge(Capability::JsonOutput, false, 1, Duration::ZERO, object).supported,
            Some(true)
        );
        let prose = br#"{"choices":[{"message":{"content":"Sure! ok is true"}}]}"#;
        assert_eq!(
            judge(Capability::JsonOutput, false, 1, Duration::ZERO, prose).supported,
            Some(false)
        );
        assert_eq!(
            judge(Capability::JsonOutput, false, 1, Duration::ZERO, b"<html>").supported,
            None
        );
    }
}
