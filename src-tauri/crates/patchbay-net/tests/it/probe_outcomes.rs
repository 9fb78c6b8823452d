//! Every HTTP outcome of the staged test → its stage, kind and hint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use patchbay_net::probe::{run_test, StageStatus, TestReport};
use patchbay_net::Stage;

use crate::support::*;

async fn test_against(
    server: &Server,
    key: Option<&str>,
    chat_model: Option<&str>,
) -> TestResult<TestReport> {
    let mut target = local_target(server.url("/v1")?);
    if let Some(key) = key {
        target = with_key(target, key);
    }
    let mut options = options(Arc::new(NoLookup::default()));
    options.chat_model = chat_model.map(str::to_owned);
    Ok(run_test(&client()?, &target, &options, &quiet).await)
}

/// The staged test of `target` without a resolver (IP-literal targets).
async fn run_without_dns(target: &patchbay_net::Target) -> TestResult<TestReport> {
    Ok(run_test(
        &client()?,
        target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await)
}

fn failure_of(report: &TestReport, stage: Stage) -> (String, String, String) {
    let failure = report.stage(stage).and_then(|stage| stage.failure.clone());
    match failure {
        Some(failure) => (
            failure.kind.as_str().to_owned(),
            failure.message,
            failure.hint,
        ),
        None => (String::from("<no failure>"), String::new(), String::new()),
    }
}

#[tokio::test]
async fn healthy_endpoint_reports_every_stage_in_order() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["gpt-4o-mini", "llama3.2:latest"])),
        "/v1/chat/completions" => {
            Canned::events(&[r#"{"choices":[{"delta":{"content":"OK"}}]}"#, "[DONE]"])
        }
        _ => Canned::json(404, "{}"),
    }))
    .await?;
    let order = Arc::new(Mutex::new(Vec::new()));
    let recorded = order.clone();
    let on_stage = move |stage: &patchbay_net::StageReport| {
        if let Ok(mut list) = recorded.lock() {
            list.push((stage.stage, stage.status));
        }
    };
    let target = with_key(local_target(server.url("/v1")?), CANARY_KEY);
    let mut options = options(Arc::new(NoLookup::default()));
    options.chat_model = Some("gpt-4o-mini".into());
    let report = run_test(&client()?, &target, &options, &on_stage).await;

    assert!(report.ok, "{report:#?}");
    let seen_order = order.lock().map(|list| list.clone()).unwrap_or_default();
    assert_eq!(
        seen_order,
        vec![
            (Stage::UrlPolicy, StageStatus::Ok),
            (Stage::Dns, StageStatus::Skipped),
            (Stage::TcpConnect, StageStatus::Ok),
            (Stage::Tls, StageStatus::Skipped),
            (Stage::Models, StageStatus::Ok),
            (Stage::Chat, StageStatus::Ok),
        ]
    );
    assert_eq!(report.models_count, Some(2));
    assert_eq!(report.models[1].id, "llama3.2:latest");
    assert!(report.time_to_first_token_ms.is_some());
    assert!(
        report.summary.starts_with("Connected · 2 models"),
        "{}",
        report.summary
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        server.connections(),
        1,
        "the chat probe reuses the connection"
    );
    let models = &seen[0];
    assert_eq!(
        (models.method.as_str(), models.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(
        models.header("authorization"),
        Some(format!("Bearer {CANARY_KEY}").as_str())
    );
    assert!(models
        .header("user-agent")
        .is_some_and(|agent| agent.starts_with("Patchbay/")));
    assert_eq!(models.header("cookie"), None);
    let chat: serde_json::Value = serde_json::from_slice(&seen[1].body)?;
    assert_eq!(chat["max_tokens"], 1);
    assert_eq!(chat["stream"], true);
    assert_eq!(chat["model"], "gpt-4o-mini");
    assert_eq!(chat["messages"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn no_auth_sends_no_authorization_header_at_all() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["a"])))).await?;
    let report = test_against(&server, None, None).await?;
    assert!(report.ok);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
    Ok(())
}

