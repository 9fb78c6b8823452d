//! `ProviderStore` above an in-memory secret store: write order, rollback,
//! the key cache, disable/enable, headers, and the view's shape. (The same
//! flows against the real Secret Service are in `keychain`.)

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::model::{LastTest, ModelEntry, ModelMetadata, UntestedChange};
use patchbay_core::store::{ProviderStore, ProviderView};
use patchbay_core::validation::KeyChange;
use patchbay_core::{ApiKey, Error, Kind, ProviderId};
use serde_json::json;

use crate::support::{draft, file_text, key_draft, local_draft, temp_paths};

fn id(value: &str) -> ProviderId {
    ProviderId::parse(value).expect("id")
}

fn setup() -> (
    tempfile::TempDir,
    ConfigPaths,
    Arc<MemoryStore>,
    ProviderStore,
) {
    let (dir, paths) = temp_paths();
    let secrets = Arc::new(MemoryStore::new());
    let store = ProviderStore::new(paths.clone(), secrets.clone());
    (dir, paths, secrets, store)
}

#[test]
fn keychain_unavailable_saves_nothing() {
    let (_dir, paths, secrets, store) = setup();
    secrets.set_unavailable(true);
    let error = store
        .add(key_draft("OpenAI", "sk-test-0123456789abcdef"))
        .expect_err("unavailable");
    assert_eq!(error.kind(), Kind::KeychainUnavailable);
    assert!(!paths.file.exists() || store.list().expect("list").providers.is_empty());
    assert_eq!(error.to_payload().kind, "keychain_unavailable");
}

/// A SecretStore whose `set` succeeds and then makes the config directory
/// unwritable (replaces it with a plain file), so the config write that
/// follows fails — the case the rollback exists for.
#[derive(Debug)]
struct SabotagingStore {
    inner: MemoryStore,
    config_dir: PathBuf,
    armed: AtomicBool,
}

impl SecretStore for SabotagingStore {
    fn set(&self, account: &str, secret: &ApiKey) -> patchbay_core::error::Result<()> {
        self.inner.set(account, secret)?;
        if !self.armed.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        fs::remove_dir_all(&self.config_dir).expect("remove dir");
        fs::write(&self.config_dir, b"not a directory").expect("block dir");
        Ok(())
    }
    fn get(&self, account: &str) -> patchbay_core::error::Result<Option<ApiKey>> {
        self.inner.get(account)
    }
    fn delete(&self, account: &str) -> patchbay_core::error::Result<()> {
        self.inner.delete(account)
    }
}

#[test]
fn a_failed_config_write_after_add_rolls_the_key_back() {
    let (_dir, paths) = temp_paths();
    let secrets = Arc::new(SabotagingStore {
        inner: MemoryStore::new(),
        config_dir: paths.dir.clone(),
        armed: AtomicBool::new(true),
    });
    let store = ProviderStore::new(paths, secrets.clone());
    let error = store
        .add(key_draft("OpenAI", "sk-test-0123456789abcdef"))
        .expect_err("write fails");
    assert_eq!(error.kind(), Kind::ConfigIo, "{error}");
    assert!(
        secrets.inner.accounts().is_empty(),
        "orphaned: {:?}",
        secrets.inner.accounts()
    );
}

#[test]
fn a_failed_config_write_after_a_key_replace_restores_the_old_key() {
    let (_dir, paths) = temp_paths();
    let memory = MemoryStore::new();
    ProviderStore::new(paths.clone(), Arc::new(MemoryStore::new()))
        .add(local_draft("Seed"))
        .expect("seed");
    memory
        .set("seed", &ApiKey::new("old-key-value-1234"))
        .expect("preset old key");
    let secrets = Arc::new(SabotagingStore {
        inner: memory,
        config_dir: paths.dir.clone(),
        armed: AtomicBool::new(true),
    });
    let store = ProviderStore::new(paths, secrets.clone());
    let error = store
        .set_key(&id("seed"), ApiKey::new("new-key-value-5678"))
        .expect_err("write fails");
    assert_eq!(error.kind(), Kind::ConfigIo);
    assert_eq!(
        secrets
            .inner
            .get("seed")
            .expect("get")
            .map(|key| key.expose().to_owned()),
        Some("old-key-value-1234".to_owned())
    );
}

