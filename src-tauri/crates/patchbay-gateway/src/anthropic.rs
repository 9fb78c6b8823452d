//! OpenAI chat completions ⇄ Anthropic's Messages API, for entries of a
//! provider whose `api` is `anthropic`. Pure functions and one stream state
//! machine; `server.rs` does the I/O.
//!
//! What is translated (Anthropic's Messages API reference and its "OpenAI SDK
//! compatibility" page, which lists the same field correspondences):
//!
//! - **Request**: `system` and `developer` messages → `system` (joined by
//!   blank lines); user/assistant text (a string or `text` parts); images
//!   (`image_url` parts: a `data:` URL → a base64 source, an http(s) URL → a
//!   url source); assistant `tool_calls` → `tool_use` blocks (arguments
//!   parsed as JSON); `tool` messages → `tool_result` blocks in a user turn;
//!   `max_tokens` / `max_completion_tokens` (Anthropic requires one: 4096
//!   when absent); `temperature`, `top_p`, `stop` → `stop_sequences`;
//!   `stream`; `tools` (function tools) → `name`/`description`/`input_schema`;
//!   `tool_choice` (`auto`, `none`, `required` → `any`, a named function →
//!   `tool`); `parallel_tool_calls: false` → `disable_parallel_tool_use`;
//!   `user` → `metadata.user_id`.
//! - **Answer**: text blocks → `message.content`; `tool_use` blocks →
//!   `tool_calls` (input as a JSON string); `stop_reason` → `finish_reason`
//!   (`end_turn`/`stop_sequence`/`pause_turn` → `stop`, `max_tokens` →
//!   `length`, `tool_use` → `tool_calls`, `refusal` → `content_filter`);
//!   `usage` → `prompt_tokens`/`completion_tokens`/`total_tokens`.
//! - **Stream**: `message_start` → a first chunk with the role; text deltas
//!   → `content` deltas; a `tool_use` block start → a tool call with its id
//!   and name; `input_json_delta` → argument fragments; `message_delta` →
//!   the `finish_reason` chunk (and a usage chunk with
//!   `stream_options.include_usage`); `message_stop` → `[DONE]`; an `error`
//!   event → an OpenAI-shaped error event.
//! - **Errors**: Anthropic's `{"type":"error","error":{type,message}}` →
//!   OpenAI's `{"error":{message,type,code}}` with the same status.
//!
//! Not translated (refused with 400 naming the field, rather than dropped
//! silently): `n` > 1, `logprobs`, `response_format` other than `text`,
//! `audio` output. Ignored as meaningless for Anthropic: `seed`,
//! `presence_penalty`, `frequency_penalty`, `logit_bias`, `store`.

use serde_json::{json, Map, Value};

/// `max_tokens` when the request gives none (Anthropic requires it).
const DEFAULT_MAX_TOKENS: u64 = 4096;

/// What the translated request needs the answer side to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
}

/// A request the translation refuses: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) String);

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal(message.into())
}

