//! A key goes only where the person sent it: secrets are bound to the
//! origin they were given for, and a base URL on another origin — edited in
//! the form, or by hand in `providers.json` — gets none of them until the
//! person confirms.

use std::sync::Arc;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{MemoryStore, SecretStore};
use patchbay_core::store::{ProviderStore, ProviderView};
use patchbay_core::{ApiKey, Error, Kind, ProviderId};
use patchbay_testkit::Draft;
use serde_json::Value;

use crate::support::temp_paths;

const KEY: &str = "sk-origin-0123456789abcdef";
const HEADER_SECRET: &str = "cf-secret-0123456789";

fn id() -> ProviderId {
    ProviderId::parse("gateway").expect("id")
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
    store
        .add(
            Draft::new("Gateway")
                .key(KEY)
                .header("CF-Access-Client-Secret", HEADER_SECRET, true)
                .parse(),
        )
        .expect("add");
    (dir, paths, secrets, store)
}

/// Changes fields of the one provider in `providers.json`, as a person (or
/// another program) editing the file would.
fn hand_edit(paths: &ConfigPaths, fields: &[(&str, &str)]) {
    let text = std::fs::read_to_string(&paths.file).expect("read config");
    let mut document: Value = serde_json::from_str(&text).expect("json");
    for (field, value) in fields {
        document["providers"][0][*field] = Value::from(*value);
    }
    std::fs::write(
        &paths.file,
        serde_json::to_vec_pretty(&document).expect("json"),
    )
    .expect("write config");
}

fn withheld(result: Result<Option<ApiKey>, Error>) -> String {
    match result {
        Err(error @ Error::KeyWithheld { .. }) => {
            assert_eq!(error.kind(), Kind::KeyWithheld);
            let message = error.to_string();
            assert!(!message.contains(KEY), "{message}");
            message
        }
        other => panic!("expected the key to be withheld, got {other:?}"),
    }
}

/// The key `store` would send to the provider's saved base URL.
fn key_of(store: &ProviderStore) -> Option<String> {
    store
        .api_key(&id())
        .expect("key")
        .map(|key| key.expose().to_owned())
}

fn view(store: &ProviderStore) -> ProviderView {
    ProviderView::from(&store.get(&id()).expect("get"))
}

#[test]
fn secrets_are_stored_with_the_origin_they_were_given_for() {
    let (_dir, paths, secrets, store) = setup();
    let stored = secrets.get("gateway").expect("get").expect("stored");
    assert_eq!(
        stored.expose(),
        format!("patchbay-origin https://api.example.com\n{KEY}")
    );
    let header = secrets
        .get("gateway#header:cf-access-client-secret")
        .expect("get")
        .expect("stored");
    assert!(header
        .expose()
        .starts_with("patchbay-origin https://api.example.com\n"));
    let config = std::fs::read_to_string(&paths.file).expect("config");
    assert!(
        config.contains("\"key_origin\": \"https://api.example.com\""),
        "{config}"
    );
    assert_eq!(key_of(&store), Some(KEY.to_owned()));
    assert_eq!(view(&store).key_withheld, None);
}

#[test]
fn a_hand_edited_base_url_gets_no_secret_until_the_person_confirms() {
    let (_dir, paths, secrets, store) = setup();
    hand_edit(&paths, &[("base_url", "https://collector.example.net/v1")]);

    let message = withheld(store.api_key(&id()));
    assert!(
        message.contains("https://api.example.com")
            && message.contains("https://collector.example.net"),
        "{message}"
    );
    let provider = store.get(&id()).expect("get");
    assert!(matches!(
        store.secret_headers(&provider),
        Err(Error::KeyWithheld { .. })
    ));
    let shown = view(&store)
        .key_withheld
        .expect("the window shows the key withheld");
    assert_eq!(shown.given_for, "https://api.example.com");
    assert_eq!(shown.base_origin, "https://collector.example.net");

    // Editing the display copy too changes nothing: the keychain decides.
    hand_edit(&paths, &[("key_origin", "https://collector.example.net")]);
    assert_eq!(view(&store).key_withheld, None);
    withheld(store.api_key(&id()));

    // The person confirms: every secret goes to the new origin.
    store.move_key(&id()).expect("move");
    assert_eq!(key_of(&store), Some(KEY.to_owned()));
    let provider = store.get(&id()).expect("get");
    assert_eq!(store.secret_headers(&provider).expect("headers").len(), 1);
    assert!(secrets
        .get("gateway")
        .expect("get")
        .expect("stored")
        .expose()
        .starts_with("patchbay-origin https://collector.example.net\n"));
}