#[test]
fn the_key_is_read_once_per_process_and_reread_when_it_changes_on_disk() {
    let (_dir, paths, secrets, store) = setup();
    store
        .add(key_draft("OpenAI", "sk-first-0123456789aaaa"))
        .expect("add");
    let read = |store: &ProviderStore| {
        store
            .api_key(&id("openai"))
            .expect("read")
            .map(|key| key.expose().to_owned())
    };
    // Listing never reads the keychain.
    store.list().expect("list");
    assert_eq!(secrets.reads(), 0);
    assert_eq!(read(&store), Some("sk-first-0123456789aaaa".to_owned()));
    assert_eq!(read(&store), Some("sk-first-0123456789aaaa".to_owned()));
    assert_eq!(secrets.reads(), 1, "read once, then cached");

    // A second process (another store on the same file and keychain)
    // replaces the key; this process sees the new hint and reads again.
    let other = ProviderStore::new(paths, secrets.clone());
    other
        .set_key(&id("openai"), ApiKey::new("sk-second-0123456789bbbb"))
        .expect("set key");
    let reads_before = secrets.reads();
    assert_eq!(read(&store), Some("sk-second-0123456789bbbb".to_owned()));
    assert_eq!(read(&store), Some("sk-second-0123456789bbbb".to_owned()));
    assert_eq!(
        secrets.reads(),
        reads_before + 1,
        "one read for the new key, then cached"
    );
}

#[test]
fn disabling_keeps_everything_and_enabling_brings_it_back() {
    let (_dir, _paths, secrets, store) = setup();
    let saved = store
        .add(draft(json!({
            "label": "OpenRouter",
            "preset": "openrouter",
            "base_url": "https://openrouter.ai/api/v1",
            "auth": "api_key",
            "key": {"action": "set", "value": "sk-or-v1-0123456789abcdef9f3a"},
            "models": ["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"],
            "headers": [{"name": "X-Title", "value": "Patchbay", "secret": false}],
        })))
        .expect("add");
    assert_eq!(saved.provider.key_hint.as_deref(), Some("sk-or-…9f3a"));
    let disabled = store
        .set_enabled(&id("openrouter"), false)
        .expect("disable");
    assert!(!disabled.enabled);
    assert_eq!(secrets.accounts(), ["openrouter"]);
    let enabled = store.set_enabled(&id("openrouter"), true).expect("enable");
    let mut expected = saved.provider.clone();
    expected.updated_at = enabled.updated_at;
    assert_eq!(enabled, expected);
}

#[test]
fn edit_keeps_the_id_and_cleans_up_secrets_it_no_longer_needs() {
    let (_dir, _paths, secrets, store) = setup();
    store
        .add(draft(json!({
            "label": "Gateway",
            "base_url": "https://gw.example.com/v1",
            "auth": "api_key",
            "key": {"action": "set", "value": "sk-gw-0123456789abcdef"},
            "models": ["m1"],
            "headers": [{"name": "X-Secret", "value": "header-secret-value", "secret": true}],
        })))
        .expect("add");
    assert_eq!(secrets.accounts(), ["gateway", "gateway#header:x-secret"]);
    // Keep the stored header secret (value absent), rename the label.
    let saved = store
        .edit(
            &id("gateway"),
            draft(json!({
                "label": "Renamed Gateway",
                "base_url": "https://gw.example.com/v1",
                "auth": "api_key",
                "models": ["m1", "m2"],
                "headers": [{"name": "X-Secret", "secret": true}],
            })),
        )
        .expect("edit");
    assert_eq!(saved.provider.id.as_str(), "gateway");
    assert_eq!(saved.provider.label, "Renamed Gateway");
    assert_eq!(
        saved.provider.headers[0].hint.as_deref(),
        Some(ApiKey::new("header-secret-value").hint().as_str())
    );
    let headers = store.secret_headers(&saved.provider).expect("headers");
    assert_eq!(headers[0].1.expose(), "header-secret-value");
    // Switch to no auth and drop the header: both items are deleted.
    let saved = store
        .edit(
            &id("gateway"),
            draft(json!({
                "label": "Renamed Gateway",
                "base_url": "https://gw.example.com/v1",
                "auth": "none",
                "models": ["m1"],
            })),
        )
        .expect("edit");
    assert_eq!(saved.provider.key_hint, None);
    assert!(secrets.accounts().is_empty(), "{:?}", secrets.accounts());
    assert_eq!(store.api_key(&id("gateway")).expect("read"), None);
}

