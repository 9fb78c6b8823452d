//! A real OpenAI client library (`async-openai`, no TLS features), pointed
//! at the gateway with a host token and nothing else changed: models, a
//! chat completion, a streamed one and an embedding.

use async_openai::config::OpenAIConfig;
use async_openai::types::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
    CreateEmbeddingRequestArgs,
};
use async_openai::Client;
use futures_util::StreamExt;
use patchbay_testkit::{handler, Canned, Seen, Server};

use crate::support::{keyed, World, KEY};

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"org/chat","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
const EMBEDDING: &str = r#"{"object":"list","model":"org/embed","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5]}],"usage":{"prompt_tokens":1,"total_tokens":1}}"#;

fn chunk(content: &str) -> String {
    format!(
        r#"{{"id":"c1","object":"chat.completion.chunk","created":1,"model":"org/chat","choices":[{{"index":0,"delta":{{"content":"{content}"}},"finish_reason":null}}]}}"#
    )
}

fn provider(seen: &Seen) -> Canned {
    let body = String::from_utf8_lossy(&seen.body);
    match seen.path.as_str() {
        "/v1/embeddings" => Canned::json(200, EMBEDDING),
        "/v1/chat/completions" if body.contains("\"stream\":true") => {
            let (first, second) = (chunk("Hel"), chunk("lo"));
            Canned::events(&[first.as_str(), second.as_str(), "[DONE]"])
        }
        "/v1/chat/completions" => Canned::json(200, COMPLETION),
        _ => Canned::json(404, r#"{"error":{"message":"no such route"}}"#),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openai_client_library_works_against_the_gateway_unchanged() {
    let upstream = Server::http(handler(provider)).await.expect("server");
    let world = World::new(&[keyed(
        "Local",
        &upstream.at("/v1"),
        &["org/chat", "org/embed"],
    )])
    .await;
    let client = Client::with_config(
        OpenAIConfig::new()
            .with_api_base(world.gateway.base_url())
            .with_api_key(world.token.clone()),
    );

    let models = client.models().list().await.expect("models.list");
    let ids: Vec<&str> = models.data.iter().map(|model| model.id.as_str()).collect();
    assert_eq!(ids, ["local/org/chat", "local/org/embed"]);
    assert_eq!(models.data[0].owned_by, "Local");

    let message = ChatCompletionRequestUserMessageArgs::default()
        .content("Say hello")
        .build()
        .expect("message");
    let request = CreateChatCompletionRequestArgs::default()
        .model("local/org/chat")
        .messages([message.clone().into()])
        .build()
        .expect("request");
    let answer = client.chat().create(request).await.expect("chat");
    assert_eq!(
        answer.choices[0].message.content.as_deref(),
        Some("Hello there")
    );

    let request = CreateChatCompletionRequestArgs::default()
        .model("local/org/chat")
        .messages([message.into()])
        .stream(true)
        .build()
        .expect("request");
    let mut stream = client.chat().create_stream(request).await.expect("stream");
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("a chunk");
        if let Some(content) = chunk
            .choices
            .first()
            .and_then(|choice| choice.delta.content.as_deref())
        {
            text.push_str(content);
        }
    }
    assert_eq!(text, "Hello");

    let request = CreateEmbeddingRequestArgs::default()
        .model("local/org/embed")
        .input("a sentence")
        .build()
        .expect("request");
    let embedding = client
        .embeddings()
        .create(request)
        .await
        .expect("embedding");
    assert_eq!(embedding.data[0].embedding, vec![0.25, -0.5]);

    // The provider saw its own model ids and the person's key, never the
    // app's token.
    let seen = upstream.seen();
    assert_eq!(seen.len(), 3);
    for request in &seen {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        let body = String::from_utf8_lossy(&request.body);
        assert!(body.contains("\"model\":\"org/"), "{body}");
        assert!(
            !body.contains("local/") && !body.contains(&world.token),
            "{body}"
        );
    }
}
