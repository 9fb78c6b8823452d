//! The gateway against fake providers on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use patchbay_core::curation::{ModelChange, Placement};
use patchbay_core::ProviderId;
use patchbay_testkit::{closed_port, handler, Canned, Draft, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{chat_request, keyed, read_request, send, World, INTERNAL_HOST, KEY};

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reaches_the_provider_with_the_raw_model_and_the_key_and_every_other_byte() {
    let upstream = Server::http(handler(|_| Canned::json(200, COMPLETION)))
        .await
        .expect("server");
    let world =
        World::new(&[keyed("Local LLM", &upstream.at("/v1"), &["org/model:Q4"])
            .header("X-Team", "blue", false)])
        .await;
    let body = r#"{"messages":[{"role":"user","content":"h\u00e9 \"x\""}],  "model" : "local-llm/org/model:Q4","temperature":0.10,"n":1e2,"extra":{"model":"inner","a":[1,2]}}"#;
    let answer = world.post("chat/completions", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.text(), COMPLETION);
    assert!(!answer.head.contains(KEY) && !answer.text().contains(KEY));

    let seen = upstream.seen();
    let request = seen.first().expect("the provider got the request");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.header("x-team"), Some("blue"));
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        body.replace("\"local-llm/org/model:Q4\"", "\"org/model:Q4\""),
        "only the model value changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_the_entries_as_openai_model_objects() {
    let world = World::new(&[
        keyed(
            "Local LLM",
            "http://127.0.0.1:9/v1",
            &["org/model:Q4", "small"],
        ),
        keyed("Off", "http://127.0.0.1:9/v1", &["m"]).enabled(false),
    ])
    .await;
    let listed = world.get("models").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let listed = listed.json();
    assert_eq!(listed["object"], "list");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|model| model["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["local-llm/org/model:Q4", "local-llm/small"]);
    let first = &listed["data"][0];
    assert_eq!(first["object"], "model");
    assert_eq!(first["owned_by"], "Local LLM");
    assert!(first["created"].is_number());

    let one = world.get("models/local-llm/org/model:Q4").await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["id"], "local-llm/org/model:Q4");
    let encoded = world.get("models/local-llm%2Fsmall").await;
    assert_eq!(encoded.json()["id"], "local-llm/small");
    let missing = world.get("models/off/m").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "model_not_found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_list_follows_the_persons_order_and_leaves_hidden_models_out() {
    let upstream = Server::http(handler(|_| Canned::json(200, COMPLETION)))
        .await
        .expect("server");
    let world = World::new(&[
        keyed("First", &upstream.at("/v1"), &["a", "b"]),
        keyed("Second", &upstream.at("/v1"), &["c"]),
    ])
    .await;
    let ids = |listed: serde_json::Value| -> Vec<String> {
        listed["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|model| model["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        ids(world.get("models").await.json()),
        ["first/a", "first/b", "second/c"]
    );

    let second = ProviderId::parse("second").expect("id");
    world
        .store
        .move_provider(&second, Placement::At(0))
        .expect("moved");
    let first = ProviderId::parse("first").expect("id");
    world
        .store
        .change_model(&first, ModelChange::Hide { id: "a".into() })
        .expect("hidden");
    assert_eq!(
        ids(world.get("models").await.json()),
        ["second/c", "first/b"]
    );

    // A hidden model is refused like an unknown one; its provider's other models work.
    let hidden = world
        .post("chat/completions", r#"{"model":"first/a","messages":[]}"#)
        .await;
    assert_eq!(
        (hidden.status, hidden.code().as_str()),
        (404, "model_not_found")
    );
    let shown = world
        .post("chat/completions", r#"{"model":"first/b","messages":[]}"#)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_limited_to_some_entries_sees_and_uses_only_those() {
    let upstream = Server::http(handler(|_| Canned::json(200, COMPLETION)))
        .await
        .expect("server");
    let world = World::new(&[keyed("Local", &upstream.at("/v1"), &["a", "b"])]).await;
    assert!(world
        .registry
        .set_entries("com.example.app", Some(vec!["local/b".to_owned()]))
        .expect("limited"));
    let listed = world.get("models").await.json();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|model| model["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["local/b"], "only the allowed entry is listed");
    let refused = world
        .post("chat/completions", r#"{"model":"local/a","messages":[]}"#)
        .await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (403, "entry_not_allowed")
    );
    assert!(
        refused.text().contains("Connected apps"),
        "{}",
        refused.text()
    );
    assert_eq!(world.get("models/local/a").await.status, 403);
    assert!(upstream.seen().is_empty(), "nothing reached the provider");
    let allowed = world
        .post("chat/completions", r#"{"model":"local/b","messages":[]}"#)
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());

    // Lifting the limit takes effect at the next request.
    world
        .registry
        .set_entries("com.example.app", None)
        .expect("lifted");
    let again = world
        .post("chat/completions", r#"{"model":"local/a","messages":[]}"#)
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert!(world
        .registry
        .set_entries("com.example.app", Some(vec!["no-slash".to_owned()]))
        .is_err());
}

/// A provider that streams `count` events `gap` apart and records when it
/// wrote each one.
async fn timed_provider(count: usize, gap: Duration) -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let sent: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let record = Arc::clone(&sent);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        socket.set_nodelay(true).expect("nodelay");
        read_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.expect("head");
        for index in 0..count {
            tokio::time::sleep(gap).await;
            let event = format!("data: {{\"n\":{index}}}\n\n");
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            record.lock().expect("lock").push(Instant::now());
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        socket.write_all(b"0\r\n\r\n").await.expect("the end");
    });
    (base, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_of_a_stream_arrives_as_the_provider_sends_it() {
    let (base, sent) = timed_provider(20, Duration::from_millis(50)).await;
    let world = World::new(&[keyed("Streamer", &base, &["m"])]).await;

    let body = r#"{"model":"streamer/m","stream":true}"#;
    let mut stream = world.start_chat(body, true).await;
    // When each event's data arrived.
    let mut arrivals: Vec<Instant> = Vec::new();
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the stream goes on")
            .expect("read");
        if read == 0 {
            break;
        }
        let now = Instant::now();
        received.extend_from_slice(&buffer[..read]);
        let count = String::from_utf8_lossy(&received)
            .matches("data: {\"n\":")
            .count();
        while arrivals.len() < count {
            arrivals.push(now);
        }
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    let sent = sent.lock().expect("lock").clone();
    assert_eq!((arrivals.len(), sent.len()), (20, 20), "{text}");
    let delays: Vec<Duration> = arrivals
        .iter()
        .zip(&sent)
        .map(|(arrived, sent)| arrived.duration_since(*sent))
        .collect();
    let worst = delays.iter().max().copied().unwrap_or_default();
    println!("added delay per event: worst {worst:?}, all {delays:?}");
    assert!(
        worst < Duration::from_millis(15),
        "an event was held back: worst added delay {worst:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_stops_the_request_to_the_provider() {
    // A provider that sends one event, then one every 100 ms until its
    // client is gone; it reports when its writes started failing.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let (gone_sender, gone) = tokio::sync::oneshot::channel::<Instant>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        read_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.expect("head");
        loop {
            let event = "data: {\"tick\":1}\n\n";
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            if socket.write_all(chunk.as_bytes()).await.is_err() {
                gone_sender.send(Instant::now()).expect("the test waits");
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let world = World::new(&[keyed("Endless", &base, &["m"])]).await;
    let body = r#"{"model":"endless/m","stream":true}"#;
    let mut client = world.start_chat(body, false).await;
    let mut first = [0_u8; 512];
    let _ = client.read(&mut first).await.expect("the stream starts");
    let hung_up = Instant::now();
    drop(client);
    let stopped = tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the provider's connection was closed")
        .expect("reported");
    let after = stopped.duration_since(hung_up);
    println!("the provider saw the hang-up after {after:?}");
    assert!(after < Duration::from_secs(1), "took {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_own_failures_have_their_status_and_code() {
    let dead = closed_port().expect("a closed port");
    let slow = Server::http(handler(|_| {
        Canned::json(200, COMPLETION).after(Duration::from_secs(3))
    }))
    .await
    .expect("server");
    let world = World::with_idle(
        &[
            keyed("Local LLM", "http://127.0.0.1:9/v1", &["m"]),
            keyed("Dead", &format!("http://127.0.0.1:{dead}/v1"), &["m"]),
            keyed("Slow", &slow.at("/v1"), &["m"]),
            Draft::new("Internal")
                .base_url(&format!("https://{INTERNAL_HOST}/v1"))
                .key(KEY)
                .models(&["m"]),
            keyed("Off", "http://127.0.0.1:9/v1", &["m"]).enabled(false),
            keyed("Keyless", "http://127.0.0.1:9/v1", &["m"]),
        ],
        Duration::from_millis(500),
    )
    .await;
    world
        .store
        .remove_key(&ProviderId::parse("keyless").expect("id"))
        .expect("remove the key");
    let addr = world.addr();
    let raw = |head: &str, body: &str| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let with_token = format!("Host: {addr}\r\nAuthorization: Bearer {}\r\n", world.token);
    let json = format!("{with_token}Content-Type: application/json\r\n");
    let good = r#"{"model":"local-llm/m"}"#;

    let cases: Vec<(String, u16, &str)> = vec![
        (raw(&format!("Host: {addr}\r\nContent-Type: application/json\r\n"), good), 401, "missing_token"),
        (raw(&format!("Host: {addr}\r\nAuthorization: Bearer pbt_made_up\r\nContent-Type: application/json\r\n"), good), 401, "invalid_token"),
        (raw(&format!("Host: evil.example:{}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n", addr.port(), world.token), good), 403, "host_not_allowed"),
        (raw(&format!("{json}Origin: https://evil.example\r\n"), good), 403, "browser_origin_refused"),
        (raw(&format!("{with_token}Content-Type: multipart/form-data; boundary=x\r\n"), "--x--"), 415, "unsupported_media_type"),
        (raw(&json, "{not json"), 400, "invalid_body"),
        (raw(&json, r#"{"messages":[]}"#), 400, "invalid_body"),
        (raw(&json, r#"{"model":"local-llm/m","model":"slow/m"}"#), 400, "invalid_body"),
        (raw(&json, r#"{"model":"nobody/m"}"#), 404, "model_not_found"),
        (raw(&json, r#"{"model":"off/m"}"#), 404, "model_not_found"),
        (raw(&json, r#"{"model":"keyless/m"}"#), 503, "key_missing"),
        (raw(&json, r#"{"model":"dead/m"}"#), 502, "connect_failed"),
        (raw(&json, r#"{"model":"internal/m"}"#), 502, "egress_refused"),
        (raw(&json, r#"{"model":"slow/m"}"#), 504, "upstream_timeout"),
    ];
    for (request, status, code) in cases {
        let answer = send(addr, &request).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{request}\n→ {}",
            answer.text()
        );
        let error = &answer.json()["error"];
        assert!(error["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()));
        assert!(error["type"].is_string());
        assert!(!answer.text().contains(KEY));
    }

    // Too large: refused without reading it all.
    let huge = format!(
        r#"{{"model":"local-llm/m","pad":"{}"}}"#,
        "x".repeat(patchbay_gateway::MAX_BODY_BYTES)
    );
    let answer = send(addr, &raw(&json, &huge)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (413, "body_too_large")
    );

    // A revoked token is refused from the next request on.
    assert!(world.registry.revoke("com.example.app").expect("revoke"));
    let answer = world.get("models").await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (401, "invalid_token")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_error_passes_through_with_its_status_and_without_secrets() {
    let echo = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}. Also not sk-proj-abcdefghijklmnopqrstuvwxyz0123","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    let upstream = Server::http(handler(move |_| Canned::json(401, echo.clone())))
        .await
        .expect("server");
    let world = World::new(&[keyed("Local LLM", &upstream.at("/v1"), &["m"])]).await;
    let answer = world
        .post("chat/completions", r#"{"model":"local-llm/m"}"#)
        .await;
    assert_eq!(answer.status, 401);
    let text = answer.text();
    assert!(!text.contains(KEY) && !text.contains("sk-proj-"), "{text}");
    assert_eq!(answer.json()["error"]["code"], "invalid_api_key", "{text}");
    assert!(text.contains("[redacted]"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_provider_share_a_kept_alive_connection() {
    let upstream = Server::http(handler(|_| Canned::json(200, COMPLETION)))
        .await
        .expect("server");
    let world = World::new(&[keyed("Local LLM", &upstream.at("/v1"), &["m"])]).await;
    for _ in 0..5 {
        let answer = world
            .post("chat/completions", r#"{"model":"local-llm/m"}"#)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    assert_eq!(upstream.seen().len(), 5);
    assert_eq!(upstream.connections(), 1, "one connection, kept alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_recorded_as_activity_without_its_text() {
    let with_usage = r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"secret answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
    let upstream = Server::http(handler(move |seen| {
        if String::from_utf8_lossy(&seen.body).contains("\"stream\":true") {
            Canned::events(&[
                r#"{"choices":[{"index":0,"delta":{"content":"secret"}}]}"#,
                r#"{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}"#,
                "[DONE]",
            ])
        } else {
            Canned::json(200, with_usage)
        }
    }))
    .await
    .expect("server");
    let world = World::new(&[keyed("Local LLM", &upstream.at("/v1"), &["m"])]).await;
    let prompt = "a private prompt";
    let plain =
        format!(r#"{{"model":"local-llm/m","messages":[{{"role":"user","content":"{prompt}"}}]}}"#);
    assert_eq!(world.post("chat/completions", &plain).await.status, 200);
    let streamed = format!(
        r#"{{"model":"local-llm/m","stream":true,"messages":[{{"role":"user","content":"{prompt}"}}]}}"#
    );
    assert_eq!(world.post("chat/completions", &streamed).await.status, 200);
    assert_eq!(
        world
            .post("chat/completions", r#"{"model":"nobody/m"}"#)
            .await
            .status,
        404
    );

    let dir = world.store.paths().dir.clone();
    let mut records = Vec::new();
    for _ in 0..200 {
        records = patchbay_service::hosts::ActivityLog::read(&dir).expect("read");
        if records.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(records.len(), 3, "{records:?}");
    let plain = &records[0];
    assert_eq!(plain.app_id, "com.example.app");
    assert_eq!(plain.entry_id.as_deref(), Some("local-llm/m"));
    assert_eq!((plain.status, plain.stream), (200, false));
    assert_eq!(plain.usage.and_then(|usage| usage.total_tokens), Some(10));
    let streamed = &records[1];
    assert!(streamed.stream);
    assert_eq!(
        streamed.usage.and_then(|usage| usage.completion_tokens),
        Some(6)
    );
    assert!(streamed.first_byte_ms.is_some());
    let failed = &records[2];
    assert_eq!(
        (failed.status, failed.error_code.as_deref()),
        (404, Some("model_not_found"))
    );
    let file = std::fs::read_to_string(dir.join("activity.jsonl")).expect("activity.jsonl");
    assert!(
        !file.contains(prompt) && !file.contains("secret"),
        "no text is kept: {file}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_origins_the_person_allowed_may_call_from_a_browser() {
    let upstream = Server::http(handler(|_| Canned::json(200, COMPLETION)))
        .await
        .expect("server");
    let world = crate::support::World::with_options(
        &[keyed("Local LLM", &upstream.at("/v1"), &["m"])],
        Duration::from_secs(30),
        &["https://notes.example"],
    )
    .await;
    let addr = world.addr();
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization, content-type\r\nConnection: close\r\n\r\n"
        )
    };
    let allowed = send(addr, &preflight("https://notes.example")).await;
    assert_eq!(allowed.status, 204, "{}", allowed.head);
    let head = allowed.head.to_ascii_lowercase();
    assert!(
        head.contains("access-control-allow-origin: https://notes.example"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-headers: authorization, content-type"),
        "{head}"
    );
    let refused = send(addr, &preflight("https://evil.example")).await;
    assert_eq!(
        (refused.status, refused.code().as_str()),
        (403, "browser_origin_refused")
    );

    let body = r#"{"model":"local-llm/m"}"#;
    let request = |origin: &str| {
        chat_request(
            addr,
            &world.token,
            &format!("Origin: {origin}\r\n"),
            body,
            true,
        )
    };
    let answer = send(addr, &request("https://notes.example")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer
        .head
        .to_ascii_lowercase()
        .contains("access-control-allow-origin: https://notes.example"));
    let answer = send(addr, &request("https://evil.example")).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (403, "browser_origin_refused")
    );
    assert_eq!(upstream.seen().len(), 1, "the refused page reached nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_lets_a_stream_in_flight_finish_and_takes_no_new_connection() {
    // A provider that streams ten events 100 ms apart, then ends.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        read_request(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.expect("head");
        for n in 0..10 {
            let event = format!("data: {{\"n\":{n}}}\n\n");
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            socket.write_all(chunk.as_bytes()).await.expect("event");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        socket.write_all(b"0\r\n\r\n").await.expect("end");
    });
    let world = World::new(&[keyed("Streaming", &base, &["m"])]).await;
    let addr = world.addr();
    let mut client = world
        .start_chat(r#"{"model":"streaming/m","stream":true}"#, true)
        .await;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !String::from_utf8_lossy(&received).contains("data: {\"n\":0}") {
        let read = client.read(&mut buffer).await.expect("the stream starts");
        assert!(read > 0, "the stream ended early");
        received.extend_from_slice(&buffer[..read]);
    }

    // Quit while the answer is still streaming.
    let gateway = world.gateway;
    let stopping = Instant::now();
    let stopped = tokio::spawn(async move {
        let drained = gateway.shutdown_within(Duration::from_secs(5)).await;
        (drained, stopping.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "a stopping gateway takes no new connection"
    );
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buffer))
            .await
            .expect("the stream goes on")
            .expect("read");
        if read == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.contains("data: {\"n\":9}"),
        "the whole answer arrived: {text}"
    );
    let (drained, took) = stopped.await.expect("the stop finished");
    assert!(drained, "the gateway waited for the stream");
    println!("stopped after {took:?}, once the stream in flight had ended");
    assert!(
        took >= Duration::from_millis(700),
        "it waited for the stream: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_deployments_are_reached_through_the_gateway_with_api_key_and_api_version() {
    use patchbay_testkit::shapes::azure_fake;
    let classic = Server::http(azure_fake(KEY, Some("2024-10-21"), &["gpt4o-prod"]))
        .await
        .expect("server");
    let v1 = Server::http(azure_fake(KEY, None, &["mini-eu"]))
        .await
        .expect("server");
    let world = World::new(&[
        keyed("Azure Classic", &classic.at(""), &["gpt4o-prod"]).azure(Some("2024-10-21")),
        keyed("Azure Next", &v1.at(""), &["mini-eu"]).azure(None),
    ])
    .await;
    let body = r#"{"model":"azure-classic/gpt4o-prod","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let answer = world.post("chat/completions", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.text().contains("\"ok\""), "{}", answer.text());
    let seen = classic.seen();
    let request = seen.first().expect("the deployment got the request");
    assert_eq!(
        request.path,
        "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(request.header("api-key"), Some(KEY));
    assert!(request.header("authorization").is_none());

    let body = r#"{"model":"azure-next/mini-eu","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let answer = world.post("chat/completions", body).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = v1.seen();
    let request = seen.first().expect("the v1 API got the request");
    assert_eq!(request.path, "/openai/v1/chat/completions");
    assert!(String::from_utf8_lossy(&request.body).contains("\"model\":\"mini-eu\""));
    assert_eq!(request.header("api-key"), Some(KEY));
    assert!(!answer.head.contains(KEY) && !answer.text().contains(KEY));
}
