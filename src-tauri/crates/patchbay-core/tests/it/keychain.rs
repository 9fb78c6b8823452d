//! Against a REAL Secret Service: run this binary inside `dbus-run-session`
//! with an unlocked gnome-keyring (see docs/config.md). Each test uses its
//! own keychain service name, so tests are independent of each other and of
//! a person's real `patchbay` items. Items are checked with `secret-tool`,
//! not only through our own code.

use std::os::unix::net::UnixListener;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::{KeyringStore, SecretStore};
use patchbay_core::store::ProviderStore;
use patchbay_core::{ApiKey, Kind, ProviderId};
use serde_json::json;

use crate::support::{child, contains_any_part, draft, file_text, key_draft, temp_paths, unique};

fn keyring(service: &str) -> Arc<KeyringStore> {
    Arc::new(KeyringStore::with_service(service))
}

/// What `secret-tool lookup service S username ACCOUNT` prints (the secret),
/// or `None` when there is no such item.
fn lookup(service: &str, account: &str) -> Option<String> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("run secret-tool (package libsecret-tools)");
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The secret stored at `account`, after its origin line (which every
/// item Patchbay writes starts with), or `None` when there is no such item.
fn key_in(service: &str, account: &str) -> Option<String> {
    let stored = lookup(service, account)?;
    let (origin, key) = stored
        .strip_prefix("patchbay-origin ")
        .and_then(|rest| rest.split_once('\n'))
        .unwrap_or_else(|| panic!("{account}: no origin line in the stored item"));
    assert!(
        origin.starts_with("https://"),
        "{account}: origin {origin:?}"
    );
    Some(key.to_owned())
}

/// Everything `secret-tool search --all service S` reports.
fn search(service: &str) -> String {
    let output = Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .expect("run secret-tool");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn id(value: &str) -> ProviderId {
    ProviderId::parse(value).expect("id")
}

fn canary() -> String {
    format!("sk-canary-{}", unique("k").replace('-', ""))
}

#[test]
fn add_puts_the_key_in_the_keychain_and_no_byte_of_it_in_the_config() {
    let service = unique("patchbay-test-add");
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths.clone(), keyring(&service));
    let key = canary();
    let saved = store.add(key_draft("OpenAI", &key)).expect("add");
    assert_eq!(saved.provider.id.as_str(), "openai");
    assert_eq!(key_in(&service, "openai").as_deref(), Some(key.as_str()));
    let listing = search(&service);
    assert!(
        listing.contains("attribute.service = ") && listing.contains(&service),
        "{listing}"
    );
    assert!(listing.contains("attribute.username = openai"), "{listing}");
    // What docs/config.md documents: the label and the two attributes.
    assert!(
        listing.contains(&format!("label = keyring:openai@{service}")),
        "{listing}"
    );

    let config = file_text(&paths.file);
    assert!(config.contains("\"key_hint\""), "{config}");
    assert!(
        !contains_any_part(&config, &key),
        "the config file holds part of the key:\n{config}"
    );
    // Nothing else in the config directory holds it either.
    for entry in std::fs::read_dir(&paths.dir).expect("read dir") {
        let path = entry.expect("entry").path();
        assert!(
            !contains_any_part(&file_text(&path), &key),
            "{} holds the key",
            path.display()
        );
    }
    // A fresh process (a new store) reads it back from the keychain.
    let fresh = ProviderStore::new(paths, keyring(&service));
    assert_eq!(
        fresh
            .api_key(&id("openai"))
            .expect("api_key")
            .map(|key| key.expose().to_owned()),
        Some(key)
    );
    store.remove(&id("openai")).expect("clean up");
}

#[test]
fn replacing_the_key_replaces_the_item() {
    let service = unique("patchbay-test-replace");
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths.clone(), keyring(&service));
    let first = canary();
    store.add(key_draft("Groq", &first)).expect("add");
    assert_eq!(
        store
            .api_key(&id("groq"))
            .expect("read")
            .map(|key| key.expose().to_owned()),
        Some(first.clone())
    );

    let second = canary();
    let saved = store
        .set_key(&id("groq"), ApiKey::new(format!("{second}\n")))
        .expect("set key");
    assert_eq!(
        saved.notices.len(),
        1,
        "the trailing newline is trimmed with a notice"
    );
    assert_eq!(key_in(&service, "groq").as_deref(), Some(second.as_str()));
    // The cache was invalidated by our own change.
    assert_eq!(
        store
            .api_key(&id("groq"))
            .expect("read")
            .map(|key| key.expose().to_owned()),
        Some(second.clone())
    );
    assert_eq!(
        saved.provider.key_hint,
        Some(ApiKey::new(second.clone()).hint())
    );

    // Replacing through the edit form works the same way.
    let third = canary();
    let mut edit = key_draft("Groq", &third);
    edit.label = "Groq Cloud".to_owned();
    let edited = store.edit(&id("groq"), edit).expect("edit");
    assert_eq!(edited.provider.id.as_str(), "groq", "the id never changes");
    assert_eq!(key_in(&service, "groq").as_deref(), Some(third.as_str()));
    let config = file_text(&paths.file);
    for key in [&first, &second, &third] {
        assert!(!contains_any_part(&config, key));
    }
    store.remove(&id("groq")).expect("clean up");
}

