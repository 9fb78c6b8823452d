//! The Windows Credential Manager store, run for real under Wine in CI
//! (`scripts/test.sh`): Wine implements `CredWriteW`/`CredReadW`/
//! `CredDeleteW` for generic credentials, so set, get, replace and delete go
//! through the very code path Windows users get. A child process (this
//! binary again) reads what the parent wrote, so the items live in the
//! credential store, not in this process. Locked or unavailable states
//! cannot be produced under Wine and are not tested here.

use std::sync::Arc;

use patchbay_core::keychain::{key_account, KeyringStore, SecretStore};
use patchbay_core::store::ProviderStore;
use patchbay_core::{ApiKey, ProviderId};

use crate::support::{child, contains_any_part, file_text, key_draft, temp_paths, unique};

const SERVICE_ENV: &str = "PATCHBAY_TEST_WINDOWS_SERVICE";
const ACCOUNT_ENV: &str = "PATCHBAY_TEST_WINDOWS_ACCOUNT";
const EXPECT_ENV: &str = "PATCHBAY_TEST_WINDOWS_EXPECT";

#[test]
fn set_get_replace_and_delete_in_the_credential_manager() {
    let service = unique("patchbay-test-win");
    let store = KeyringStore::with_service(&service);
    let account = "openai#key";
    assert!(store.get(account).expect("get before set").is_none());

    store
        .set(account, &ApiKey::new("sk-first-0123456789"))
        .expect("set");
    let read = store.get(account).expect("get").expect("stored");
    assert_eq!(read.expose(), "sk-first-0123456789");

    store
        .set(account, &ApiKey::new("sk-second-9876543210"))
        .expect("replace");
    let read = store.get(account).expect("get").expect("stored");
    assert_eq!(read.expose(), "sk-second-9876543210");

    // Another process sees the replaced value: it lives in Credential Manager.
    let output = child("keychain_windows::child_reads_the_credential")
        .env(SERVICE_ENV, &service)
        .env(ACCOUNT_ENV, account)
        .env(EXPECT_ENV, "sk-second-9876543210")
        .output()
        .expect("run the child");
    assert!(output.status.success(), "child: {output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{output:?}"
    );

    store.delete(account).expect("delete");
    assert!(store.get(account).expect("get after delete").is_none());
    // Deleting what is gone is not an error.
    store.delete(account).expect("delete again");
}

/// Runs only as the child of the test above (it sets the variables).
#[test]
fn child_reads_the_credential() {
    let (Ok(service), Ok(account), Ok(expected)) = (
        std::env::var(SERVICE_ENV),
        std::env::var(ACCOUNT_ENV),
        std::env::var(EXPECT_ENV),
    ) else {
        return;
    };
    let read = KeyringStore::with_service(&service)
        .get(&account)
        .expect("get in the child")
        .expect("the parent's credential");
    assert_eq!(read.expose(), expected);
}

#[test]
fn a_provider_key_goes_to_the_credential_manager_and_never_into_the_config() {
    let service = unique("patchbay-test-win-store");
    let secrets = Arc::new(KeyringStore::with_service(&service));
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths.clone(), Arc::clone(&secrets) as Arc<dyn SecretStore>);
    let key = format!("sk-canary-{}", unique("w").replace('-', ""));
    store.add(key_draft("OpenAI", &key)).expect("add");
    let id = ProviderId::parse("openai").expect("id");

    let config = file_text(&paths.file);
    assert!(!config.is_empty(), "the config was written");
    assert!(
        !contains_any_part(&config, &key),
        "no byte of the key in the config"
    );
    let stored = secrets
        .get(&key_account(&id))
        .expect("read the item")
        .expect("the key is in Credential Manager");
    assert!(stored.expose().ends_with(&key), "the item holds the key");
    assert_eq!(
        store
            .api_key(&id)
            .expect("api key")
            .map(|k| k.expose().to_owned()),
        Some(key.clone())
    );

    store.remove(&id).expect("remove");
    assert!(
        secrets.get(&key_account(&id)).expect("read").is_none(),
        "removing the provider deletes its item"
    );
}
