//! Every command through the IPC layer: answers have the documented shapes,
//! errors arrive as `{kind, message, fields?}`, and no answer carries a key.

use patchbay_core::keychain::SecretStore;
use serde_json::{json, Value};

use crate::support::{draft, TestApp};

const KEY: &str = "sk-test-0123456789abcdef9f3a";

fn assert_no_key(value: &Value) {
    assert!(
        !value.to_string().contains(KEY),
        "an answer contains the key: {value}"
    );
}

#[test]
fn an_empty_config_lists_no_providers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let listing = app
        .invoke("list_providers", json!({}))
        .expect("list_providers");
    assert_eq!(listing["providers"], json!([]));
    assert_eq!(listing["problems"], json!([]));
    assert!(listing.get("notice").is_none(), "{listing}");
}

#[test]
fn a_bad_base_url_is_invalid_input_with_the_field_and_saves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let error = app
        .invoke(
            "add_provider",
            json!({"draft": draft("Bad", "ftp://example.com/v1")}),
        )
        .expect_err("ftp is not a base URL");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    assert!(error["message"]
        .as_str()
        .is_some_and(|message| !message.is_empty()));
    let fields = error["fields"].as_array().expect("fields");
    assert!(
        fields
            .iter()
            .any(|field| field["field"] == "base_url" && field["message"].is_string()),
        "{error}"
    );
    assert_no_key(&error);
    let listing = app
        .invoke("list_providers", json!({}))
        .expect("list_providers");
    assert_eq!(listing["providers"], json!([]));
    assert!(
        app.secrets.get("bad").expect("memory store").is_none(),
        "no key stored for a rejected draft"
    );
}

#[test]
fn an_unknown_id_is_not_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    for (command, args) in [
        ("get_provider", json!({"id": "nobody"})),
        (
            "set_provider_enabled",
            json!({"id": "nobody", "enabled": false}),
        ),
        ("remove_provider_key", json!({"id": "nobody"})),
        ("delete_provider", json!({"id": "nobody"})),
        (
            "edit_provider",
            json!({"id": "nobody", "draft": draft("X", "https://api.example.com/v1")}),
        ),
    ] {
        let error = app.invoke(command, args).expect_err(command);
        assert_eq!(error["kind"], "not_found", "{command}: {error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|message| message.contains("nobody")),
            "{error}"
        );
    }
}

#[test]
fn a_malformed_id_is_invalid_input_naming_the_id_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let error = app
        .invoke("get_provider", json!({"id": "Not/An Id"}))
        .expect_err("malformed id");
    assert_eq!(error["kind"], "invalid_input");
    assert_eq!(error["fields"][0]["field"], "id");
}

#[test]
fn add_list_edit_toggle_remove_key_and_delete_round_trip_without_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());

    let saved = app
        .invoke(
            "add_provider",
            json!({"draft": draft("Team Gateway", "https://gateway.example.com/v1/")}),
        )
        .expect("add_provider");
    assert_no_key(&saved);
    assert!(saved["notices"].is_array());
    let provider = &saved["provider"];
    assert_eq!(provider["id"], "team-gateway");
    assert_eq!(provider["base_url"], "https://gateway.example.com/v1");
    assert_eq!(provider["host"], "gateway.example.com");
    assert_eq!(provider["default_model"], "gpt-4o-mini");
    assert_eq!(provider["key_hint"], "sk-…9f3a");
    assert!(provider.get("key").is_none() && provider.get("api_key").is_none());
    // The keychain item holds the key and the origin it was given for.
    assert_eq!(
        app.secrets
            .get("team-gateway")
            .expect("memory store")
            .map(|key| key.expose().to_owned()),
        Some(format!(
            "patchbay-origin https://gateway.example.com\n{KEY}"
        ))
    );

    let listing = app
        .invoke("list_providers", json!({}))
        .expect("list_providers");
    assert_no_key(&listing);
    assert_eq!(listing["providers"].as_array().map(Vec::len), Some(1));

    let mut renamed = draft("Team Gateway (EU)", "https://gateway.example.com/v1");
    renamed["key"] = json!({"action": "keep"});
    let edited = app
        .invoke(
            "edit_provider",
            json!({"id": "team-gateway", "draft": renamed}),
        )
        .expect("edit_provider");
    assert_eq!(
        edited["provider"]["id"], "team-gateway",
        "the id never changes"
    );
    assert_eq!(edited["provider"]["label"], "Team Gateway (EU)");
    assert_eq!(
        edited["provider"]["key_hint"], "sk-…9f3a",
        "keep keeps the key"
    );

    let disabled = app
        .invoke(
            "set_provider_enabled",
            json!({"id": "team-gateway", "enabled": false}),
        )
        .expect("disable");
    assert_eq!(disabled["enabled"], false);
    let enabled = app
        .invoke(
            "set_provider_enabled",
            json!({"id": "team-gateway", "enabled": true}),
        )
        .expect("enable");
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["key_hint"], "sk-…9f3a", "disabling keeps the key");

    let fetched = app
        .invoke("get_provider", json!({"id": "team-gateway"}))
        .expect("get_provider");
    assert_eq!(fetched["label"], "Team Gateway (EU)");
    assert_no_key(&fetched);

    let keyless = app
        .invoke("remove_provider_key", json!({"id": "team-gateway"}))
        .expect("remove_provider_key");
    assert!(keyless["key_hint"].is_null(), "{keyless}");
    assert!(app
        .secrets
        .get("team-gateway")
        .expect("memory store")
        .is_none());

    let deleted = app
        .invoke("delete_provider", json!({"id": "team-gateway"}))
        .expect("delete_provider");
    assert_eq!(deleted, Value::Null);
    let error = app
        .invoke("get_provider", json!({"id": "team-gateway"}))
        .expect_err("gone");
    assert_eq!(error["kind"], "not_found");
    assert_eq!(error["reason"], "provider_not_found");
}