#[test]
fn removing_the_key_deletes_the_item() {
    let service = unique("patchbay-test-remove-key");
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths, keyring(&service));
    store.add(key_draft("Mistral", &canary())).expect("add");
    assert!(lookup(&service, "mistral").is_some());
    let provider = store.remove_key(&id("mistral")).expect("remove key");
    assert_eq!(provider.key_hint, None);
    assert_eq!(lookup(&service, "mistral"), None);
    assert_eq!(store.api_key(&id("mistral")).expect("read"), None);
    // The provider itself stays.
    assert_eq!(store.list().expect("list").providers.len(), 1);
    store.remove(&id("mistral")).expect("clean up");
}

#[test]
fn deleting_a_provider_deletes_its_key_and_secret_header_items() {
    let service = unique("patchbay-test-delete");
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths.clone(), keyring(&service));
    let key = canary();
    let header_secret = canary();
    store
        .add(draft(json!({
            "label": "Gateway",
            "base_url": "https://gateway.example.com/v1/acct/gw/openai",
            "auth": "api_key",
            "key": {"action": "set", "value": key},
            "models": ["gpt-4o"],
            "headers": [
                {"name": "CF-Access-Client-Secret", "value": header_secret, "secret": true},
                {"name": "HTTP-Referer", "value": "https://example.org", "secret": false},
            ],
        })))
        .expect("add");
    assert_eq!(key_in(&service, "gateway").as_deref(), Some(key.as_str()));
    assert_eq!(
        key_in(&service, "gateway#header:cf-access-client-secret").as_deref(),
        Some(header_secret.as_str())
    );
    assert!(!contains_any_part(&file_text(&paths.file), &header_secret));
    let provider = store.get(&id("gateway")).expect("get");
    let headers = store.secret_headers(&provider).expect("headers");
    let values: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose()))
        .collect();
    assert_eq!(
        values,
        [
            ("CF-Access-Client-Secret", header_secret.as_str()),
            ("HTTP-Referer", "https://example.org")
        ]
    );

    store.remove(&id("gateway")).expect("remove");
    assert_eq!(lookup(&service, "gateway"), None);
    assert_eq!(
        lookup(&service, "gateway#header:cf-access-client-secret"),
        None
    );
    assert!(
        !search(&service).contains("attribute.username"),
        "{}",
        search(&service)
    );
    assert!(store.list().expect("list").providers.is_empty());
}

#[test]
fn two_providers_with_the_same_base_url_keep_separate_keys() {
    let service = unique("patchbay-test-same-url");
    let (_dir, paths) = temp_paths();
    let store = ProviderStore::new(paths.clone(), keyring(&service));
    let (work, personal) = (canary(), canary());
    store
        .add(key_draft("OpenAI work", &work))
        .expect("add work");
    store
        .add(key_draft("OpenAI personal", &personal))
        .expect("add personal");
    assert_eq!(
        key_in(&service, "openai-work").as_deref(),
        Some(work.as_str())
    );
    assert_eq!(
        key_in(&service, "openai-personal").as_deref(),
        Some(personal.as_str())
    );
    let fresh = ProviderStore::new(paths, keyring(&service));
    let read = |value: &str| {
        fresh
            .api_key(&id(value))
            .expect("read")
            .map(|key| key.expose().to_owned())
    };
    assert_eq!(read("openai-work"), Some(work));
    assert_eq!(read("openai-personal"), Some(personal));
    store.remove(&id("openai-work")).expect("clean up");
    // Deleting one leaves the other.
    assert!(lookup(&service, "openai-personal").is_some());
    store.remove(&id("openai-personal")).expect("clean up");
}

#[test]
fn keyring_store_get_and_delete_of_a_missing_item() {
    let service = unique("patchbay-test-missing");
    let store = KeyringStore::with_service(&service);
    assert_eq!(store.get("nobody").expect("get"), None);
    store
        .delete("nobody")
        .expect("deleting a missing item is fine");
    store.set("somebody", &ApiKey::new("value-1")).expect("set");
    store
        .set("somebody", &ApiKey::new("value-2"))
        .expect("replace");
    assert_eq!(
        store
            .get("somebody")
            .expect("get")
            .map(|key| key.expose().to_owned()),
        Some("value-2".to_owned())
    );
    assert_eq!(
        search(&service)
            .matches("attribute.username = somebody")
            .count(),
        1,
        "replaced, not duplicated"
    );
    store.delete("somebody").expect("delete");
    assert_eq!(lookup(&service, "somebody"), None);
}

/// Child role: which scenario to run, set by the parent test.
const CHILD_MODE: &str = "PATCHBAY_TEST_KEYCHAIN_CHILD";