#[test]
fn a_failed_keychain_delete_after_remove_is_reported() {
    let (_dir, _paths, secrets, store) = setup();
    store
        .add(key_draft("OpenAI", "sk-test-0123456789abcdef"))
        .expect("add");
    secrets.set_unavailable(true);
    let error = store
        .remove(&id("openai"))
        .expect_err("reported, not hidden");
    assert_eq!(error.kind(), Kind::Keychain);
    let message = error.to_string();
    assert!(
        message.contains("deleted from the config") && message.contains("secret-tool clear"),
        "{message}"
    );
    secrets.set_unavailable(false);
    assert!(
        store.list().expect("list").providers.is_empty(),
        "the config change stands"
    );
    assert_eq!(
        store.remove(&id("openai")).expect_err("gone").kind(),
        Kind::ProviderNotFound
    );
}

#[test]
fn record_test_and_update_models() {
    let (_dir, _paths, _secrets, store) = setup();
    let added = store.add(local_draft("Ollama")).expect("add");
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time");
    store
        .record_test(
            &id("ollama"),
            LastTest {
                ok: true,
                at,
                summary: "3 models, 4 ms".to_owned(),
            },
        )
        .expect("record");
    let provider = store.get(&id("ollama")).expect("get");
    assert_eq!(provider.last_test.as_ref().map(|test| test.ok), Some(true));
    assert_eq!(
        provider.updated_at, added.provider.updated_at,
        "a test result is not an edit"
    );

    let provider = store
        .update_models(&id("ollama"), |models| {
            models[0].metadata = ModelMetadata {
                context_window: Some(32_768),
                ..ModelMetadata::default()
            };
            models.push(ModelEntry {
                id: "llama3.2:3b".to_owned(),
                metadata: ModelMetadata::default(),
                missing_upstream: true,
                display_name: None,
                hidden: false,
                probed: None,
            });
        })
        .expect("update models");
    assert_eq!(provider.models.len(), 2);
    assert_eq!(
        store.get(&id("ollama")).expect("get").models[0]
            .metadata
            .context_window,
        Some(32_768)
    );
    let error = store
        .update_models(&id("ollama"), |models| models.clear())
        .expect_err("empty");
    assert_eq!(error.kind(), Kind::InvalidInput);
    let error = store
        .update_models(&id("ollama"), |models| {
            models[0].id = "has space".to_owned()
        })
        .expect_err("bad id");
    assert!(matches!(error, Error::Invalid(_)));
    assert_eq!(
        store.get(&id("ollama")).expect("get").models.len(),
        2,
        "nothing saved"
    );
}

fn passed(summary: &str) -> LastTest {
    LastTest {
        ok: true,
        at: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("time"),
        summary: summary.to_owned(),
    }
}

