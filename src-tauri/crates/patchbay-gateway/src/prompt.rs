//! "Try a prompt": one user message to one model of a saved provider, the
//! answer streamed back as it arrives, with the time to the first token,
//! the tokens per second and the usage the provider reported. The window's
//! prompt box and `patchbay chat` call [`try_prompt`].
//!
//! It goes the way a host app's request goes ([`crate::call::send`]): the
//! same translation for Anthropic's Messages API, the same pinned client
//! and egress policy. Nothing typed or answered is stored or logged, and it
//! is not in the gateway's activity (no host app made it). Cancelling drops
//! the provider connection at once.

use std::time::{Duration, Instant};

use bytes::Bytes;
use patchbay_core::ProviderId;
use patchbay_net::{NetError, Pool};
use patchbay_service::hosts::Usage;
use patchbay_service::{Service, ServiceError};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::anthropic;
use crate::call::{self, Sent};

/// Longest prompt, in characters: a try, not a document.
pub const PROMPT_LIMIT: usize = 32 * 1024;

/// How long the provider may stay silent before the prompt gives up, unless
/// the provider sets its own timeout.
pub const PROMPT_IDLE: Duration = Duration::from_secs(120);

/// One prompt to try.
#[derive(Debug, Clone)]
pub struct PromptRequest {
    pub provider: ProviderId,
    /// The raw upstream model id.
    pub model: String,
    pub prompt: String,
    /// `max_tokens`; `None` leaves the provider's default (the Anthropic
    /// translation then asks for 4096).
    pub max_tokens: Option<u32>,
}

/// How the answer went. Holds no text: the caller saw it arrive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptOutcome {
    /// `<provider_id>/<model_id>`.
    pub entry_id: String,
    /// From sending the request to the first piece of answer text.
    pub first_token_ms: Option<u64>,
    /// From sending the request to the end of the answer.
    pub duration_ms: u64,
    /// What the provider reported (`stream_options.include_usage`), when it did.
    pub usage: Option<Usage>,
    /// Completion tokens per second after the first token, when the
    /// provider reported its completion tokens.
    pub tokens_per_second: Option<f64>,
    /// `stop`, `length`, …, as the provider said.
    pub finish_reason: Option<String>,
    /// Characters of answer text received.
    pub characters: usize,
}

