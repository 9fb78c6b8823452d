//! Model discovery over every documented shape, at scale, and its failures.

use patchbay_net::{fetch_models, parse_models, DiscoveryError};

use crate::catalog::{openai_catalog, openrouter_catalog};
use crate::support::*;

fn fixture(name: &str) -> TestResult<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures")
        .join(name);
    Ok(std::fs::read(path)?)
}

fn ids(body: &[u8]) -> TestResult<Vec<String>> {
    Ok(parse_models(body)?
        .into_iter()
        .map(|model| model.id)
        .collect())
}

#[test]
fn anthropic_and_azure_lists_parse_by_id() -> TestResult {
    use patchbay_testkit::shapes::{anthropic_models_body, azure_models_body};
    let anthropic =
        anthropic_models_body(&["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]);
    assert_eq!(
        ids(anthropic.as_bytes())?,
        ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]
    );
    let azure = azure_models_body(&["gpt-4o-2024-08-06", "text-embedding-3-large"]);
    assert_eq!(
        ids(azure.as_bytes())?,
        ["gpt-4o-2024-08-06", "text-embedding-3-large"]
    );
    Ok(())
}

#[test]
fn a_body_that_is_not_a_list_is_described_without_quoting_it() {
    for body in [
        &br#""sk-echoed-secret-0123456789""#[..],
        br#"{"data":"sk-echoed-secret-0123456789"}"#,
        br#"{"data":{"id":"sk-echoed-secret-0123456789"}}"#,
        br#"{"models":"sk-echoed-secret-0123456789"}"#,
    ] {
        let error = parse_models(body).err();
        let text = error.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(error.is_some(), "{}", String::from_utf8_lossy(body));
        assert!(
            !text.contains("sk-echoed"),
            "{}: {text}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn openai_list() -> TestResult {
    let models = parse_models(&fixture("openai.json")?)?;
    assert_eq!(models.len(), 5);
    assert_eq!(models[0].id, "gpt-4o-mini");
    assert_eq!(models[0].metadata.owned_by.as_deref(), Some("system"));
    assert_eq!(
        models[4].id, "ft:gpt-4o-mini-2024-07-18:acme::9abcDEF1",
        "ids are kept byte-for-byte"
    );
    Ok(())
}

#[test]
fn openrouter_keeps_rich_metadata() -> TestResult {
    let models = parse_models(&fixture("openrouter.json")?)?;
    let gemini = &models[0];
    assert_eq!(gemini.id, "google/gemini-2.5-flash");
    assert_eq!(
        gemini.metadata.name.as_deref(),
        Some("Google: Gemini 2.5 Flash")
    );
    assert_eq!(gemini.metadata.context_window, Some(1_048_576));
    assert_eq!(gemini.metadata.max_output_tokens, Some(65_535));
    assert_eq!(
        gemini.metadata.input_modalities,
        ["file", "image", "text", "audio"]
    );
    assert_eq!(gemini.metadata.supports_tools, Some(true));
    let qwen = &models[1];
    assert_eq!(qwen.metadata.supports_tools, Some(false));
    assert_eq!(
        qwen.metadata.max_output_tokens, None,
        "null max_completion_tokens is absent, not an error"
    );
    assert_eq!(models[2].id, "meta-llama/llama-3.1-8b-instruct:free");
    Ok(())
}

#[test]
fn ollama_shapes() -> TestResult {
    assert_eq!(
        ids(&fixture("ollama_v1.json")?)?,
        [
            "llama3.2:latest",
            "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q6_K"
        ]
    );
    assert!(
        parse_models(&fixture("ollama_empty.json")?)?.is_empty(),
        "data: null is zero models"
    );
    let native = parse_models(&fixture("ollama_tags.json")?)?;
    assert_eq!(
        native
            .iter()
            .map(|model| model.id.as_str())
            .collect::<Vec<_>>(),
        ["llama3.2:latest", "qwen2.5-coder:7b"]
    );
    assert_eq!(
        native[0].metadata.name, None,
        "Ollama's `name` repeats the id"
    );
    assert_eq!(native[1].metadata.supports_tools, Some(true));
    Ok(())
}

#[test]
fn lm_studio_vllm_groq_together() -> TestResult {
    assert_eq!(
        ids(&fixture("lmstudio.json")?)?,
        [
            "qwen2.5-7b-instruct",
            "text-embedding-nomic-embed-text-v1.5"
        ]
    );

    let vllm = parse_models(&fixture("vllm.json")?)?;
    assert_eq!(vllm[0].id, "meta-llama/Llama-3.1-8B-Instruct");
    assert_eq!(vllm[0].metadata.context_window, Some(131_072));
    assert_eq!(vllm[0].metadata.owned_by.as_deref(), Some("vllm"));

    let groq = parse_models(&fixture("groq.json")?)?;
    assert_eq!(groq[0].metadata.context_window, Some(131_072));
    assert_eq!(groq[0].metadata.max_output_tokens, Some(32_768));

    let together = parse_models(&fixture("together.json")?)?;
    assert_eq!(together.len(), 2, "a bare array");
    assert_eq!(
        together[0].metadata.name.as_deref(),
        Some("Meta Llama 3.3 70B Instruct Turbo")
    );
    assert_eq!(together[0].metadata.owned_by.as_deref(), Some("Meta"));
    assert_eq!(together[0].metadata.context_window, Some(131_072));
    Ok(())
}

#[test]
fn entries_without_created_or_owned_by_and_duplicates() -> TestResult {
    let body = br#"{"data":[{"id":"b"},{"id":"a","object":"model"},{"id":"b"},{"object":"model"},{"id":null},{"id":"  "}]}"#;
    assert_eq!(ids(body)?, ["b", "a"]);
    Ok(())
}

#[test]
fn failures_are_classified_never_zero_models() -> TestResult {
    let envelope = parse_models(&fixture("error_envelope.json")?)
        .err()
        .ok_or("envelope parsed")?;
    assert_eq!(envelope.kind().as_str(), "error_envelope");
    assert_eq!(
        envelope.provider_text(),
        Some("Incorrect API key provided: sk-abc***xyz.")
    );
    assert!(
        !envelope.to_string().contains("sk-abc"),
        "Display never shows the provider's text"
    );

    assert_eq!(
        parse_models(&fixture("html_page.html")?).err(),
        Some(DiscoveryError::Html)
    );
    assert_eq!(
        parse_models(&fixture("truncated.json")?).err(),
        Some(DiscoveryError::Truncated)
    );
    assert!(matches!(
        parse_models(b"").err(),
        Some(DiscoveryError::Truncated)
    ));
    assert!(matches!(
        parse_models(b"hello").err(),
        Some(DiscoveryError::NotJson { .. })
    ));
    assert!(matches!(
        parse_models(br#"{"models":"none"}"#).err(),
        Some(DiscoveryError::WrongShape { .. })
    ));
    Ok(())
}

#[test]
fn openrouter_sized_catalog() -> TestResult {
    let catalog = openrouter_catalog(371);
    assert!(
        (410_000..450_000).contains(&catalog.len()),
        "{} bytes",
        catalog.len()
    );
    let models = parse_models(catalog.as_bytes())?;
    assert_eq!(models.len(), 371);
    assert_eq!(models[1].metadata.supports_tools, Some(true));
    assert_eq!(models[0].metadata.input_modalities, ["text", "image"]);
    Ok(())
}

#[test]
fn ten_thousand_models() -> TestResult {
    let catalog = openai_catalog(10_000);
    let models = parse_models(catalog.as_bytes())?;
    assert_eq!(models.len(), 10_000);
    assert_eq!(models[9_999].id, "meta-llama/model-9999:latest");
    Ok(())
}

#[tokio::test]
async fn fetch_models_classifies_http_outcomes() -> TestResult {
    let cases: Vec<(Canned, &str)> = vec![
        (
            Canned::json(200, String::from_utf8(fixture("error_envelope.json")?)?),
            "error_envelope",
        ),
        (
            Canned::html(200, String::from_utf8(fixture("html_page.html")?)?),
            "not_json",
        ),
        (
            Canned::json(200, String::from_utf8(fixture("truncated.json")?)?),
            "bad_response",
        ),
        (Canned::json(404, r#"{"detail":"Not Found"}"#), "not_found"),
        (Canned::json(405, ""), "method_not_allowed"),
    ];
    for (canned, kind) in cases {
        let status = canned.status;
        let server = Server::http(handler(move |_| canned.clone())).await?;
        let target = local_target(server.url("/v1")?);
        let error = fetch_models(&client()?, &target, &NoLookup::default())
            .await
            .err()
            .ok_or("fetch succeeded")?;
        assert_eq!(error.kind().as_str(), kind, "status {status}");
        if matches!(kind, "not_found" | "method_not_allowed") {
            assert!(
                error.hint().contains("type the model IDs by hand"),
                "{}",
                error.hint()
            );
        }
    }
    let server = Server::http(handler(|_| Canned::json(200, openrouter_catalog(371)))).await?;
    let models = fetch_models(
        &client()?,
        &local_target(server.url("/api/v1")?),
        &NoLookup::default(),
    )
    .await?;
    assert_eq!(models.len(), 371);
    assert_eq!(server.seen()[0].path, "/api/v1/models");
    Ok(())
}