/// An OpenAI chat completions body (its `model` already the upstream id) →
/// a Messages body.
pub(crate) fn request(body: &[u8]) -> Result<(Vec<u8>, Shape), Refusal> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_invalid| refuse("The body is not valid JSON."))?;
    let Some(openai) = value.as_object() else {
        return Err(refuse("The body must be a JSON object."));
    };
    if openai
        .get("n")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 1)
    {
        return Err(refuse(
            "\"n\" greater than 1 is not supported by Anthropic's Messages API.",
        ));
    }
    if openai.get("logprobs").and_then(Value::as_bool) == Some(true) {
        return Err(refuse(
            "\"logprobs\" is not supported by Anthropic's Messages API.",
        ));
    }
    if let Some(format) = openai.get("response_format") {
        if format.get("type").and_then(Value::as_str) != Some("text") {
            return Err(refuse("\"response_format\" (JSON mode) is not translated to Anthropic's Messages API; describe the format in the prompt, or use a tool."));
        }
    }
    if openai.contains_key("audio") {
        return Err(refuse(
            "\"audio\" output is not supported by Anthropic's Messages API.",
        ));
    }
    let mut out = Map::new();
    out.insert(
        "model".to_owned(),
        openai.get("model").cloned().unwrap_or(Value::Null),
    );
    let (system, messages) = messages(openai.get("messages"))?;
    if !system.is_empty() {
        out.insert("system".to_owned(), Value::from(system.join("\n\n")));
    }
    out.insert("messages".to_owned(), Value::Array(messages));
    let max_tokens = openai
        .get("max_completion_tokens")
        .or_else(|| openai.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".to_owned(), Value::from(max_tokens));
    for name in ["temperature", "top_p"] {
        if let Some(number) = openai.get(name).filter(|value| value.is_number()) {
            out.insert(name.to_owned(), number.clone());
        }
    }
    match openai.get("stop") {
        Some(Value::String(one)) => {
            out.insert("stop_sequences".to_owned(), json!([one]));
        }
        Some(Value::Array(many)) => {
            out.insert("stop_sequences".to_owned(), Value::Array(many.clone()));
        }
        _ => {}
    }
    let stream = openai.get("stream").and_then(Value::as_bool) == Some(true);
    if stream {
        out.insert("stream".to_owned(), Value::Bool(true));
    }
    if let Some(tools) = openai.get("tools").and_then(Value::as_array) {
        out.insert(
            "tools".to_owned(),
            Value::Array(tools.iter().map(tool).collect::<Result<_, _>>()?),
        );
    }
    if let Some(choice) = tool_choice(openai.get("tool_choice"), openai.get("parallel_tool_calls"))?
    {
        out.insert("tool_choice".to_owned(), choice);
    }
    if let Some(user) = openai.get("user").and_then(Value::as_str) {
        out.insert("metadata".to_owned(), json!({"user_id": user}));
    }
    let include_usage = openai
        .get("stream_options")
        .and_then(|options| options.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true);
    let bytes = serde_json::to_vec(&Value::Object(out))
        .map_err(|_| refuse("The body could not be translated."))?;
    Ok((
        bytes,
        Shape {
            stream,
            include_usage,
        },
    ))
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn messages(raw: Option<&Value>) -> Result<(Vec<String>, Vec<Value>), Refusal> {
    let Some(list) = raw.and_then(Value::as_array) else {
        return Err(refuse("\"messages\" must be an array."));
    };
    let mut system = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for (index, message) in list.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.push(text_of(content)),
            "user" => out.push(json!({"role": "user", "content": user_content(content, index)?})),
            "assistant" => {
                let mut blocks = Vec::new();
                let text = text_of(content);
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                    let arguments = call
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("{}");
                    let input: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.get("id").cloned().unwrap_or(Value::Null),
                        "name": call.pointer("/function/name").cloned().unwrap_or(Value::Null),
                        "input": input,
                    }));
                }
                if !blocks.is_empty() {
                    out.push(json!({"role": "assistant", "content": blocks}));
                }
            }
            "tool" => {
                let block = json!({
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id").cloned().unwrap_or(Value::Null),
                    "content": text_of(content),
                });
                // Consecutive tool results share one user turn.
                match out.last_mut() {
                    Some(last)
                        if last["role"] == "user"
                            && last["content"].as_array().is_some_and(|blocks| {
                                blocks.iter().all(|block| block["type"] == "tool_result")
                            }) =>
                    {
                        if let Some(blocks) = last["content"].as_array_mut() {
                            blocks.push(block);
                        }
                    }
                    _ => out.push(json!({"role": "user", "content": [block]})),
                }
            }
            other => {
                return Err(refuse(format!(
                    "messages[{index}] has the role \"{other}\", which Anthropic's Messages API has no place for."
                )))
            }
        }
    }
    Ok((system, out))
}

