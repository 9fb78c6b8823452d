//! Bodies in the shapes real providers send, for scripted answers: the
//! OpenAI list and chat stream, Anthropic's model list, message stream and
//! error envelope, and Azure OpenAI's model list and error envelope.

use std::time::Duration;

use serde_json::json;

use crate::server::Canned;

/// An OpenAI-style model list: `{"object":"list","data":[{"id",…}]}`.
pub fn models_body(ids: &[&str]) -> String {
    let data: Vec<_> = ids
        .iter()
        .map(
            |id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "test"}),
        )
        .collect();
    json!({"object": "list", "data": data}).to_string()
}

/// An OpenAI chat completion stream: one `chat.completion.chunk` per piece
/// of `text`, each after `pause`, then `[DONE]`.
pub fn openai_chat_stream(pieces: &[&str], pause: Duration) -> Canned {
    let mut events: Vec<(Duration, Option<&str>, String)> = pieces
        .iter()
        .map(|piece| {
            let chunk = json!({
                "id": "chatcmpl-test", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}],
            });
            (pause, None, chunk.to_string())
        })
        .collect();
    events.push((Duration::ZERO, None, "[DONE]".to_owned()));
    let borrowed: Vec<(Duration, Option<&str>, &str)> = events
        .iter()
        .map(|(pause, name, data)| (*pause, *name, data.as_str()))
        .collect();
    Canned::timed_events(&borrowed)
}

/// Anthropic's `GET /v1/models`: `{"data":[{"type":"model","id",…}],
/// "has_more","first_id","last_id"}`.
pub fn anthropic_models_body(ids: &[&str]) -> String {
    let data: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-05-22T00:00:00Z"})
        })
        .collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last(),
    })
    .to_string()
}

/// Anthropic's Messages stream (`message_start` … `message_stop`, named
/// events), one `content_block_delta` per piece, each after `pause`.
pub fn anthropic_message_stream(pieces: &[&str], pause: Duration) -> Canned {
    let start = json!({"type": "message_start", "message": {
        "id": "msg_test", "type": "message", "role": "assistant", "content": [],
        "model": "claude-test", "stop_reason": null, "usage": {"input_tokens": 5, "output_tokens": 1}}});
    let block = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
    let mut events = vec![
        (Duration::ZERO, "message_start", start.to_string()),
        (Duration::ZERO, "content_block_start", block.to_string()),
    ];
    for piece in pieces {
        let delta = json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": piece}});
        events.push((pause, "content_block_delta", delta.to_string()));
    }
    events.push((
        Duration::ZERO,
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}).to_string(),
    ));
    events.push((
        Duration::ZERO,
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": pieces.len()}})
        .to_string(),
    ));
    events.push((
        Duration::ZERO,
        "message_stop",
        json!({"type": "message_stop"}).to_string(),
    ));
    let borrowed: Vec<(Duration, Option<&str>, &str)> = events
        .iter()
        .map(|(pause, name, data)| (*pause, Some(*name), data.as_str()))
        .collect();
    Canned::timed_events(&borrowed)
}

/// Anthropic's error envelope: `{"type":"error","error":{"type","message"}}`.
pub fn anthropic_error(status: u16, kind: &str, message: &str) -> Canned {
    Canned::json(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
    )
}

/// Azure OpenAI's `GET /openai/models?api-version=…`: the OpenAI list with
/// Azure's extra fields.
pub fn azure_models_body(ids: &[&str]) -> String {
    let data: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "object": "model", "created_at": 1_717_200_000, "status": "succeeded",
                "capabilities": {"chat_completion": true, "completion": false, "embeddings": false,
                    "fine_tune": false, "inference": true},
                "lifecycle_status": "generally-available",
                "deprecation": {"inference": 1_767_225_600}})
        })
        .collect();
    json!({"data": data, "object": "list"}).to_string()
}