#[tokio::test]
async fn auth_none_provider_drops_a_stored_key() -> TestResult {
    use patchbay_core::model::{Auth, ModelEntry, ModelMetadata, Provider};
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["a"])))).await?;
    let provider = Provider {
        id: patchbay_core::ProviderId::parse("local")?,
        label: "Local".into(),
        preset: Some("ollama".into()),
        base_url: server.url("/v1")?,
        auth: Auth::None,
        key_hint: None,
        key_origin: None,
        models: vec![ModelEntry {
            id: "a".into(),
            metadata: ModelMetadata::default(),
            missing_upstream: false,
            display_name: None,
            hidden: false,
            probed: None,
        }],
        enabled: true,
        network: patchbay_core::NetworkAllowance::Local,
        headers: Vec::new(),
        timeout_secs: Some(7),
        trusted_cert_sha256: None,
        proxy: None,
        proxy_username: None,
        ca_certificate: None,
        api: Default::default(),
        api_version: None,
        catalog: None,
        last_test: None,
        untested_since: None,
        created_at: time::OffsetDateTime::now_utc(),
        updated_at: time::OffsetDateTime::now_utc(),
    };
    let target = patchbay_net::Target::from_provider(
        &provider,
        Some(patchbay_core::ApiKey::new(CANARY_KEY)),
        Vec::new(),
        Some("Ollama"),
    );
    assert!(target.api_key.is_none());
    assert_eq!(target.timeout, Some(std::time::Duration::from_secs(7)));
    let report = run_without_dns(&target).await?;
    assert!(report.ok);
    assert_eq!(server.seen()[0].header("authorization"), None);
    Ok(())
}

#[tokio::test]
async fn an_echoed_key_that_patchbay_never_sent_is_redacted_by_its_shape() -> TestResult {
    const OTHER_KEY: &str = "sk-proj-0therKeyOfTheUser0123456789abcdef";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLWJ5dGVz";
    let server = Server::http(handler(|_| {
        Canned::json(
            401,
            format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {OTHER_KEY}. Session {JWT} expired."}}}}"#
            ),
        )
    }))
    .await?;
    let report = test_against(&server, Some(CANARY_KEY), None).await?;
    let (kind, message, _hint) = failure_of(&report, Stage::Models);
    assert_eq!(kind, "unauthorized");
    assert!(message.contains("[redacted]"), "{message}");
    let everything = serde_json::to_string(&report)?;
    for secret in [OTHER_KEY, JWT, CANARY_KEY] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }
    Ok(())
}

#[tokio::test]
async fn another_apis_own_model_list_names_the_openai_compatible_base_url() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        // Google Gemini's native list, from a base URL without `/openai`.
        "/v1beta/models" => Canned::json(
            200,
            r#"{"models":[{"name":"models/gemini-2.0-flash","displayName":"Gemini 2.0 Flash","supportedGenerationMethods":["generateContent"]}]}"#,
        ),
        // Ollama's `/api/tags` shape.
        "/api/models" => Canned::json(
            200,
            r#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","modified_at":"2025-01-01T00:00:00Z","digest":"a80c4f17acd5","size":2019393189}]}"#,
        ),
        _ => Canned::json(404, "{}"),
    }))
    .await?;
    for (path, api, suggested) in [
        (
            "/v1beta",
            "Google Gemini",
            format!("{}/v1beta/openai", server.at("")),
        ),
        ("/api", "Ollama", format!("{}/v1", server.at(""))),
    ] {
        let target = local_target(server.url(path)?);
        let report = run_without_dns(&target).await?;
        let (kind, message, hint) = failure_of(&report, Stage::Models);
        assert_eq!(kind, "bad_response", "{report:#?}");
        assert!(message.contains(api), "{message}");
        assert!(hint.contains(&suggested), "{hint}");
        let suggestion = report.suggestion.as_ref().ok_or("a suggestion")?;
        assert_eq!(suggestion.kind, "use_openai_endpoint");
        assert_eq!(suggestion.base_url, suggested);
        assert!(
            report.models.is_empty(),
            "no ids an OpenAI-compatible call would refuse"
        );
    }
    Ok(())
}