fn user_content(content: &Value, index: usize) -> Result<Value, Refusal> {
    let Some(parts) = content.as_array() else {
        return Ok(Value::from(text_of(content)));
    };
    let mut blocks = Vec::new();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("text") => blocks.push(json!({"type": "text", "text": part.get("text").cloned().unwrap_or(Value::from(""))})),
            Some("image_url") => {
                let url = part
                    .pointer("/image_url/url")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                blocks.push(image(url).ok_or_else(|| {
                    refuse(format!("messages[{index}] has an image that is neither a data: URL nor an http(s) URL."))
                })?);
            }
            other => {
                return Err(refuse(format!(
                    "messages[{index}] has a \"{}\" part, which is not translated to Anthropic's Messages API.",
                    other.unwrap_or("untyped")
                )))
            }
        }
    }
    Ok(Value::Array(blocks))
}

fn image(url: &str) -> Option<Value> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (media_type, data) = rest.split_once(";base64,")?;
        return Some(
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
        );
    }
    (url.starts_with("https://") || url.starts_with("http://"))
        .then(|| json!({"type": "image", "source": {"type": "url", "url": url}}))
}

fn tool(raw: &Value) -> Result<Value, Refusal> {
    if raw.get("type").and_then(Value::as_str) != Some("function") {
        return Err(refuse(
            "Only function tools are translated to Anthropic's Messages API.",
        ));
    }
    let function = raw.get("function").unwrap_or(&Value::Null);
    let mut out = Map::new();
    out.insert(
        "name".to_owned(),
        function.get("name").cloned().unwrap_or(Value::Null),
    );
    if let Some(description) = function.get("description") {
        out.insert("description".to_owned(), description.clone());
    }
    out.insert(
        "input_schema".to_owned(),
        function
            .get("parameters")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    );
    Ok(Value::Object(out))
}

fn tool_choice(choice: Option<&Value>, parallel: Option<&Value>) -> Result<Option<Value>, Refusal> {
    let mut out = match choice {
        None | Some(Value::Null) => None,
        Some(Value::String(mode)) => Some(match mode.as_str() {
            "auto" => json!({"type": "auto"}),
            "none" => json!({"type": "none"}),
            "required" => json!({"type": "any"}),
            other => {
                return Err(refuse(format!(
                    "\"tool_choice\": \"{other}\" is not one of auto, none, required."
                )))
            }
        }),
        Some(named) => match named.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(json!({"type": "tool", "name": name})),
            None => return Err(refuse("\"tool_choice\" names no function.")),
        },
    };
    if parallel.and_then(Value::as_bool) == Some(false) {
        let choice = out.get_or_insert_with(|| json!({"type": "auto"}));
        if choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    Ok(out)
}

fn finish_reason(stop_reason: Option<&str>) -> Value {
    match stop_reason {
        Some("max_tokens") => Value::from("length"),
        Some("tool_use") => Value::from("tool_calls"),
        Some("refusal") => Value::from("content_filter"),
        Some(_) => Value::from("stop"),
        None => Value::Null,
    }
}

fn usage(input: u64, output: u64) -> Value {
    json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output})
}

/// A whole Messages answer → a chat completion; `model` is the entry id the
/// host asked for.
pub(crate) fn answer(body: &[u8], model: &str, created: i64) -> Option<Vec<u8>> {
    let message: Value = serde_json::from_slice(body).ok()?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in message.get("content")?.as_array()? {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": block.get("id").cloned().unwrap_or(Value::Null),
                "type": "function",
                "function": {
                    "name": block.get("name").cloned().unwrap_or(Value::Null),
                    "arguments": block.get("input").map(Value::to_string).unwrap_or_else(|| "{}".to_owned()),
                },
            })),
            _ => {}
        }
    }
    let mut reply = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::from(text) }});
    if !calls.is_empty() {
        reply["tool_calls"] = Value::Array(calls);
    }
    let input = message
        .pointer("/usage/input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let output = message
        .pointer("/usage/output_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let completion = json!({
        "id": message.get("id").cloned().unwrap_or(Value::from("msg")),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": reply, "finish_reason": finish_reason(message.get("stop_reason").and_then(Value::as_str))}],
        "usage": usage(input, output),
    });
    serde_json::to_vec(&completion).ok()
}