/// Azure OpenAI's error envelope: `{"error":{"code","message"}}`.
pub fn azure_error(status: u16, code: &str, message: &str) -> Canned {
    Canned::json(
        status,
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
}

/// A fake Azure OpenAI resource: the key must come as `api-key` (never as
/// `Authorization`); with `api_version` it serves the classic API
/// (`/openai/models?api-version=V`, `/openai/deployments/{d}/chat/completions?api-version=V`,
/// any other version refused), without it the v1 API (`/openai/v1/models`,
/// `/openai/v1/chat/completions` with the deployment as `model`). Chat
/// answers stream `"ok"` for a known deployment, 404 `DeploymentNotFound`
/// otherwise.
pub fn azure_fake(
    key: &'static str,
    api_version: Option<&'static str>,
    deployments: &'static [&'static str],
) -> crate::Handler {
    crate::handler(move |seen| {
        if seen.header("authorization").is_some() || seen.header("api-key") != Some(key) {
            return azure_error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint.",
            );
        }
        let (path, query) = seen
            .path
            .split_once('?')
            .unwrap_or((seen.path.as_str(), ""));
        let version = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("api-version="));
        let stream = || openai_chat_stream(&["ok"], Duration::ZERO);
        let unknown = || {
            azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist.",
            )
        };
        match api_version {
            None => match (seen.method.as_str(), path, version) {
                (_, _, Some(_)) => azure_error(
                    400,
                    "BadRequest",
                    "api-version is not allowed on the v1 API",
                ),
                ("GET", "/openai/v1/models", None) => {
                    Canned::json(200, azure_models_body(&["gpt-4o", "gpt-4o-mini"]))
                }
                ("POST", "/openai/v1/chat/completions", None) => {
                    let body: serde_json::Value =
                        serde_json::from_slice(&seen.body).unwrap_or_default();
                    match body["model"].as_str() {
                        Some(model) if deployments.contains(&model) => stream(),
                        _ => unknown(),
                    }
                }
                _ => azure_error(404, "404", "Resource not found"),
            },
            Some(expected) => {
                if version != Some(expected) {
                    return azure_error(404, "404", "Resource not found");
                }
                match (seen.method.as_str(), path) {
                    ("GET", "/openai/models") => {
                        Canned::json(200, azure_models_body(&["gpt-4o", "gpt-4o-mini"]))
                    }
                    ("POST", deployment_path) => match deployment_path
                        .strip_prefix("/openai/deployments/")
                        .and_then(|rest| rest.strip_suffix("/chat/completions"))
                    {
                        Some(name) if deployments.contains(&name) => stream(),
                        Some(_) => unknown(),
                        None => azure_error(404, "404", "Resource not found"),
                    },
                    _ => azure_error(404, "404", "Resource not found"),
                }
            }
        }
    })
}

/// A fake of Anthropic's Messages API under `/v1`: the key must come as
/// `x-api-key` with an `anthropic-version` header (never `Authorization`).
/// `GET /v1/models` lists `models` with display names; `POST /v1/messages`
/// answers a known model — with a `lookup` tool call (streamed as
/// `input_json_delta`s, or whole) when the request offers tools, with the
/// text "Hello there" otherwise — and 404 `not_found_error` for an unknown
/// model.
pub fn anthropic_fake(key: &'static str, models: &'static [&'static str]) -> crate::Handler {
    crate::handler(move |seen| {
        if seen.header("authorization").is_some() || seen.header("x-api-key") != Some(key) {
            return anthropic_error(401, "authentication_error", "invalid x-api-key");
        }
        if seen.header("anthropic-version").is_none() {
            return anthropic_error(
                400,
                "invalid_request_error",
                "anthropic-version: header is required",
            );
        }
        let path = seen.path.split('?').next().unwrap_or("");
        match (seen.method.as_str(), path) {
            ("GET", "/v1/models") => {
                let data: Vec<_> = models
                    .iter()
                    .map(|id| json!({"type": "model", "id": id, "display_name": format!("Claude {id}"), "created_at": "2025-05-22T00:00:00Z"}))
                    .collect();
                Canned::json(200, json!({"data": data, "has_more": false}).to_string())
            }
            ("POST", "/v1/messages") => {
                let body: serde_json::Value =
                    serde_json::from_slice(&seen.body).unwrap_or_default();
                let model = body["model"].as_str().unwrap_or("");
                if !models.contains(&model) {
                    return anthropic_error(404, "not_found_error", &format!("model: {model}"));
                }
                let tools = body["tools"]
                    .as_array()
                    .is_some_and(|tools| !tools.is_empty());
                let stream = body["stream"].as_bool() == Some(true);
                match (tools, stream) {
                    (false, true) => anthropic_message_stream(&["Hello", " there"], Duration::ZERO),
                    (false, false) => Canned::json(200, json!({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "text", "text": "Hello there"}], "stop_reason": "end_turn",
                        "usage": {"input_tokens": 9, "output_tokens": 2}}).to_string()),
                    (true, false) => Canned::json(200, json!({"id": "msg_2", "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Paris"}}],
                        "stop_reason": "tool_use", "usage": {"input_tokens": 20, "output_tokens": 8}}).to_string()),
                    (true, true) => {
                        let events = [
                            ("message_start", json!({"type": "message_start", "message": {"id": "msg_3", "type": "message", "role": "assistant", "content": [], "model": model, "usage": {"input_tokens": 20, "output_tokens": 1}}})),
                            ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}}})),
                            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}})),
                            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}})),
                            ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
                            ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 8}})),
                            ("message_stop", json!({"type": "message_stop"})),
                        ];
                        let texts: Vec<(&str, String)> = events.iter().map(|(name, data)| (*name, data.to_string())).collect();
                        let borrowed: Vec<(Duration, Option<&str>, &str)> = texts
                            .iter()
                            .map(|(name, data)| (Duration::ZERO, Some(*name), data.as_str()))
                            .collect();
                        Canned::timed_events(&borrowed)
                    }
                }
            }
            _ => anthropic_error(404, "not_found_error", "Not found"),
        }
    })
}