#[tokio::test]
async fn status_outcomes_map_to_kinds_and_hints() -> TestResult {
    let cases: Vec<(Canned, &str, &str)> = vec![
        (
            Canned::json(
                401,
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
            ),
            "unauthorized",
            "API key",
        ),
        (
            Canned::json(
                403,
                r#"{"error":{"message":"Project does not have access"}}"#,
            ),
            "forbidden",
            "permission",
        ),
        (
            // Checked with the chat probe instead, which fails the same way.
            Canned::json(405, "{}"),
            "method_not_allowed",
            "does not accept this request",
        ),
        (
            Canned::json(429, r#"{"error":{"message":"Rate limit reached"}}"#)
                .header("retry-after", "17"),
            "rate_limited",
            "17 s",
        ),
        (
            Canned::json(500, r#"{"error":{"message":"internal"}}"#),
            "server_error",
            "provider's side",
        ),
        (
            Canned::json(503, "upstream unavailable"),
            "server_error",
            "provider's side",
        ),
        (
            Canned::json(400, r#"{"detail":"bad things"}"#),
            "bad_request",
            "model id",
        ),
        (
            Canned::html(200, "<!doctype html><html><body>Welcome</body></html>"),
            "not_json",
            "not at a website",
        ),
        (Canned::json(200, "not json at all"), "not_json", "base URL"),
        (
            Canned::json(200, r#"{"error":{"message":"Your account is suspended"}}"#),
            "error_envelope",
            "provider's message",
        ),
        (
            Canned::json(200, r#"{"object":"list","data":[{"id":"a"}"#),
            "bad_response",
            "OpenAI-compatible",
        ),
        (
            Canned::json(200, r#"{"status":"ok"}"#),
            "bad_response",
            "OpenAI-compatible",
        ),
    ];
    for (canned, kind, hint_part) in cases {
        let status = canned.status;
        let server = Server::http(handler(move |_| canned.clone())).await?;
        let report = test_against(&server, Some(CANARY_KEY), Some("a")).await?;
        // A server without a model list (405) is checked with the chat
        // probe instead, which this server refuses too: the chat stage fails.
        let unlisted = kind == "method_not_allowed";
        let failed_at = if unlisted { Stage::Chat } else { Stage::Models };
        let (actual_kind, message, hint) = failure_of(&report, failed_at);
        assert_eq!(actual_kind, kind, "status {status}: {message}");
        assert!(
            hint.contains(hint_part) || message.contains(hint_part),
            "status {status}: hint {hint:?} / message {message:?} lacks {hint_part:?}"
        );
        assert!(!report.ok);
        let expected_summary = if unlisted {
            "Chat failed"
        } else {
            "Model list failed"
        };
        assert!(
            report.summary.starts_with(expected_summary),
            "{}",
            report.summary
        );
        let models = report.stage(Stage::Models).map(|stage| stage.status);
        let chat = report.stage(Stage::Chat).map(|stage| stage.status);
        if unlisted {
            assert_eq!(models, Some(StageStatus::Skipped), "status {status}");
            assert_eq!(chat, Some(StageStatus::Failed), "status {status}");
        } else {
            // A key problem makes the chat probe pointless.
            assert_eq!(chat, Some(StageStatus::Skipped), "status {status}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn provider_messages_are_shown_but_html_bodies_never() -> TestResult {
    let server = Server::http(handler(|_| {
        Canned::html(
            502,
            "<html><title>502 Bad Gateway</title><body>nginx internal detail</body></html>",
        )
    }))
    .await?;
    let report = test_against(&server, None, None).await?;
    let (kind, message, _) = failure_of(&report, Stage::Models);
    assert_eq!(kind, "server_error");
    assert_eq!(message, "The provider's server failed (HTTP 502).");

    let server = Server::http(handler(|_| {
        Canned::json(401, r#"{"error":{"message":"Invalid API key provided"}}"#)
    }))
    .await?;
    let report = test_against(&server, Some(CANARY_KEY), None).await?;
    let (_, message, _) = failure_of(&report, Stage::Models);
    assert_eq!(
        message,
        "The key was rejected (HTTP 401): Invalid API key provided."
    );
    Ok(())
}

#[tokio::test]
async fn missing_v1_is_suggested_never_applied() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["qwen2.5", "llama3.2"])),
        _ => Canned::json(404, r#"{"detail":"Not Found"}"#),
    }))
    .await?;
    let target = local_target(server.url("")?);
    let report = run_without_dns(&target).await?;
    let (kind, _, hint) = failure_of(&report, Stage::Models);
    assert_eq!(kind, "not_found");
    let suggestion = report.suggestion.clone().ok_or("no suggestion")?;
    assert_eq!(suggestion.kind, "use_v1");
    assert_eq!(suggestion.base_url, format!("http://{}/v1", server.address));
    assert!(hint.contains("2 models") && hint.contains("/v1"), "{hint}");
    assert!(
        !report.ok,
        "the user's URL still fails; it is not silently changed"
    );
    assert!(report.models.is_empty());
    let paths: Vec<String> = server.seen().iter().map(|seen| seen.path.clone()).collect();
    assert_eq!(paths, ["/models", "/v1/models"], "exactly one /v1 try");
    Ok(())
}

#[tokio::test]
async fn no_v1_retry_when_the_base_has_a_version() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(404, "{}"))).await?;
    let report = test_against(&server, None, None).await?;
    assert_eq!(failure_of(&report, Stage::Models).0, "not_found");
    assert!(report.suggestion.is_none());
    assert_eq!(server.seen().len(), 1);
    Ok(())
}

/// The staged test with the person's first model as `unlisted_model`.
async fn test_unlisted(server: &Server, typed: &str) -> TestResult<TestReport> {
    let target = local_target(server.url("/v1")?);
    let mut options = options(Arc::new(NoLookup::default()));
    options.unlisted_model = Some(typed.to_owned());
    Ok(run_test(&client()?, &target, &options, &quiet).await)
}

#[tokio::test]
async fn missing_models_endpoint_still_lets_the_chat_probe_verify_a_typed_model() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/chat/completions" => Canned::events(&[r#"{"choices":[{"delta":{"content":"O"}}]}"#]),
        _ => Canned::json(404, "{}"),
    }))
    .await?;
    let report = test_against(&server, None, Some("my-model")).await?;
    let models = report.stage(Stage::Models).expect("a models stage");
    assert_eq!(models.status, StageStatus::Skipped, "{models:?}");
    assert!(models.detail.contains("does not list models"), "{models:?}");
    assert_eq!(
        report.stage(Stage::Chat).map(|stage| stage.status),
        Some(StageStatus::Ok)
    );
    assert!(report.ok, "the chat probe decides: {report:?}");
    Ok(())
}

