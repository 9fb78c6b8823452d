//! Model-picker entries: what a host app shows in its model picker, one per
//! enabled provider × model, derived from the shared config file. This is
//! the one implementation of that derivation; `patchbay-core` converts its
//! validated providers to records and calls [`entries_from_records`].
//!
//! Entries never contain a secret: there is no key field, and custom header
//! values are not part of an entry at all (a paired host gets those through
//! `entries.resolve`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::capabilities::{capabilities_of, Capabilities};
use crate::config::{Auth, ProviderRecord};

/// One model of one enabled provider, as a host app's picker shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickerEntry {
    /// `<provider_id>/<model_id>`: stable across label changes and
    /// disable/enable. The model part may itself contain `/` and `:`, so a
    /// host splits at the FIRST `/` (provider ids never contain one).
    pub id: String,
    /// `<model name> · <provider label>`, where the model name is the
    /// discovered display name when known and the raw model id otherwise.
    pub label: String,
    pub provider: EntryProvider,
    /// The raw upstream model id, byte-for-byte: what goes in `"model"`.
    pub model_id: String,
    /// The provider's first model.
    pub is_default: bool,
    /// Always `true`: the person brings their own key, so the host must not
    /// bill this usage against its own quota.
    pub byok: bool,
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default)]
    pub input_modalities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_tools: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<EntryLastTest>,
    /// What the model can do and how Patchbay knows (`advertised`,
    /// `probed` with its date, or `unknown`).
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// The provider an entry belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProvider {
    pub id: String,
    pub label: String,
    pub base_url: String,
}

/// The outcome of the provider's last connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLastTest {
    pub ok: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The entries of `records`: enabled providers only, in file order; each
/// provider's models in order except the hidden ones, the first shown one
/// the default. Records whose id is not a valid provider id (it could not be
/// split back unambiguously) or that have no models are skipped.
pub fn entries_from_records(records: &[ProviderRecord]) -> Vec<PickerEntry> {
    records
        .iter()
        .filter(|record| record.enabled && is_provider_id(&record.id))
        .flat_map(|record| {
            record
                .models
                .iter()
                .filter(|model| !model.hidden)
                .enumerate()
                .map(move |(position, model)| {
                    let name = model.shown_name();
                    let capabilities = capabilities_of(model);
                    PickerEntry {
                        id: format!("{}/{}", record.id, model.id),
                        label: format!("{name} · {}", record.label),
                        provider: EntryProvider {
                            id: record.id.clone(),
                            label: record.label.clone(),
                            base_url: record.base_url.clone(),
                        },
                        model_id: model.id.clone(),
                        is_default: position == 0,
                        byok: true,
                        auth: record.auth,
                        context_window: model.metadata.context_window,
                        max_output_tokens: model.metadata.max_output_tokens,
                        input_modalities: model.metadata.input_modalities.clone(),
                        supports_tools: capabilities.tools.value,
                        last_test: record.last_test.as_ref().map(|test| EntryLastTest {
                            ok: test.ok,
                            at: test.at,
                        }),
                        capabilities,
                    }
                })
        })
        .collect()
}

/// Splits an entry id into `(provider_id, model_id)` at the first `/`.
pub fn split_entry_id(entry_id: &str) -> Option<(&str, &str)> {
    let (provider, model) = entry_id.split_once('/')?;
    (is_provider_id(provider) && !model.is_empty()).then_some((provider, model))
}