/// How the fake model of [`capability_fake`] answers one capability probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Does it (a stream, a tool call, an answer to the image, JSON).
    Supports,
    /// Does not: answers in one piece, with text, with 400, with prose.
    Lacks,
    /// Answers only after `Duration` (longer than the provider's timeout).
    Stalls(Duration),
    /// 429 with `Retry-After: 30`.
    RateLimits,
}

/// What the fake model of [`capability_fake`] does, per capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeModel {
    pub streaming: Behaviour,
    pub tools: Behaviour,
    pub image_input: Behaviour,
    pub json_output: Behaviour,
}

impl FakeModel {
    pub fn all(behaviour: Behaviour) -> Self {
        Self {
            streaming: behaviour,
            tools: behaviour,
            image_input: behaviour,
            json_output: behaviour,
        }
    }
}

/// An OpenAI-compatible fake under `/v1` whose one model (`models[0]`,
/// advertised with a 32 768-token context window and 4 096 output tokens)
/// behaves as `model` says for each kind of request it recognises: a
/// `response_format`, an image, tools, else a plain (streamed or not)
/// answer.
pub fn capability_fake(ids: &'static [&'static str], model: FakeModel) -> crate::Handler {
    crate::handler(move |seen| {
        let path = seen.path.split('?').next().unwrap_or("");
        if seen.method == "GET" && path == "/v1/models" {
            let data: Vec<_> = ids
                .iter()
                .map(|id| json!({"id": id, "object": "model", "context_length": 32768, "max_completion_tokens": 4096}))
                .collect();
            return Canned::json(200, json!({"object": "list", "data": data}).to_string());
        }
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let has_image = body["messages"][0]["content"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|part| part["type"] == "image_url"));
        let (behaviour, kind) = if body.get("response_format").is_some() {
            (model.json_output, "json")
        } else if has_image {
            (model.image_input, "image")
        } else if body.get("tools").is_some() {
            (model.tools, "tools")
        } else {
            (model.streaming, "plain")
        };
        let completion = |message: serde_json::Value| {
            Canned::json(
                200,
                json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})
                .to_string(),
            )
        };
        match (behaviour, kind) {
            (Behaviour::Stalls(delay), _) => {
                completion(json!({"role": "assistant", "content": "late"})).after(delay)
            }
            (Behaviour::RateLimits, _) => {
                Canned::json(429, r#"{"error":{"message":"Rate limit reached"}}"#)
                    .header("retry-after", "30")
            }
            (Behaviour::Supports, "plain") if body["stream"] == true => {
                openai_chat_stream(&["1", ", 2", ", 3"], Duration::from_millis(5))
            }
            (_, "plain") => completion(json!({"role": "assistant", "content": "1, 2, 3, 4, 5"})),
            (Behaviour::Supports, "tools") => {
                completion(json!({"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}))
            }
            (Behaviour::Lacks, "tools") => {
                completion(json!({"role": "assistant", "content": "It is sunny in Paris."}))
            }
            (Behaviour::Supports, "image") => {
                completion(json!({"role": "assistant", "content": "Red"}))
            }
            (Behaviour::Supports, _) => {
                completion(json!({"role": "assistant", "content": "{\"ok\": true}"}))
            }
            (Behaviour::Lacks, "json") => {
                completion(json!({"role": "assistant", "content": "ok is true"}))
            }
            (Behaviour::Lacks, _) => Canned::json(
                400,
                r#"{"error":{"message":"This model does not support that input","type":"invalid_request_error"}}"#,
            ),
        }
    })
}