#[tokio::test]
async fn a_server_without_models_passes_when_the_typed_model_answers() -> TestResult {
    for status in [404, 405] {
        let server = Server::http(handler(move |seen| match seen.path.as_str() {
            "/v1/chat/completions" => {
                Canned::events(&[r#"{"choices":[{"delta":{"content":"O"}}]}"#])
            }
            _ => Canned::json(status, "{}"),
        }))
        .await?;
        // No chat probe asked for: the typed model is checked by itself.
        let report = test_unlisted(&server, "qwen2.5:7b").await?;
        assert!(report.ok, "HTTP {status}: {report:?}");
        let models = report.stage(Stage::Models).expect("a models stage");
        assert_eq!(models.status, StageStatus::Skipped);
        assert!(
            models.detail.starts_with(&format!("HTTP {status}:")),
            "{models:?}"
        );
        let chat = report.stage(Stage::Chat).expect("a chat stage");
        assert_eq!(chat.status, StageStatus::Ok, "{chat:?}");
        assert!(chat.detail.contains("`qwen2.5:7b` answered"), "{chat:?}");
        assert!(
            report
                .summary
                .contains("this server does not list models; the model you typed answered"),
            "{}",
            report.summary
        );
        let chats: Vec<_> = server
            .seen()
            .into_iter()
            .filter(|seen| seen.path == "/v1/chat/completions")
            .collect();
        assert_eq!(chats.len(), 1, "exactly one chat request");
        let body = String::from_utf8_lossy(&chats[0].body);
        assert!(
            body.contains(r#""max_tokens":1"#),
            "at most one token: {body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_server_without_models_fails_when_the_typed_model_does_not_answer() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/chat/completions" => Canned::json(
            404,
            r#"{"error":{"message":"model 'qwen9' not found","code":"model_not_found"}}"#,
        ),
        _ => Canned::json(404, "{}"),
    }))
    .await?;
    let report = test_unlisted(&server, "qwen9").await?;
    assert!(!report.ok, "{report:?}");
    let (kind, message, _) = failure_of(&report, Stage::Chat);
    assert_eq!(kind, "model_not_found", "{message}");
    assert!(
        report.summary.starts_with("Chat failed"),
        "{}",
        report.summary
    );
    Ok(())
}

#[tokio::test]
async fn a_server_that_lists_models_is_not_sent_a_chat_request_unasked() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["m"])),
        _ => Canned::json(500, "{}"),
    }))
    .await?;
    let report = test_unlisted(&server, "m").await?;
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.stage(Stage::Chat).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    assert!(server
        .seen()
        .iter()
        .all(|seen| seen.path != "/v1/chat/completions"));
    Ok(())
}