#[test]
fn a_changed_key_or_connection_clears_the_last_test_and_says_why() {
    let (_dir, paths, _secrets, store) = setup();
    let openai = id("openai");
    let added = store
        .add_tested(
            key_draft("OpenAI", "sk-test-0123456789abcdef"),
            Some(passed("2 models")),
        )
        .expect("add");
    assert_eq!(added.provider.last_test, Some(passed("2 models")));
    assert_eq!(added.provider.untested_since, None);

    // A new name or model list says nothing against the test.
    let mut renamed = key_draft("OpenAI (work)", "unused");
    renamed.key = KeyChange::Keep;
    let saved = store.edit(&openai, renamed).expect("rename");
    assert!(
        saved.provider.last_test.is_some(),
        "a rename keeps the test"
    );

    // Replacing the key clears it, in the file too (the CLI and host apps read that).
    let saved = store
        .set_key(&openai, ApiKey::new("sk-test-fedcba9876543210"))
        .expect("set key");
    assert_eq!(saved.provider.last_test, None);
    let since = saved
        .provider
        .untested_since
        .clone()
        .expect("untested since");
    assert_eq!(since.change, UntestedChange::Key);
    let stored: serde_json::Value = serde_json::from_str(&file_text(&paths.file)).expect("json");
    assert_eq!(stored["providers"][0]["untested_since"]["change"], "key");
    assert!(stored["providers"][0].get("last_test").is_none());
    assert_eq!(
        ProviderView::from(&saved.provider).untested_since,
        Some(since)
    );

    // The next test clears the reason.
    store
        .record_test(&openai, passed("ok again"))
        .expect("record");
    let provider = store.get(&openai).expect("get");
    assert_eq!(provider.untested_since, None);
    assert!(provider.last_test.is_some());

    // A new key typed in the form's edit: the same.
    let saved = store
        .edit(
            &openai,
            key_draft("OpenAI (work)", "sk-test-aaaabbbbccccdddd"),
        )
        .expect("edit key");
    assert_eq!(saved.provider.last_test, None);
    assert_eq!(
        saved.provider.untested_since.map(|since| since.change),
        Some(UntestedChange::Key)
    );

    // ... unless the draft saved is the one a test just passed.
    let saved = store
        .edit_tested(
            &openai,
            key_draft("OpenAI (work)", "sk-test-eeeeffff00001111"),
            Some(passed("tested in the form")),
        )
        .expect("edit tested");
    assert_eq!(saved.provider.last_test, Some(passed("tested in the form")));
    assert_eq!(saved.provider.untested_since, None);

    // Another base URL with the key kept (and confirmed): the connection changed.
    let mut moved = key_draft("OpenAI (work)", "unused");
    moved.key = KeyChange::Keep;
    moved.base_url = "https://api.other.example/v1".into();
    moved.move_key = true;
    let saved = store.edit(&openai, moved).expect("move");
    assert_eq!(saved.provider.last_test, None);
    assert_eq!(
        saved.provider.untested_since.map(|since| since.change),
        Some(UntestedChange::Connection)
    );

    // Removing the key: the key changed.
    store.record_test(&openai, passed("ok")).expect("record");
    let provider = store.remove_key(&openai).expect("remove key");
    assert_eq!(
        provider.untested_since.map(|since| since.change),
        Some(UntestedChange::Key)
    );
}

#[test]
fn not_found_and_id_generation() {
    let (_dir, _paths, _secrets, store) = setup();
    assert_eq!(
        store.get(&id("nope")).expect_err("missing").kind(),
        Kind::ProviderNotFound
    );
    assert_eq!(
        store
            .set_enabled(&id("nope"), true)
            .expect_err("missing")
            .kind(),
        Kind::ProviderNotFound
    );
    let first = store.add(local_draft("LM Studio")).expect("add");
    assert_eq!(first.provider.id.as_str(), "lm-studio");
    // Labels are unique ignoring case.
    let error = store
        .add(local_draft("lm studio"))
        .expect_err("duplicate label");
    assert_eq!(error.kind(), Kind::InvalidInput);
    let second = store.add(local_draft("LM-Studio!")).expect("add");
    assert_eq!(second.provider.id.as_str(), "lm-studio-2");
}