/// Anthropic's error body → OpenAI's error shape (the message kept).
pub(crate) fn error(body: &[u8]) -> Vec<u8> {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let kind = parsed
        .pointer("/error/type")
        .and_then(Value::as_str)
        .unwrap_or("upstream_error");
    let message = parsed
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("The provider answered with an error.");
    serde_json::to_vec(&json!({"error": {"message": message, "type": kind, "code": kind}}))
        .unwrap_or_default()
}

/// Anthropic's SSE events in, OpenAI chunk events out. Feed it the bytes as
/// they arrive; events split across chunks are buffered.
#[derive(Debug)]
pub(crate) struct Stream {
    model: String,
    created: i64,
    include_usage: bool,
    id: String,
    buffer: String,
    /// Anthropic content block index → OpenAI tool call index.
    tool_indexes: Vec<(u64, usize)>,
    input_tokens: u64,
    output_tokens: u64,
    done: bool,
}

impl Stream {
    pub(crate) fn new(model: &str, created: i64, include_usage: bool) -> Self {
        Self {
            model: model.to_owned(),
            created,
            include_usage,
            id: "msg".to_owned(),
            buffer: String::new(),
            tool_indexes: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            done: false,
        }
    }

    /// Whether `[DONE]` was sent.
    #[cfg(test)]
    pub(crate) fn finished(&self) -> bool {
        self.done
    }