/// With no reachable Secret Service: a clear, actionable error and nothing
/// saved. The bus address is read when connecting, so the scenario runs in
/// a child process with a bogus `DBUS_SESSION_BUS_ADDRESS`.
#[test]
fn keychain_unavailable_is_a_clear_error_and_nothing_is_saved() {
    if std::env::var(CHILD_MODE).as_deref() == Ok("unavailable") {
        let dir = std::env::var("PATCHBAY_TEST_CONFIG_DIR").expect("config dir");
        let paths = ConfigPaths::in_dir(dir);
        let service = unique("patchbay-test-unavailable");
        let store = ProviderStore::new(paths.clone(), keyring(&service));
        let error = store
            .add(key_draft("OpenAI", "sk-unavailable-0123456789"))
            .expect_err("no keychain");
        assert_eq!(error.kind(), Kind::KeychainUnavailable, "{error}");
        let message = error.to_string();
        assert!(
            message.contains("No keychain service is running: install and unlock GNOME Keyring or KeePassXC's Secret Service integration, then try again"),
            "{message}"
        );
        assert!(!message.contains("sk-unavailable"));
        assert!(
            store.list().expect("list").providers.is_empty(),
            "nothing saved"
        );
        assert!(!file_text(&paths.file).contains("openai"));
        // A provider without a key needs no keychain and still saves.
        store
            .add(crate::support::local_draft("Ollama"))
            .expect("no-auth add works without a keychain");
        println!("CHILD-OK unavailable");
        return;
    }
    let (_dir, paths) = temp_paths();
    let output = child("keychain::keychain_unavailable_is_a_clear_error_and_nothing_is_saved")
        .env(CHILD_MODE, "unavailable")
        .env("PATCHBAY_TEST_CONFIG_DIR", &paths.dir)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/patchbay-test-bus",
        )
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK unavailable"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listing = ProviderStore::new(paths, Arc::new(KeyringStore::with_service("unused")))
        .list()
        .expect("list");
    let ids: Vec<&str> = listing
        .providers
        .iter()
        .map(|provider| provider.id.as_str())
        .collect();
    assert_eq!(ids, ["ollama"]);
}

/// A Secret Service that accepts the connection and never answers must not
/// freeze the caller: the call fails with `keychain_timeout` in time.
#[test]
fn a_hung_keychain_times_out() {
    if std::env::var(CHILD_MODE).as_deref() == Ok("hung") {
        let store = KeyringStore::with_service(unique("patchbay-test-hung"))
            .with_timeout(Duration::from_millis(800));
        let started = Instant::now();
        let error = store.get("anything").expect_err("hung bus");
        assert_eq!(error.kind(), Kind::KeychainTimeout, "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        println!("CHILD-OK hung");
        // The helper thread is still stuck on the silent bus; exit without
        // waiting for it.
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("silent-bus");
    let listener = UnixListener::bind(&socket).expect("bind");
    // Accept connections and keep them open without ever answering.
    let accepted = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    let output = child("keychain::a_hung_keychain_times_out")
        .env(CHILD_MODE, "hung")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", socket.display()),
        )
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK hung"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(accepted);
}

/// A locked collection whose unlock prompt cannot be shown (or is
/// dismissed) is `keychain_locked`, with the message telling the person to
/// unlock it. Runs in a child with its own D-Bus session and gnome-keyring,
/// because locking the collection would disturb the other tests.
#[test]
fn a_locked_keychain_is_reported_as_locked() {
    if std::env::var(CHILD_MODE).as_deref() == Ok("locked") {
        let store = KeyringStore::with_service(unique("patchbay-test-locked"))
            .with_timeout(Duration::from_secs(10));
        store
            .set("provider", &ApiKey::new("sk-locked-0123456789"))
            .expect("set while unlocked");
        let status = Command::new("busctl")
            .args([
                "--user",
                "call",
                "org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service",
                "Lock",
                "ao",
                "1",
                "/org/freedesktop/secrets/collection/login",
            ])
            .status()
            .expect("busctl");
        assert!(status.success(), "could not lock the collection");
        let error = store.get("provider").expect_err("locked");
        assert_eq!(error.kind(), Kind::KeychainLocked, "{error}");
        assert!(
            error.to_string().contains("unlock your login keyring"),
            "{error}"
        );
        assert!(!error.to_string().contains("sk-locked"));
        println!("CHILD-OK locked");
        return;
    }
    // The child gets a keyring of its own: its own data dir (the keyring
    // file), runtime dir (the daemon's control socket) and no display, so
    // it never opens the parent's keyring or shows an unlock prompt.
    let home = tempfile::tempdir().expect("home");
    let runtime = tempfile::tempdir().expect("runtime dir");
    let exe = std::env::current_exe().expect("exe");
    let output = Command::new("dbus-run-session")
        .args([
            "--",
            "sh",
            "-c",
            "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec \"$0\" \"$@\"",
        ])
        .arg(exe)
        .args([
            "keychain::a_locked_keychain_is_reported_as_locked",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env(CHILD_MODE, "locked")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run dbus-run-session (package dbus)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK locked"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