#[test]
fn the_view_has_no_key_field_and_a_stable_shape() {
    let (_dir, paths, _secrets, store) = setup();
    let key = "sk-proj-viewcanary0123456789";
    let saved = store
        .add(draft(json!({
            "label": "OpenAI",
            "base_url": "https://api.openai.com/v1/chat/completions",
            "auth": "api_key",
            "key": {"action": "set", "value": key},
            "models": ["gpt-4o-mini"],
            "headers": [
                {"name": "OpenAI-Organization", "value": "org-123", "secret": false},
                {"name": "X-Secret", "value": "viewcanary-header-secret", "secret": true},
            ],
        })))
        .expect("add");
    assert!(
        saved
            .notices
            .iter()
            .any(|notice| notice.field == "base_url"),
        "the pasted endpoint was reduced, with a notice"
    );
    let view = serde_json::to_value(ProviderView::from(&saved.provider)).expect("json");
    let fields: Vec<&str> = view
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "id",
            "label",
            "preset",
            "base_url",
            "host",
            "auth",
            "key_hint",
            "key_withheld",
            "key_origin",
            "models",
            "default_model",
            "enabled",
            "network",
            "headers",
            "timeout_secs",
            "trusted_cert_sha256",
            "proxy",
            "proxy_username",
            "ca_certificate",
            "api",
            "api_version",
            "last_test",
            "untested_since",
            "catalog",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(view["base_url"], "https://api.openai.com/v1");
    assert_eq!(view["host"], "api.openai.com");
    assert_eq!(view["default_model"], "gpt-4o-mini");
    assert_eq!(
        view["headers"][0],
        json!({"name": "OpenAI-Organization", "value": "org-123", "secret": false})
    );
    assert_eq!(view["headers"][1]["secret"], true);
    assert!(view["headers"][1].get("value").is_none());
    let text = view.to_string();
    assert!(!text.contains("viewcanary"), "{text}");
    assert!(!file_text(&paths.file).contains("viewcanary"));
}

fn listed(ids: &[&str]) -> Vec<ModelEntry> {
    ids.iter()
        .map(|model| ModelEntry {
            id: (*model).to_owned(),
            metadata: ModelMetadata {
                context_window: Some(4096),
                ..ModelMetadata::default()
            },
            missing_upstream: false,
            display_name: None,
            hidden: false,
            probed: None,
        })
        .collect()
}

