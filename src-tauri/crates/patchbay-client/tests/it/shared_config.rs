//! `read_shared_config_from`: the no-server fallback.

use patchbay_client::{read_shared_config_from, ErrorKind};

const CONFIG: &str = r#"{
  "version": 1,
  "providers": [
    {"id": "openrouter", "label": "OpenRouter", "base_url": "https://openrouter.ai/api/v1", "auth": "api_key",
     "key_hint": "sk-or-…9f3a",
     "models": [{"id": "google/gemini-2.5-flash"}, {"id": "hf.co/org/model-GGUF:Q6_K"}],
     "enabled": true, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
    {"id": "groq", "label": "Groq", "base_url": "https://api.groq.com/openai/v1", "auth": "api_key",
     "models": [{"id": "llama-3.3-70b"}], "enabled": false,
     "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
    {"id": "broken", "label": 42},
    {"id": "ollama", "label": "Ollama", "base_url": "http://127.0.0.1:11434/v1", "auth": "none", "network": "local",
     "models": [{"id": "old:1b", "hidden": true}, {"id": "qwen2.5:7b", "display_name": "Qwen, local"}],
     "enabled": true, "future_field": {"kept": true},
     "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
  ],
  "something_newer": 1
}"#;

#[test]
fn entries_come_from_enabled_providers_with_raw_model_ids() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("providers.json");
    std::fs::write(&path, CONFIG).expect("write config");
    let shared = read_shared_config_from(&path).expect("readable");
    assert!(shared.exists);
    assert_eq!(shared.unreadable_providers, 1);
    let ids: Vec<&str> = shared
        .entries
        .iter()
        .map(|entry| entry.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "openrouter/google/gemini-2.5-flash",
            "openrouter/hf.co/org/model-GGUF:Q6_K",
            "ollama/qwen2.5:7b"
        ]
    );
    assert_eq!(shared.entries[1].model_id, "hf.co/org/model-GGUF:Q6_K");
    assert!(shared.entries[0].is_default && !shared.entries[1].is_default);
    assert!(shared.entries.iter().all(|entry| entry.byok));
    // The person's display name is the fallback label; a hidden model is no entry.
    assert_eq!(shared.entries[2].label, "Qwen, local · Ollama");
    assert!(shared.entries[2].is_default);
    let text = format!("{:?}", shared.entries);
    assert!(!text.contains("9f3a"), "no key hint in entries");
}

#[test]
fn a_missing_file_is_an_empty_config() {
    let directory = tempfile::tempdir().expect("temp dir");
    let shared =
        read_shared_config_from(&directory.path().join("providers.json")).expect("missing is fine");
    assert!(!shared.exists);
    assert!(shared.entries.is_empty());
}

#[test]
fn a_newer_schema_version_is_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("providers.json");
    std::fs::write(&path, r#"{"version": 2, "providers": []}"#).expect("write");
    let error = read_shared_config_from(&path).expect_err("version 2 is not understood");
    assert_eq!(error.kind(), ErrorKind::UnsupportedVersion);
    assert!(error.to_string().contains('2'));
}

#[test]
fn a_corrupt_file_is_config_invalid() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("providers.json");
    std::fs::write(&path, "{\"version\": 1, \"providers\": ").expect("write");
    let error = read_shared_config_from(&path).expect_err("truncated JSON");
    assert_eq!(error.kind(), ErrorKind::ConfigInvalid);
}