#[tokio::test]
async fn chat_model_not_found_names_close_matches() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-small"])),
        _ => Canned::json(404, r#"{"error":{"message":"The model `gpt4o` does not exist or you do not have access to it.","code":"model_not_found"}}"#),
    }))
    .await?;
    let report = test_against(&server, Some(CANARY_KEY), Some("gpt4o")).await?;
    assert_eq!(
        report.stage(Stage::Models).map(|stage| stage.status),
        Some(StageStatus::Ok)
    );
    let (kind, message, hint) = failure_of(&report, Stage::Chat);
    assert_eq!(kind, "model_not_found");
    assert!(
        message.contains("`gpt4o`") && message.contains("`gpt-4o`"),
        "{message}"
    );
    assert!(hint.contains("did you mean `gpt-4o`"), "{hint}");
    Ok(())
}

#[tokio::test]
async fn ollama_style_model_not_found_in_a_400_and_in_a_stream() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["llama3.2:latest"])),
        _ => Canned::json(
            400,
            r#"{"error":"model \"llama3.3\" not found, try pulling it first"}"#,
        ),
    }))
    .await?;
    let report = test_against(&server, None, Some("llama3.3")).await?;
    let (kind, message, _) = failure_of(&report, Stage::Chat);
    assert_eq!(kind, "model_not_found", "{message}");
    assert!(message.contains("llama3.2:latest"), "{message}");

    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["a"])),
        _ => Canned::events(&[r#"{"error":{"message":"model 'b' does not exist"}}"#]),
    }))
    .await?;
    let report = test_against(&server, None, Some("b")).await?;
    assert_eq!(failure_of(&report, Stage::Chat).0, "model_not_found");
    Ok(())
}

#[tokio::test]
async fn time_to_first_token_is_when_the_first_event_arrives_not_the_headers() -> TestResult {
    use patchbay_testkit::shapes::openai_chat_stream;
    let pause = std::time::Duration::from_millis(300);
    let server = Server::http(handler(move |seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["a"])),
        _ => openai_chat_stream(&["O", "K"], pause),
    }))
    .await?;
    let report = test_against(&server, None, Some("a")).await?;
    assert!(report.ok, "{report:#?}");
    let first_token = report.time_to_first_token_ms.unwrap_or_default();
    assert!(
        first_token >= 250,
        "headers come at once, the first token after {pause:?}: {first_token} ms"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_slower_than_the_providers_timeout_fails_with_timeout() -> TestResult {
    let server = Server::http(handler(|_| {
        Canned::json(200, models_body(&["a"])).after(std::time::Duration::from_secs(3))
    }))
    .await?;
    let mut target = local_target(server.url("/v1")?);
    target.timeout = Some(std::time::Duration::from_secs(1));
    let report = run_without_dns(&target).await?;
    let (kind, message, _) = failure_of(&report, Stage::Models);
    assert_eq!(kind, "timeout", "{report:#?}");
    assert!(message.contains("model list"), "{message}");
    Ok(())
}

#[tokio::test]
async fn chat_answer_in_one_piece_is_accepted() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["a"])),
        _ => Canned::json(
            200,
            r#"{"choices":[{"message":{"role":"assistant","content":"OK"}}]}"#,
        ),
    }))
    .await?;
    let report = test_against(&server, None, Some("a")).await?;
    assert!(report.ok, "{report:#?}");
    Ok(())
}

#[tokio::test]
async fn chat_rate_limit_reports_retry_after() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["a"])),
        _ => Canned::json(429, r#"{"error":{"message":"slow down"}}"#)
            .header("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT"),
    }))
    .await?;
    let report = test_against(&server, None, Some("a")).await?;
    let (kind, message, hint) = failure_of(&report, Stage::Chat);
    assert_eq!(kind, "rate_limited");
    assert!(
        message.contains("retry after Wed, 21 Oct 2026 07:28:00 GMT"),
        "{message}"
    );
    assert!(hint.contains("Wait"), "{hint}");
    Ok(())
}