/// `[a-z0-9][a-z0-9-]{0,47}`, the id grammar `patchbay-core` enforces.
fn is_provider_id(value: &str) -> bool {
    (1..=48).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && value.bytes().next().is_some_and(|byte| byte != b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{read_document, LastTest, ModelEntry, ModelMetadata, NetworkAllowance};
    use serde_json::Map;
    use time::macros::datetime;

    fn model(id: &str) -> ModelEntry {
        ModelEntry::new(id)
    }

    fn record(id: &str, label: &str, enabled: bool, models: &[&str]) -> ProviderRecord {
        ProviderRecord {
            id: id.to_owned(),
            label: label.to_owned(),
            preset: None,
            base_url: format!("https://{id}.example/v1"),
            auth: Auth::ApiKey,
            key_hint: Some("sk-…abcd".to_owned()),
            key_origin: None,
            models: models.iter().map(|id| model(id)).collect(),
            enabled,
            network: NetworkAllowance::Remote,
            headers: Vec::new(),
            timeout_secs: None,
            trusted_cert_sha256: None,
            proxy: None,
            proxy_username: None,
            ca_certificate: None,
            api: Default::default(),
            api_version: None,
            catalog: None,
            last_test: None,
            untested_since: None,
            created_at: datetime!(2026-01-01 0:00 UTC),
            updated_at: datetime!(2026-01-01 0:00 UTC),
            extra: Map::new(),
        }
    }

    #[test]
    fn model_ids_with_slashes_and_colons_are_kept_byte_for_byte() {
        let records = [record(
            "openrouter",
            "OpenRouter",
            true,
            &["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"],
        )];
        let entries = entries_from_records(&records);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "openrouter/google/gemini-2.5-flash");
        assert_eq!(entries[0].model_id, "google/gemini-2.5-flash");
        assert!(entries[0].is_default);
        assert_eq!(entries[1].id, "openrouter/hf.co/org/model-GGUF:Q6_K");
        assert_eq!(entries[1].model_id, "hf.co/org/model-GGUF:Q6_K");
        assert!(!entries[1].is_default);
        assert_eq!(
            split_entry_id(&entries[1].id),
            Some(("openrouter", "hf.co/org/model-GGUF:Q6_K"))
        );
        assert_eq!(entries[0].label, "google/gemini-2.5-flash · OpenRouter");
        assert!(entries.iter().all(|entry| entry.byok));
    }

    #[test]
    fn disabled_providers_are_absent_and_come_back_with_the_same_ids() {
        let mut records = vec![
            record("groq", "Groq", true, &["llama-3.3-70b"]),
            record("ollama", "Ollama", false, &["qwen2.5:7b"]),
        ];
        let ids = |records: &[ProviderRecord]| -> Vec<String> {
            entries_from_records(records)
                .into_iter()
                .map(|entry| entry.id)
                .collect()
        };
        assert_eq!(ids(&records), ["groq/llama-3.3-70b"]);
        records[1].enabled = true;
        assert_eq!(ids(&records), ["groq/llama-3.3-70b", "ollama/qwen2.5:7b"]);
        records[1].label = "My Ollama".to_owned();
        assert_eq!(ids(&records), ["groq/llama-3.3-70b", "ollama/qwen2.5:7b"]);
        assert_eq!(
            entries_from_records(&records)[1].label,
            "qwen2.5:7b · My Ollama"
        );
    }

    #[test]
    fn two_providers_with_the_same_model_get_distinct_ids() {
        let records = [
            record("openai", "OpenAI", true, &["gpt-4o"]),
            record("azure", "Azure", true, &["gpt-4o"]),
        ];
        let entries = entries_from_records(&records);
        assert_eq!(entries[0].id, "openai/gpt-4o");
        assert_eq!(entries[1].id, "azure/gpt-4o");
    }

    #[test]
    fn metadata_and_last_test_are_carried() {
        let mut provider = record("openrouter", "OpenRouter", true, &["x/y"]);
        provider.models[0].metadata = ModelMetadata {
            name: Some("Y Large".to_owned()),
            context_window: Some(128_000),
            max_output_tokens: Some(4096),
            input_modalities: vec!["text".to_owned(), "image".to_owned()],
            supports_tools: Some(true),
            owned_by: None,
        };
        provider.last_test = Some(LastTest {
            ok: true,
            at: datetime!(2026-02-03 4:05:06 UTC),
            summary: "3 models".to_owned(),
        });
        let entries = entries_from_records(&[provider]);
        let entry = &entries[0];
        assert_eq!(entry.label, "Y Large · OpenRouter");
        assert_eq!(entry.context_window, Some(128_000));
        assert_eq!(entry.max_output_tokens, Some(4096));
        assert_eq!(entry.input_modalities, ["text", "image"]);
        assert_eq!(entry.supports_tools, Some(true));
        let json = serde_json::to_value(entry).expect("serialise");
        assert_eq!(json["last_test"]["at"], "2026-02-03T04:05:06Z");
        assert_eq!(json["last_test"]["ok"], true);
        assert_eq!(json["auth"], "api_key");
        let back: PickerEntry = serde_json::from_value(json).expect("deserialise");
        assert_eq!(&back, entry);
    }

    #[test]
    fn hidden_models_are_not_offered_and_the_first_shown_one_is_the_default() {
        let mut provider = record("groq", "Groq", true, &["first", "second", "third"]);
        provider.models[0].hidden = true;
        provider.models[2].display_name = Some("Third, renamed".to_owned());
        provider.models[2].metadata.name = Some("Discovered name".to_owned());
        let entries = entries_from_records(&[provider]);
        let ids: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
        assert_eq!(ids, ["groq/second", "groq/third"]);
        assert!(entries[0].is_default);
        assert!(!entries[1].is_default);
        assert_eq!(entries[1].label, "Third, renamed · Groq");
        assert_eq!(entries[0].label, "second · Groq");
    }

    #[test]
    fn entries_carry_no_key_hint_or_header_values() {
        let mut provider = record("gw", "Gateway", true, &["m"]);
        provider.key_hint = Some("sk-…HINT".to_owned());
        provider.headers = vec![crate::config::CustomHeader {
            name: "X-Team".to_owned(),
            value: Some("team-header-value".to_owned()),
            secret: false,
            hint: None,
        }];
        let json = serde_json::to_string(&entries_from_records(&[provider])).expect("serialise");
        assert!(!json.contains("HINT"));
        assert!(!json.contains("team-header-value"));
    }

    #[test]
    fn entries_from_a_file_on_disk_shape() {
        let document = read_document(
            br#"{"version":1,"providers":[
              {"id":"a","label":"A","base_url":"https://a.example","auth":"none","models":[{"id":"m1"}],
               "enabled":true,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},
              {"id":"bad/id","label":"B","base_url":"https://b.example","auth":"none","models":[{"id":"m"}],
               "enabled":true,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}
            ]}"#,
        )
        .expect("read");
        let entries = entries_from_records(&document.providers);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "a/m1");
        assert_eq!(entries[0].auth, Auth::None);
    }
}