#[test]
fn an_edit_to_another_origin_needs_a_confirmation_or_new_secrets() {
    let (_dir, _paths, _secrets, store) = setup();
    let keeping = |url: &str| {
        Draft::new("Gateway")
            .base_url(url)
            .keep_key()
            .kept_secret_header("CF-Access-Client-Secret")
    };
    // Another path on the same origin is no move.
    store
        .edit(&id(), keeping("https://api.example.com/v2").parse())
        .expect("same origin");

    // Another host keeping the stored secrets: refused, naming both
    // origins, and nothing is saved.
    let error = store
        .edit(&id(), keeping("https://other.example.org/v1").parse())
        .expect_err("needs confirmation");
    assert_eq!(error.kind(), Kind::InvalidInput);
    let field = &error.fields()[0];
    assert_eq!(field.field, "move_key");
    assert!(
        field.message.contains("https://api.example.com")
            && field.message.contains("https://other.example.org"),
        "{}",
        field.message
    );
    assert_eq!(store.get(&id()).expect("get").host(), "api.example.com");

    // Another port or scheme is another origin too.
    for draft in [
        keeping("https://api.example.com:8443/v1"),
        keeping("http://127.0.0.1:9/v1").network("local"),
    ] {
        assert!(
            store.edit(&id(), draft.parse()).is_err(),
            "{:?}",
            draft.json()
        );
    }

    // A new key alone is not enough while a secret header is kept.
    let new_key_only = Draft::new("Gateway")
        .base_url("https://other.example.org/v1")
        .key("sk-new-key-0123456789abcd")
        .kept_secret_header("CF-Access-Client-Secret");
    assert!(store.edit(&id(), new_key_only.parse()).is_err());

    // Confirmed: saved, and the kept secrets go there.
    store
        .edit(
            &id(),
            keeping("https://other.example.org/v1").move_key().parse(),
        )
        .expect("confirmed move");
    assert_eq!(key_of(&store), Some(KEY.to_owned()));
    let provider = store.get(&id()).expect("get");
    assert_eq!(store.secret_headers(&provider).expect("headers").len(), 1);

    // New secrets for a new origin need no confirmation.
    store
        .edit(
            &id(),
            Draft::new("Gateway")
                .base_url("https://third.example.org/v1")
                .key("sk-new-key-0123456789abcd")
                .header("CF-Access-Client-Secret", "cf-new-0123456789", true)
                .parse(),
        )
        .expect("new secrets");
    assert_eq!(key_of(&store), Some("sk-new-key-0123456789abcd".to_owned()));
}

#[test]
fn a_key_stored_before_origins_were_kept_is_bound_to_the_saved_base_url() {
    let (_dir, paths, secrets, _store) = setup();
    secrets.set("gateway", &ApiKey::new(KEY)).expect("old form");
    // A fresh process (no cache) reads it: bound to the saved URL, rewritten.
    let fresh = ProviderStore::new(paths.clone(), secrets.clone());
    assert_eq!(key_of(&fresh), Some(KEY.to_owned()));
    assert_eq!(
        secrets
            .get("gateway")
            .expect("get")
            .expect("stored")
            .expose(),
        format!("patchbay-origin https://api.example.com\n{KEY}")
    );
    hand_edit(&paths, &[("base_url", "https://collector.example.net/v1")]);
    withheld(ProviderStore::new(paths, secrets).api_key(&id()));
}