#[test]
fn a_key_pasted_with_a_trailing_newline_is_trimmed_and_the_user_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let mut pasted = draft("Pasted", "https://api.example.com/v1");
    pasted["key"] = json!({"action": "set", "value": format!("{KEY}\n")});
    let saved = app
        .invoke("add_provider", json!({"draft": pasted}))
        .expect("add_provider");
    let notices = saved["notices"].as_array().expect("notices");
    assert!(!notices.is_empty(), "the trim is reported: {saved}");
    assert!(notices
        .iter()
        .all(|notice| notice["field"].is_string() && notice["message"].is_string()));
    assert_no_key(&saved);
    assert_eq!(
        app.secrets
            .get("pasted")
            .expect("memory store")
            .map(|key| key.expose().to_owned()),
        Some(format!("patchbay-origin https://api.example.com\n{KEY}"))
    );
}

#[test]
fn presets_include_local_servers_without_authentication() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let presets = app.invoke("list_presets", json!({})).expect("list_presets");
    let ollama = presets
        .as_array()
        .and_then(|presets| presets.iter().find(|preset| preset["id"] == "ollama"))
        .expect("an Ollama preset");
    assert_eq!(ollama["auth"], "none");
    assert_eq!(ollama["network"], "local");
    assert!(ollama["base_url"]
        .as_str()
        .is_some_and(|url| url.starts_with("http://")));
}

#[test]
fn the_preview_reduces_a_pasted_endpoint_and_shows_the_exact_urls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let preview = app
        .invoke("preview_base_url", json!({"input": " https://openrouter.ai/api/v1/chat/completions ", "network": "remote"}))
        .expect("preview_base_url");
    assert_eq!(preview["ok"], true, "{preview}");
    assert_eq!(preview["normalized"], "https://openrouter.ai/api/v1");
    assert_eq!(preview["models_url"], "https://openrouter.ai/api/v1/models");
    assert_eq!(
        preview["chat_url"],
        "https://openrouter.ai/api/v1/chat/completions"
    );
    assert!(
        preview["notices"]
            .as_array()
            .is_some_and(|notices| !notices.is_empty()),
        "the user is told: {preview}"
    );

    let refused = app
        .invoke(
            "preview_base_url",
            json!({"input": "http://192.168.0.123:8000/v1", "network": "remote"}),
        )
        .expect("a refused URL is still an answer, not an error");
    assert_eq!(refused["ok"], false);
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{refused}"
    );
    assert!(refused.get("models_url").is_none());

    let allowed = app
        .invoke(
            "preview_base_url",
            json!({"input": "http://192.168.0.123:8000/v1", "network": "private"}),
        )
        .expect("preview_base_url");
    assert_eq!(allowed["ok"], true, "{allowed}");
}
