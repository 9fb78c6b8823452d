//! Anthropic's Messages API behind the gateway: an OpenAI client library
//! gets chat completions (streamed tool calls included) translated from a
//! fake of Anthropic's API, and a host speaking Anthropic's own format
//! reaches /v1/messages unchanged.

use async_openai::config::OpenAIConfig;
use async_openai::types::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionToolArgs, ChatCompletionToolType,
    CreateChatCompletionRequestArgs, FinishReason, FunctionObjectArgs,
};
use async_openai::Client;
use futures_util::StreamExt;
use patchbay_testkit::shapes::anthropic_fake;
use patchbay_testkit::Server;

use crate::support::{keyed, send, World, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_streams_a_tool_call_from_anthropics_messages_api() {
    let upstream = Server::http(anthropic_fake(KEY, &["claude-test"]))
        .await
        .expect("server");
    let world =
        World::new(&[keyed("Claude", &upstream.at("/v1"), &["claude-test"]).api("anthropic")])
            .await;
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(world.gateway.base_url())
            .with_api_key(world.token.clone()),
    );
    let message = ChatCompletionRequestUserMessageArgs::default()
        .content("Weather in Paris?")
        .build()
        .expect("message");

    // Plain text, whole.
    let request = CreateChatCompletionRequestArgs::default()
        .model("claude/claude-test")
        .messages([message.clone().into()])
        .build()
        .expect("request");
    let answer = client.chat().create(request).await.expect("chat");
    assert_eq!(
        answer.choices[0].message.content.as_deref(),
        Some("Hello there")
    );
    assert_eq!(answer.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        answer.usage.as_ref().map(|usage| usage.total_tokens),
        Some(11)
    );

    // A tool call, streamed.
    let tool = ChatCompletionToolArgs::default()
        .r#type(ChatCompletionToolType::Function)
        .function(
            FunctionObjectArgs::default()
                .name("lookup")
                .description("Looks up the weather")
                .parameters(serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}))
                .build()
                .expect("function"),
        )
        .build()
        .expect("tool");
    let request = CreateChatCompletionRequestArgs::default()
        .model("claude/claude-test")
        .messages([message.into()])
        .tools(vec![tool])
        .stream(true)
        .build()
        .expect("request");
    let mut stream = client.chat().create_stream(request).await.expect("stream");
    let (mut name, mut arguments, mut id, mut finish) = (String::new(), String::new(), None, None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("a chunk");
        let Some(choice) = chunk.choices.first() else {
            continue;
        };
        for call in choice.delta.tool_calls.iter().flatten() {
            if let Some(call_id) = &call.id {
                id = Some(call_id.clone());
            }
            if let Some(function) = &call.function {
                name.push_str(function.name.as_deref().unwrap_or(""));
                arguments.push_str(function.arguments.as_deref().unwrap_or(""));
            }
        }
        if choice.finish_reason.is_some() {
            finish = choice.finish_reason;
        }
    }
    assert_eq!(id.as_deref(), Some("toolu_2"));
    assert_eq!(name, "lookup");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&arguments).expect("arguments are JSON"),
        serde_json::json!({"city": "Paris"})
    );
    assert_eq!(finish, Some(FinishReason::ToolCalls));

    // What Anthropic saw: its own format, its own headers, the key.
    let seen = upstream.seen();
    let last = seen.last().expect("requests");
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.header("x-api-key"), Some(KEY));
    assert_eq!(last.header("anthropic-version"), Some("2023-06-01"));
    let body: serde_json::Value = serde_json::from_slice(&last.body).expect("json");
    assert_eq!(body["model"], "claude-test");
    assert_eq!(
        body["tools"][0]["input_schema"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(body["max_tokens"], 4096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_back_in_openais_shape_and_messages_pass_through_for_anthropic_clients() {
    let upstream = Server::http(anthropic_fake(KEY, &["claude-test"]))
        .await
        .expect("server");
    let world = World::new(&[keyed(
        "Claude",
        &upstream.at("/v1"),
        &["claude-test", "claude-gone"],
    )
    .api("anthropic")])
    .await;
    let answer = world
        .post(
            "chat/completions",
            r#"{"model":"claude/claude-gone","messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.json()["error"]["type"], "not_found_error");
    assert_eq!(answer.json()["error"]["message"], "model: claude-gone");

    // An Anthropic SDK: its token as x-api-key, its own body, unchanged.
    let body = r#"{"model":"claude/claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: {}\r\nx-api-key: {}\r\nanthropic-version: 2023-06-01\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        world.addr(),
        world.token,
        body.len()
    );
    let answer = send(world.addr(), &request).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["content"][0]["text"], "Hello there");
    let seen = upstream.seen();
    let last = seen.last().expect("requests");
    assert_eq!(
        String::from_utf8_lossy(&last.body),
        body.replace("claude/claude-test", "claude-test"),
        "only the model changed"
    );
    assert!(!answer.text().contains(KEY));
}