    /// Translates what `bytes` completes; returns OpenAI SSE text to send.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> String {
        self.buffer
            .push_str(&String::from_utf8_lossy(bytes).replace("\r\n", "\n"));
        let mut out = String::new();
        while let Some(end) = self.buffer.find("\n\n") {
            let event: String = self.buffer.drain(..end + 2).collect();
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            if data.is_empty() {
                continue;
            }
            if let Ok(value) = serde_json::from_str::<Value>(&data.join("\n")) {
                self.event(&value, &mut out);
            }
        }
        out
    }

    fn chunk(&self, delta: Value, finish: Value) -> String {
        let chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {chunk}\n\n")
    }

    fn event(&mut self, event: &Value, out: &mut String) {
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(id) = event.pointer("/message/id").and_then(Value::as_str) {
                    self.id = id.to_owned();
                }
                self.input_tokens = event
                    .pointer("/message/usage/input_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                out.push_str(&self.chunk(json!({"role": "assistant", "content": ""}), Value::Null));
            }
            Some("content_block_start") => {
                let block = event.get("content_block").unwrap_or(&Value::Null);
                if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    let anthropic_index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let index = self.tool_indexes.len();
                    self.tool_indexes.push((anthropic_index, index));
                    out.push_str(&self.chunk(
                        json!({"tool_calls": [{"index": index, "id": block.get("id"), "type": "function",
                            "function": {"name": block.get("name"), "arguments": ""}}]}),
                        Value::Null,
                    ));
                }
            }
            Some("content_block_delta") => {
                let delta = event.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        out.push_str(
                            &self.chunk(json!({"content": delta.get("text")}), Value::Null),
                        );
                    }
                    Some("input_json_delta") => {
                        let anthropic_index =
                            event.get("index").and_then(Value::as_u64).unwrap_or(0);
                        if let Some((_, index)) = self
                            .tool_indexes
                            .iter()
                            .find(|(block, _)| *block == anthropic_index)
                        {
                            out.push_str(&self.chunk(
                                json!({"tool_calls": [{"index": index, "function": {"arguments": delta.get("partial_json")}}]}),
                                Value::Null,
                            ));
                        }
                    }
                    _ => {}
                }
            }
            Some("message_delta") => {
                if let Some(output) = event
                    .pointer("/usage/output_tokens")
                    .and_then(Value::as_u64)
                {
                    self.output_tokens = output;
                }
                let reason =
                    finish_reason(event.pointer("/delta/stop_reason").and_then(Value::as_str));
                out.push_str(&self.chunk(json!({}), reason));
            }
            Some("message_stop") => {
                if self.include_usage {
                    let chunk = json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                        "choices": [], "usage": usage(self.input_tokens, self.output_tokens),
                    });
                    out.push_str(&format!("data: {chunk}\n\n"));
                }
                out.push_str("data: [DONE]\n\n");
                self.done = true;
            }
            Some("error") => {
                let message = event
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("The provider's stream failed.");
                let kind = event
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream_error");
                out.push_str(&format!(
                    "data: {}\n\n",
                    json!({"error": {"message": message, "type": kind, "code": kind}})
                ));
                self.done = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(openai: Value) -> Value {
        let (bytes, _) = request(openai.to_string().as_bytes()).expect("translates");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[test]
    fn a_chat_request_becomes_a_messages_request() {
        let anthropic = translated(json!({
            "model": "claude-sonnet-4-6",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"png\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a PNG header"},
            ],
            "max_tokens": 50, "temperature": 0.2, "stop": "END", "stream": true,
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object"}}}],
            "tool_choice": "required", "parallel_tool_calls": false, "user": "u-1",
        }));
        assert_eq!(anthropic["system"], "Be brief.");
        assert_eq!(anthropic["max_tokens"], 50);
        assert_eq!(anthropic["stop_sequences"], json!(["END"]));
        assert_eq!(
            anthropic["messages"][0]["content"][1]["source"]["type"],
            "base64"
        );
        assert_eq!(
            anthropic["messages"][0]["content"][1]["source"]["media_type"],
            "image/png"
        );
        assert_eq!(anthropic["messages"][1]["content"][0]["type"], "tool_use");
        assert_eq!(
            anthropic["messages"][1]["content"][0]["input"],
            json!({"q": "png"})
        );
        assert_eq!(
            anthropic["messages"][2]["content"][0]["tool_use_id"],
            "call_1"
        );
        assert_eq!(
            anthropic["tools"][0]["input_schema"],
            json!({"type": "object"})
        );
        assert_eq!(
            anthropic["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(anthropic["metadata"]["user_id"], "u-1");
        let default =
            translated(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(default["max_tokens"], 4096, "Anthropic requires max_tokens");
        assert!(request(br#"{"model":"m","messages":[],"n":2}"#).is_err());
        assert!(request(
            br#"{"model":"m","messages":[],"response_format":{"type":"json_object"}}"#
        )
        .is_err());
    }

    #[test]
    fn a_message_becomes_a_completion_with_tool_calls_stop_reason_and_usage() {
        let message = json!({"id": "msg_1", "type": "message", "role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "png"}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 4}});
        let completion: Value = serde_json::from_slice(
            &answer(message.to_string().as_bytes(), "claude/x", 7).expect("answer"),
        )
        .expect("json");
        assert_eq!(completion["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            completion["choices"][0]["message"]["content"],
            "Let me look."
        );
        assert_eq!(
            completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"q\":\"png\"}"
        );
        assert_eq!(completion["usage"]["total_tokens"], 14);
        assert_eq!(completion["model"], "claude/x");
    }

    #[test]
    fn a_stream_translates_event_by_event_even_when_split() {
        let events = [
            json!({"type": "message_start", "message": {"id": "msg_9", "usage": {"input_tokens": 3}}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"q\":"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"x\"}"}}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
            json!({"type": "message_stop"}),
        ];
        let text: String = events
            .iter()
            .map(|event| {
                format!(
                    "event: {}\ndata: {event}\n\n",
                    event["type"].as_str().unwrap_or("")
                )
            })
            .collect();
        let mut stream = Stream::new("claude/x", 1, true);
        let (first, second) = text.as_bytes().split_at(text.len() / 2);
        let mut out = stream.feed(first);
        out.push_str(&stream.feed(second));
        assert!(stream.finished());
        let chunks: Vec<Value> = out
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str(data).expect("json chunk"))
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(
            chunks[2]["choices"][0]["delta"]["tool_calls"][0]["id"],
            "toolu_2"
        );
        let arguments: String = chunks
            .iter()
            .filter_map(|chunk| {
                chunk
                    .pointer("/choices/0/delta/tool_calls/0/function/arguments")?
                    .as_str()
            })
            .collect();
        assert_eq!(arguments, "{\"q\":\"x\"}");
        assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[6]["usage"]["total_tokens"], 8);
        assert!(out.ends_with("data: [DONE]\n\n"));
    }
}