/// Sends `request` and calls `on_text` with each piece of the answer as it
/// arrives. `cancel` ends it at once (the provider connection is dropped)
/// with [`NetError::Cancelled`].
pub async fn try_prompt(
    service: &Service,
    request: PromptRequest,
    cancel: CancellationToken,
    on_text: &(dyn Fn(&str) + Send + Sync),
) -> Result<PromptOutcome, ServiceError> {
    let prompt = request.prompt.trim();
    if prompt.is_empty() {
        return Err(patchbay_core::Error::invalid("prompt", "Type a prompt to send.").into());
    }
    let length = prompt.chars().count();
    if length > PROMPT_LIMIT {
        return Err(patchbay_core::Error::invalid(
            "prompt",
            format!("A prompt here has at most {PROMPT_LIMIT} characters; this one has {length}."),
        )
        .into());
    }
    let entry = service
        .model_target(&request.provider, &request.model)
        .await?;
    let entry_id = format!("{}/{}", request.provider, entry.model_id);
    let body = request_body(&entry.model_id, prompt, request.max_tokens);
    let started = Instant::now();
    // A pool of its own: the connection is never reused by host apps'
    // requests, and dropping it closes it.
    let pool = Pool::new();
    let sent = tokio::select! {
        () = cancel.cancelled() => return Err(NetError::Cancelled.into()),
        sent = call::send(service, &pool, &entry, "chat/completions", body, PROMPT_IDLE) => sent?,
    };
    let Sent {
        mut upstream,
        shape,
    } = sent;
    if !(200..300).contains(&upstream.status()) {
        let status = upstream.status();
        let failure = upstream
            .into_failure(&entry.target)
            .await
            .unwrap_or(NetError::BadResponse {
                detail: format!("unexpected HTTP status {status}"),
            });
        return Err(failure.into());
    }
    let streamed = upstream.is_event_stream();
    let mut translation =
        shape.map(|shape| anthropic::Stream::new(&entry_id, 0, shape.include_usage));
    let mut reader = Answer::default();
    let mut whole = Vec::new();
    loop {
        let chunk = tokio::select! {
            () = cancel.cancelled() => return Err(NetError::Cancelled.into()),
            chunk = upstream.next_chunk() => chunk,
        };
        let chunk = match chunk {
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => return Err(error.into()),
            None => break,
        };
        if !streamed {
            whole.extend_from_slice(&chunk);
            continue;
        }
        let events = match &mut translation {
            Some(stream) => Bytes::from(stream.feed(&chunk)),
            None => chunk,
        };
        for text in reader.feed(&events) {
            reader.first_token.get_or_insert_with(|| started.elapsed());
            on_text(&text);
        }
    }
    if !streamed {
        // A provider that ignored `stream: true` answered in one piece.
        let completion = match shape {
            Some(_) => anthropic::answer(&whole, &entry_id, 0).unwrap_or_default(),
            None => whole,
        };
        if let Some(text) = reader.whole(&completion) {
            reader.first_token.get_or_insert_with(|| started.elapsed());
            on_text(&text);
        }
    }
    let duration = started.elapsed();
    let tokens_per_second = match (&reader.usage, reader.first_token) {
        (Some(usage), Some(first)) => usage.completion_tokens.and_then(|tokens| {
            let generating = duration.saturating_sub(first).as_secs_f64();
            (generating > 0.0 && tokens > 0).then(|| tokens as f64 / generating)
        }),
        _ => None,
    };
    Ok(PromptOutcome {
        entry_id,
        first_token_ms: reader.first_token.map(millis),
        duration_ms: millis(duration),
        usage: reader.usage,
        tokens_per_second,
        finish_reason: reader.finish_reason,
        characters: reader.characters,
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The chat completion request: one user message, streamed, usage asked for.
fn request_body(model: &str, prompt: &str, max_tokens: Option<u32>) -> Bytes {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if let Some(max_tokens) = max_tokens {
        body["max_tokens"] = max_tokens.into();
    }
    Bytes::from(body.to_string())
}

/// Reads OpenAI chat-completion chunks (server-sent events) as they come.
#[derive(Debug, Default)]
struct Answer {
    buffer: String,
    first_token: Option<Duration>,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    characters: usize,
}

impl Answer {
    /// The answer text in the events `bytes` completes.
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer
            .push_str(&String::from_utf8_lossy(bytes).replace("\r\n", "\n"));
        let mut texts = Vec::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let event: String = self.buffer.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim)
                .collect();
            let data = data.join("\n");
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            if let Some(text) = self.take(&chunk, "delta") {
                texts.push(text);
            }
        }
        texts
    }

    /// The text of a whole (non-streamed) completion.
    fn whole(&mut self, body: &[u8]) -> Option<String> {
        let completion: Value = serde_json::from_slice(body).ok()?;
        self.take(&completion, "message")
    }

    /// Notes the usage and finish reason of `chunk` and returns the text of
    /// its first choice's `part` (`delta` or `message`), if any.
    fn take(&mut self, chunk: &Value, part: &str) -> Option<String> {
        if let Some(usage) = chunk.get("usage").filter(|usage| usage.is_object()) {
            let number = |name: &str| usage.get(name).and_then(Value::as_u64);
            self.usage = Some(Usage {
                prompt_tokens: number("prompt_tokens"),
                completion_tokens: number("completion_tokens"),
                total_tokens: number("total_tokens"),
            });
        }
        let choice = chunk.get("choices")?.get(0)?;
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
        }
        let text = choice.get(part)?.get("content")?.as_str()?;
        if text.is_empty() {
            return None;
        }
        self.characters += text.chars().count();
        Some(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_give_text_usage_and_finish_reason() {
        let mut answer = Answer::default();
        assert!(answer
            .feed(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel")
            .is_empty());
        assert_eq!(answer.feed(b"lo\"}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\":\", you\"},\"finish_reason\":\"stop\"}]}\n\n"), ["Hello", ", you"]);
        assert!(answer
            .feed(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\ndata: [DONE]\n\n")
            .is_empty());
        assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            answer.usage,
            Some(Usage {
                prompt_tokens: Some(5),
                completion_tokens: Some(2),
                total_tokens: Some(7)
            })
        );
        assert_eq!(answer.characters, 10);
    }

    #[test]
    fn a_whole_completion_gives_its_message() {
        let mut answer = Answer::default();
        let text = answer.whole(br#"{"choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"length"}],"usage":{"completion_tokens":1}}"#);
        assert_eq!(text.as_deref(), Some("Hi"));
        assert_eq!(answer.finish_reason.as_deref(), Some("length"));
    }

    #[test]
    fn the_body_asks_for_a_stream_with_usage() {
        let body: Value =
            serde_json::from_slice(&request_body("org/m:q4", "Say hi", Some(16))).expect("json");
        assert_eq!(body["model"], "org/m:q4");
        assert_eq!(body["messages"][0]["content"], "Say hi");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_tokens"], 16);
    }
}