#[tokio::test]
async fn refused_loopback_names_the_preset() -> TestResult {
    let port = patchbay_testkit::closed_port()?;
    let mut target = local_target(url::Url::parse(&format!("http://127.0.0.1:{port}/v1"))?);
    target.display_name = Some("Ollama".into());
    let report = run_without_dns(&target).await?;
    let (kind, message, hint) = failure_of(&report, Stage::TcpConnect);
    assert_eq!(kind, "connect_refused");
    assert_eq!(
        message,
        format!("Nothing is listening on 127.0.0.1:{port} — is Ollama running?")
    );
    assert!(hint.contains("Start Ollama"), "{hint}");
    assert_eq!(
        report.stage(Stage::Models).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    Ok(())
}

#[tokio::test]
async fn dns_failure_is_its_own_stage() -> TestResult {
    let target = local_target(url::Url::parse(&format!("http://{TEST_HOST}:8080/v1"))?);
    let report = run_test(
        &client()?,
        &target,
        &options(ScriptedLookup::failing("no such host")),
        &quiet,
    )
    .await;
    let (kind, message, hint) = failure_of(&report, Stage::Dns);
    assert_eq!(kind, "dns_failed");
    assert!(
        message.contains(TEST_HOST) && message.contains("no such host"),
        "{message}"
    );
    assert!(hint.contains("host name"), "{hint}");
    Ok(())
}

#[tokio::test]
async fn policy_denial_carries_its_reason() -> TestResult {
    let lookup = Arc::new(NoLookup::default());
    let cases = [
        (
            "http://169.254.169.254/latest",
            patchbay_core::NetworkAllowance::Private,
            "metadata",
        ),
        (
            "http://127.0.0.1:11434/v1",
            patchbay_core::NetworkAllowance::Remote,
            "loopback_not_allowed",
        ),
        (
            "https://api.openai.com@127.0.0.1/v1",
            patchbay_core::NetworkAllowance::Local,
            "userinfo",
        ),
    ];
    for (raw, network, reason) in cases {
        let target = patchbay_net::Target::new(url::Url::parse(raw)?, network);
        let report = run_test(&client()?, &target, &options(lookup.clone()), &quiet).await;
        let (kind, message, hint) = failure_of(&report, Stage::UrlPolicy);
        assert_eq!(kind, "policy_denied", "{raw}");
        assert!(!message.is_empty() && !hint.is_empty());
        let failure = report
            .stage(Stage::UrlPolicy)
            .and_then(|stage| stage.failure.clone());
        assert_eq!(
            failure.and_then(|failure| failure.reason).as_deref(),
            Some(reason),
            "{raw}"
        );
        assert!(
            report
                .stages
                .iter()
                .skip(1)
                .all(|stage| stage.status == StageStatus::Skipped),
            "{raw}"
        );
    }
    assert_eq!(lookup.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    Ok(())
}

#[tokio::test]
async fn serialized_report_has_the_documented_shape() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(401, "{}"))).await?;
    let report = test_against(&server, None, None).await?;
    let value = serde_json::to_value(&report)?;
    for field in [
        "ok",
        "stages",
        "models_count",
        "models",
        "suggestion",
        "certificate_sha256",
        "summary",
    ] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    let models_stage = &value["stages"][4];
    assert_eq!(models_stage["stage"], "models");
    assert_eq!(models_stage["status"], "failed");
    assert_eq!(models_stage["failure"]["kind"], "unauthorized");
    assert!(models_stage["duration_ms"].is_u64());
    let _: SocketAddr = server.address;
    Ok(())
}

/// A 401 means "wrong key" only when a key was sent; with no key it asks
/// for one.
#[tokio::test]
async fn a_401_without_a_key_asks_for_one_instead_of_blaming_a_key() -> TestResult {
    let server = Server::http(handler(|_| {
        Canned::json(401, r#"{"error":{"message":"missing credentials"}}"#)
    }))
    .await?;
    let report = test_against(&server, None, None).await?;
    let (kind, message, hint) = failure_of(&report, Stage::Models);
    assert_eq!(kind, "unauthorized");
    assert!(message.contains("none was sent"), "{message}");
    assert!(
        hint.contains("API key") && !hint.contains("replace"),
        "{hint}"
    );
    assert!(!message.contains("rejected"), "{message}");

    let report = test_against(&server, Some("sk-wrong-0123456789abcdef"), None).await?;
    let (_, message, hint) = failure_of(&report, Stage::Models);
    assert!(message.contains("The key was rejected"), "{message}");
    assert!(hint.contains("replace"), "{hint}");
    Ok(())
}
