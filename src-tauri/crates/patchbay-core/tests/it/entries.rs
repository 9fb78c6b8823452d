//! Picker entries of providers as the store keeps them: ids survive label
//! changes and disable/enable; disabled providers are absent.

use std::sync::Arc;

use patchbay_core::entries::{picker_entries, split_entry_id};
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::ProviderId;
use serde_json::json;

use crate::support::{draft, local_draft, temp_paths};

#[test]
fn entry_ids_survive_label_changes_and_disable_enable() {
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths, Arc::new(MemoryStore::new()));
    store
        .add(draft(json!({
            "label": "OpenRouter",
            "base_url": "https://openrouter.ai/api/v1",
            "auth": "api_key",
            "key": {"action": "set", "value": "sk-or-v1-entries-secret-0123"},
            "models": ["qwen/qwen-2.5-72b-instruct", "hf.co/org/model-GGUF:Q6_K"],
        })))
        .expect("add");
    store.add(local_draft("Ollama")).expect("add");
    let ids = |store: &ProviderStore| -> Vec<String> {
        picker_entries(&store.list().expect("list").providers)
            .into_iter()
            .map(|entry| entry.id)
            .collect()
    };
    let all = [
        "openrouter/qwen/qwen-2.5-72b-instruct",
        "openrouter/hf.co/org/model-GGUF:Q6_K",
        "ollama/qwen2.5:7b",
    ];
    assert_eq!(ids(&store), all);

    let entries = picker_entries(&store.list().expect("list").providers);
    assert_eq!(entries[0].label, "qwen/qwen-2.5-72b-instruct · OpenRouter");
    assert_eq!(entries[1].model_id, "hf.co/org/model-GGUF:Q6_K");
    assert_eq!(
        split_entry_id(&entries[1].id),
        Some(("openrouter", "hf.co/org/model-GGUF:Q6_K"))
    );
    assert!(entries[0].is_default && !entries[1].is_default && entries[2].is_default);
    let text = serde_json::to_string(&entries).expect("json");
    assert!(
        !text.contains("entries-secret") && !text.contains("key_hint"),
        "{text}"
    );

    let openrouter = ProviderId::parse("openrouter").expect("id");
    store.set_enabled(&openrouter, false).expect("disable");
    assert_eq!(ids(&store), ["ollama/qwen2.5:7b"]);
    store.set_enabled(&openrouter, true).expect("enable");
    assert_eq!(ids(&store), all);

    let mut renamed = draft(json!({
        "label": "My Router",
        "base_url": "https://openrouter.ai/api/v1",
        "auth": "api_key",
        "models": ["qwen/qwen-2.5-72b-instruct", "hf.co/org/model-GGUF:Q6_K"],
    }));
    renamed.enabled = true;
    store.edit(&openrouter, renamed).expect("rename");
    assert_eq!(ids(&store), all);
    let entries = picker_entries(&store.list().expect("list").providers);
    assert_eq!(entries[0].label, "qwen/qwen-2.5-72b-instruct · My Router");
    assert_eq!(entries[0].provider.label, "My Router");
    assert_eq!(entries[0].provider.base_url, "https://openrouter.ai/api/v1");
}