#[test]
fn a_successful_refresh_replaces_the_catalog_and_marks_missing_models() {
    let (_dir, _paths, _secrets, store) = setup();
    let added = store
        .add(key_draft("Remote", "sk-test-0123456789abcdef"))
        .expect("add");
    let ollama = &added.provider.id;
    assert!(added.provider.catalog.is_none());
    let provider = store
        .record_catalog(ollama, Ok(listed(&["gpt-4o-mini", "o3-mini"])))
        .expect("record");
    let catalog = provider.catalog.clone().expect("catalog");
    assert!(!catalog.stale);
    assert_eq!(catalog.last_error, None);
    assert!(catalog.fetched_at.is_some());
    assert_eq!(catalog.fetched_at, Some(catalog.last_attempt_at));
    assert_eq!(
        catalog
            .models
            .iter()
            .map(|model| model.id.as_str())
            .collect::<Vec<_>>(),
        ["gpt-4o-mini", "o3-mini"]
    );
    // The chosen models: one still listed (fresh metadata), one gone.
    let marks: Vec<(&str, bool, Option<u64>)> = provider
        .models
        .iter()
        .map(|model| {
            (
                model.id.as_str(),
                model.missing_upstream,
                model.metadata.context_window,
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("gpt-4o-mini", false, Some(4096)),
            ("google/gemini-2.5-flash", true, None)
        ]
    );
    assert_eq!(
        store.catalog(ollama).expect("catalog"),
        Some(catalog.clone())
    );

    // A second successful refresh replaces the list and clears the mark.
    let provider = store
        .record_catalog(ollama, Ok(listed(&["google/gemini-2.5-flash"])))
        .expect("record again");
    let catalog = provider.catalog.clone().expect("catalog");
    assert_eq!(catalog.models.len(), 1);
    let marks: Vec<bool> = provider
        .models
        .iter()
        .map(|model| model.missing_upstream)
        .collect();
    assert_eq!(marks, [true, false]);
}

#[test]
fn a_failed_refresh_keeps_the_last_good_list_marked_stale() {
    let (_dir, _paths, _secrets, store) = setup();
    let added = store.add(local_draft("Ollama")).expect("add");
    let ollama = &added.provider.id;
    let good = store
        .record_catalog(ollama, Ok(listed(&["qwen2.5:7b", "llama3.2:3b"])))
        .expect("good");
    let good_catalog = good.catalog.clone().expect("catalog");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let failed = store
        .record_catalog(
            ollama,
            Err("This URL serves a web page, not an OpenAI-compatible API.".to_owned()),
        )
        .expect("record failure");
    let catalog = failed.catalog.clone().expect("catalog");
    assert!(catalog.stale);
    assert_eq!(
        catalog.models, good_catalog.models,
        "the last good list is kept"
    );
    assert_eq!(
        catalog.fetched_at, good_catalog.fetched_at,
        "fetched_at is the good list's"
    );
    assert!(catalog.last_attempt_at > good_catalog.last_attempt_at);
    assert_eq!(
        catalog.last_error.as_deref(),
        Some("This URL serves a web page, not an OpenAI-compatible API.")
    );
    assert_eq!(
        failed.models, good.models,
        "a failure marks nothing missing"
    );
    assert_eq!(
        failed.updated_at, good.updated_at,
        "a refresh is not an edit"
    );

    // The view carries the summary, not the list.
    let view = serde_json::to_value(ProviderView::from(&failed)).expect("json");
    assert_eq!(view["catalog"]["count"], 2);
    assert_eq!(view["catalog"]["stale"], true);
    assert!(view["catalog"].get("models").is_none());
    assert!(view["catalog"]["fetched_at"].is_string());

    // A success afterwards clears the stale mark and the error.
    let fresh = store
        .record_catalog(ollama, Ok(listed(&["qwen2.5:7b"])))
        .expect("fresh");
    let catalog = fresh.catalog.expect("catalog");
    assert!(!catalog.stale);
    assert_eq!(catalog.last_error, None);
}

#[test]
fn a_first_refresh_that_fails_records_the_reason_without_a_list() {
    let (_dir, _paths, _secrets, store) = setup();
    let added = store.add(local_draft("Ollama")).expect("add");
    let failed = store
        .record_catalog(&added.provider.id, Err("Nothing is listening".to_owned()))
        .expect("record");
    let catalog = failed.catalog.expect("catalog");
    assert_eq!(
        (catalog.fetched_at, catalog.models.len(), catalog.stale),
        (None, 0, true)
    );
}

#[test]
fn catalog_and_proxy_round_trip_through_the_file_and_survive_an_edit() {
    let (_dir, paths, _secrets, store) = setup();
    let mut with_proxy = local_draft("Ollama");
    with_proxy.proxy = Some("http://proxy.corp:3128/".to_owned());
    let added = store.add(with_proxy).expect("add");
    let ollama = added.provider.id.clone();
    assert_eq!(
        added.provider.proxy.as_ref().map(|url| url.as_str()),
        Some("http://proxy.corp:3128/")
    );
    store
        .record_catalog(&ollama, Ok(listed(&["qwen2.5:7b", "phi4"])))
        .expect("good");
    store
        .record_catalog(
            &ollama,
            Err("The provider's server failed (HTTP 502).".to_owned()),
        )
        .expect("bad");

    let on_disk: serde_json::Value =
        serde_json::from_str(&file_text(&paths.file)).expect("json file");
    let record = &on_disk["providers"][0];
    assert_eq!(record["proxy"], "http://proxy.corp:3128");
    assert_eq!(record["catalog"]["stale"], true);
    assert_eq!(record["catalog"]["models"][1]["id"], "phi4");
    assert_eq!(
        record["catalog"]["last_error"],
        "The provider's server failed (HTTP 502)."
    );

    // Another process (a fresh store) reads the same thing back.
    let again = ProviderStore::new(paths.clone(), Arc::new(MemoryStore::new()));
    let reread = again.get(&ollama).expect("get");
    assert_eq!(reread.catalog, store.get(&ollama).expect("get").catalog);
    assert_eq!(reread.proxy, added.provider.proxy);

    // Editing keeps the catalog; an empty proxy removes the proxy.
    let mut edit = local_draft("Ollama");
    edit.proxy = Some(String::new());
    let edited = store.edit(&ollama, edit).expect("edit");
    assert_eq!(edited.provider.proxy, None);
    assert_eq!(edited.provider.catalog, reread.catalog);
    let on_disk: serde_json::Value =
        serde_json::from_str(&file_text(&paths.file)).expect("json file");
    assert!(on_disk["providers"][0].get("proxy").is_none());

    // A hand-edited proxy with credentials is refused on load, not used.
    let text = file_text(&paths.file).replacen(
        "\"auth\"",
        "\"proxy\": \"http://u:p@proxy.corp:1\", \"auth\"",
        1,
    );
    fs::write(&paths.file, text).expect("write");
    let listing = store.list().expect("list");
    assert!(listing.providers.is_empty());
    assert!(
        listing.problems[0].message.contains("proxy"),
        "{}",
        listing.problems[0].message
    );
    assert!(!listing.problems[0].message.contains("u:p@"));
}

#[test]
fn a_proxy_password_lives_in_the_keychain_bound_to_the_proxy_and_goes_with_the_provider() {
    let (_dir, paths, secrets, store) = setup();
    let password = "proxycanary-pass word";
    let saved = store
        .add(draft(json!({
            "label": "Work gateway",
            "base_url": "https://gateway.corp.example/v1",
            "auth": "none",
            "models": ["gpt-4o-mini"],
            "proxy": "http://proxy.corp.example:3128",
            "proxy_username": "alice",
            "proxy_password": {"action": "set", "value": password},
        })))
        .expect("add");
    let provider = saved.provider;
    assert_eq!(provider.proxy_username.as_deref(), Some("alice"));
    let account = patchbay_core::keychain::proxy_account(&provider.id);
    assert_eq!(secrets.accounts(), vec![account.clone()]);
    let stored = secrets.get(&account).expect("read").expect("stored");
    assert!(
        stored
            .expose()
            .starts_with("patchbay-origin http://proxy.corp.example:3128\n"),
        "bound to the proxy's origin"
    );
    assert!(!file_text(&paths.file).contains("proxycanary"));
    assert!(file_text(&paths.file).contains("\"proxy_username\": \"alice\""));
    let view = serde_json::to_value(ProviderView::from(&provider)).expect("json");
    assert!(!view.to_string().contains("proxycanary"));
    let (name, value) = store
        .proxy_credentials(&provider)
        .expect("read")
        .expect("credentials");
    assert_eq!((name.as_str(), value.expose()), ("alice", password));

    // Another proxy host: the kept password does not follow.
    let moved = store.edit(
        &provider.id,
        draft(json!({
            "label": "Work gateway",
            "base_url": "https://gateway.corp.example/v1",
            "auth": "none",
            "models": ["gpt-4o-mini"],
            "proxy": "http://elsewhere.example:3128",
            "proxy_username": "alice",
        })),
    );
    let fields: Vec<String> = moved
        .expect_err("needs the password again")
        .fields()
        .iter()
        .map(|field| field.field.clone())
        .collect();
    assert_eq!(fields, ["proxy_password"]);

    // Clearing the user name deletes the password.
    let cleared = store
        .edit(
            &provider.id,
            draft(json!({
                "label": "Work gateway",
                "base_url": "https://gateway.corp.example/v1",
                "auth": "none",
                "models": ["gpt-4o-mini"],
                "proxy": "http://proxy.corp.example:3128",
                "proxy_password": {"action": "remove"},
            })),
        )
        .expect("cleared");
    assert_eq!(cleared.provider.proxy_username, None);
    assert!(secrets.accounts().is_empty());

    // Removing the provider deletes a stored password too.
    let again = store
        .edit(
            &provider.id,
            draft(json!({
                "label": "Work gateway",
                "base_url": "https://gateway.corp.example/v1",
                "auth": "none",
                "models": ["gpt-4o-mini"],
                "proxy": "http://proxy.corp.example:3128",
                "proxy_username": "bob",
                "proxy_password": {"action": "set", "value": "second"},
            })),
        )
        .expect("set again");
    assert_eq!(secrets.accounts(), vec![account]);
    store.remove(&again.provider.id).expect("remove");
    assert!(secrets.accounts().is_empty());
}
