//! The shared config file: round trips, problems kept, corrupt files moved
//! aside, newer versions untouched, concurrent writers (threads and
//! processes), a writer killed mid-save, and the watcher.

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use patchbay_core::config::{self, ConfigPaths};
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::{Kind, ProviderId};
use patchbay_protocol::config::read_document;
use serde_json::{json, Value};

use crate::support::{child, key_draft, local_draft, temp_paths};

fn memory_store(paths: &ConfigPaths) -> ProviderStore {
    ProviderStore::new(paths.clone(), Arc::new(MemoryStore::new()))
}

fn record(id: &str) -> Value {
    json!({
        "id": id, "label": id.to_uppercase(), "base_url": "https://api.example.com/v1",
        "auth": "none", "models": [{"id": "m1"}], "enabled": true, "network": "remote",
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
}

fn write_json(paths: &ConfigPaths, value: &Value) {
    fs::create_dir_all(&paths.dir).expect("dir");
    fs::write(&paths.file, serde_json::to_vec_pretty(value).expect("json")).expect("write");
}

fn read_json(paths: &ConfigPaths) -> Value {
    serde_json::from_slice(&fs::read(&paths.file).expect("read")).expect("json")
}

#[test]
fn a_missing_file_is_an_empty_list() {
    let (_dir, paths) = temp_paths();
    let listing = memory_store(&paths).list().expect("list");
    assert!(
        listing.providers.is_empty() && listing.problems.is_empty() && listing.notice.is_none()
    );
    assert!(!paths.file.exists(), "listing never creates the file");
}

#[test]
fn unknown_fields_survive_a_write_at_both_levels() {
    let (_dir, paths) = temp_paths();
    let mut first = record("alpha");
    first["from_the_future"] = json!({"keep": [1, 2]});
    write_json(
        &paths,
        &json!({"version": 1, "providers": [first], "top_level_future": "yes"}),
    );
    let store = memory_store(&paths);
    store
        .set_enabled(&ProviderId::parse("alpha").expect("id"), false)
        .expect("disable");
    store.add(local_draft("Ollama")).expect("add");
    let written = read_json(&paths);
    assert_eq!(written["top_level_future"], "yes");
    assert_eq!(
        written["providers"][0]["from_the_future"],
        json!({"keep": [1, 2]})
    );
    assert_eq!(written["providers"][0]["enabled"], false);
    assert_eq!(written["providers"][1]["id"], "ollama");
    assert_eq!(written["version"], 1);
}

#[test]
fn a_hand_edited_forbidden_url_or_an_endless_timeout_is_not_loaded() {
    let (_dir, paths) = temp_paths();
    let mut metadata = record("metadata");
    metadata["base_url"] = json!("https://169.254.169.254/v1");
    let mut lan = record("lan");
    lan["base_url"] = json!("http://192.168.1.20:8000/v1");
    lan["network"] = json!("local");
    let mut endless = record("endless");
    endless["timeout_secs"] = json!(4_294_967_295_u64);
    write_json(
        &paths,
        &json!({"version": 1, "providers": [record("good"), metadata, lan, endless]}),
    );
    let listing = memory_store(&paths).list().expect("list");
    let ids: Vec<&str> = listing
        .providers
        .iter()
        .map(|provider| provider.id.as_str())
        .collect();
    assert_eq!(ids, ["good"], "{:?}", listing.problems);
    let messages: Vec<&str> = listing
        .problems
        .iter()
        .map(|problem| problem.message.as_str())
        .collect();
    assert!(
        messages[0].contains("base_url") && messages[0].contains("metadata"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("base_url") && messages[1].contains("Private"),
        "{messages:?}"
    );
    assert!(
        messages[2].contains("timeout_secs") && messages[2].contains("1–600"),
        "{messages:?}"
    );
}

#[test]
fn invalid_entries_are_reported_and_kept_on_later_writes() {
    let (_dir, paths) = temp_paths();
    let mut bad_url = record("bad-url");
    bad_url["base_url"] = json!("ftp://files.example.com");
    let mut wrong_shape = record("wrong-shape");
    wrong_shape["models"] = json!("m1");
    let mut no_models = record("no-models");
    no_models["models"] = json!([]);
    write_json(
        &paths,
        &json!({"version": 1, "providers": [record("good"), bad_url, wrong_shape, no_models]}),
    );
    let store = memory_store(&paths);
    let listing = store.list().expect("list");
    let ids: Vec<&str> = listing
        .providers
        .iter()
        .map(|provider| provider.id.as_str())
        .collect();
    assert_eq!(ids, ["good"]);
    let problems: Vec<(usize, Option<&str>)> = listing
        .problems
        .iter()
        .map(|problem| (problem.index, problem.id.as_deref()))
        .collect();
    assert_eq!(
        problems,
        [
            (1, Some("bad-url")),
            (2, Some("wrong-shape")),
            (3, Some("no-models"))
        ]
    );
    assert!(
        listing.problems[0].message.contains("base_url"),
        "{}",
        listing.problems[0].message
    );

    // A write through the store keeps every one of them, in place.
    store.add(local_draft("Added")).expect("add");
    let written = read_json(&paths);
    let written_ids: Vec<&str> = written["providers"]
        .as_array()
        .expect("array")
        .iter()
        .map(|entry| entry["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        written_ids,
        ["good", "bad-url", "wrong-shape", "no-models", "added"]
    );
    assert_eq!(written["providers"][2]["models"], "m1");
    // The taken ids of broken entries are not reused.
    let saved = store.add(local_draft("Bad URL")).expect("add");
    assert_eq!(saved.provider.id.as_str(), "bad-url-2");
}

#[test]
fn a_corrupt_file_is_moved_aside_and_reported() {
    let (_dir, paths) = temp_paths();
    fs::create_dir_all(&paths.dir).expect("dir");
    let garbage = b"{\"version\": 1, \"providers\": [ {\"id\": \"half";
    fs::write(&paths.file, garbage).expect("write");
    let store = memory_store(&paths);
    let listing = store.list().expect("the app still opens");
    assert!(listing.providers.is_empty());
    let notice = listing.notice.expect("the person is told");
    assert!(notice.contains("moved aside"), "{notice}");
    let moved: Vec<_> = fs::read_dir(&paths.dir)
        .expect("read dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("providers.json.corrupt-"))
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        notice.contains(&moved[0].display().to_string()),
        "the notice names where: {notice}"
    );
    assert_eq!(
        fs::read(&moved[0]).expect("read moved"),
        garbage,
        "kept byte-for-byte"
    );
    assert!(!paths.file.exists());

    // Through load() directly it is a ConfigCorrupt error.
    fs::write(&paths.file, b"not json").expect("write");
    let error = config::load(&paths).expect_err("corrupt");
    assert_eq!(error.kind(), Kind::ConfigCorrupt);
    // And a write after that starts from an empty file.
    store.add(local_draft("Fresh")).expect("add after corrupt");
    assert_eq!(store.list().expect("list").providers.len(), 1);
}

#[test]
fn a_newer_version_is_left_untouched_and_never_written() {
    let (_dir, paths) = temp_paths();
    let future = json!({"version": 2, "providers": {"totally": "different"}});
    write_json(&paths, &future);
    let before = fs::read(&paths.file).expect("read");
    let store = memory_store(&paths);
    let error = store.list().expect_err("newer");
    assert_eq!(error.kind(), Kind::ConfigVersion);
    assert!(error.to_string().contains("newer"), "{error}");
    let error = store.add(local_draft("X")).expect_err("no write");
    assert_eq!(error.kind(), Kind::ConfigVersion);
    assert_eq!(fs::read(&paths.file).expect("read"), before);
    let entries: Vec<_> = fs::read_dir(&paths.dir)
        .expect("dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name())
        .collect();
    assert!(
        entries
            .iter()
            .all(|name| !name.to_string_lossy().contains("corrupt")),
        "{entries:?}"
    );
}

#[test]
fn the_lock_is_exclusive_and_bounded() {
    let (_dir, paths) = temp_paths();
    let (held, release) = (mpsc::channel::<()>(), mpsc::channel::<()>());
    let lock = paths.lock.clone();
    let holder = std::thread::spawn(move || {
        config::with_lock(&lock, || {
            held.0.send(()).expect("signal");
            release.1.recv().expect("wait");
            Ok(())
        })
    });
    held.1.recv().expect("held");
    let started = Instant::now();
    let error = config::with_lock_waiting(&paths.lock, Duration::from_millis(300), || Ok(()))
        .expect_err("busy");
    assert_eq!(error.kind(), Kind::ConfigBusy);
    assert!(started.elapsed() >= Duration::from_millis(300));
    release.0.send(()).expect("release");
    holder.join().expect("join").expect("holder");
    config::with_lock_waiting(&paths.lock, Duration::from_millis(300), || Ok(()))
        .expect("free again");
}

const WRITER_DIR: &str = "PATCHBAY_TEST_WRITER_DIR";
const WRITER_PREFIX: &str = "PATCHBAY_TEST_WRITER_PREFIX";
const WRITER_COUNT: &str = "PATCHBAY_TEST_WRITER_COUNT";

/// The app (two threads) and another process (the CLI's role) add
/// providers at the same time through `ProviderStore`: nothing is lost.
#[test]
fn concurrent_writers_in_threads_and_processes_lose_nothing() {
    if let Ok(dir) = std::env::var(WRITER_DIR) {
        // Child role: add COUNT providers labelled PREFIX-i.
        let prefix = std::env::var(WRITER_PREFIX).expect("prefix");
        let count: usize = std::env::var(WRITER_COUNT)
            .expect("count")
            .parse()
            .expect("number");
        let store = memory_store(&ConfigPaths::in_dir(dir));
        for index in 0..count {
            store
                .add(local_draft(&format!("{prefix} {index}")))
                .expect("child add");
        }
        return;
    }
    const PER_WRITER: usize = 12;
    let (_dir, paths) = temp_paths();
    let process = child("config::concurrent_writers_in_threads_and_processes_lose_nothing")
        .stdout(std::process::Stdio::null())
        .env(WRITER_DIR, &paths.dir)
        .env(WRITER_PREFIX, "process")
        .env(WRITER_COUNT, PER_WRITER.to_string())
        .spawn()
        .expect("spawn writer process");
    let threads: Vec<_> = ["thread a", "thread b"]
        .into_iter()
        .map(|prefix| {
            let store = memory_store(&paths);
            std::thread::spawn(move || {
                for index in 0..PER_WRITER {
                    store
                        .add(local_draft(&format!("{prefix} {index}")))
                        .expect("thread add");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("writer thread");
    }
    let status = process.wait_with_output().expect("wait").status;
    assert!(status.success(), "writer process failed");
    let listing = memory_store(&paths).list().expect("list");
    assert!(listing.problems.is_empty());
    let mut labels: Vec<String> = listing
        .providers
        .iter()
        .map(|provider| provider.label.clone())
        .collect();
    labels.sort();
    let mut expected: Vec<String> = ["process", "thread a", "thread b"]
        .iter()
        .flat_map(|prefix| (0..PER_WRITER).map(move |index| format!("{prefix} {index}")))
        .collect();
    expected.sort();
    assert_eq!(labels, expected);
}

const KILL_DIR: &str = "PATCHBAY_TEST_KILL_DIR";

/// A writer SIGKILLed at random moments while saving leaves the old file or
/// the new one, never a torn one.
#[test]
fn a_writer_killed_mid_save_never_leaves_a_torn_file() {
    if let Ok(dir) = std::env::var(KILL_DIR) {
        // Child role: save a large document forever (until killed), the
        // way `config::update` saves, while holding the lock. The two
        // versions differ in size, so a torn write could not go unnoticed.
        let paths = ConfigPaths::in_dir(dir);
        let versions: Vec<Vec<u8>> = [("a", 4 * 1024 * 1024), ("b", 3 * 1024 * 1024)]
            .iter()
            .map(|(tag, size)| {
                let providers: Vec<Value> =
                    (0..400).map(|index| record(&format!("p{index}"))).collect();
                let padding = tag.repeat(*size);
                serde_json::to_vec(
                    &json!({"version": 1, "providers": providers, "padding": padding}),
                )
                .expect("json")
            })
            .collect();
        let mut round: usize = 0;
        loop {
            config::with_lock(&paths.lock, || {
                config::write_atomic(&paths.file, &versions[round % 2]).map_err(|source| {
                    patchbay_core::Error::ConfigIo {
                        action: "write",
                        path: paths.file.clone(),
                        source,
                    }
                })
            })
            .expect("save");
            println!("written {round}");
            round += 1;
        }
    }
    let (_dir, paths) = temp_paths();
    let mut kills_mid_run = 0;
    for attempt in 0..20 {
        let mut writer = child("config::a_writer_killed_mid_save_never_leaves_a_torn_file")
            .env(KILL_DIR, &paths.dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn writer");
        // Wait for the writer's first completed write, then kill it at a
        // random moment of the following ones.
        let stdout = writer.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let first = lines.find(|line| line.as_ref().is_ok_and(|line| line.starts_with("written")));
        assert!(first.is_some(), "attempt {attempt}: the writer never wrote");
        std::thread::sleep(Duration::from_millis(crate::support::jitter(60)));
        if writer.try_wait().expect("try_wait").is_none() {
            kills_mid_run += 1;
        }
        writer.kill().expect("SIGKILL");
        writer.wait().expect("reap");
        drop(lines);
        let bytes = fs::read(&paths.file).expect("read");
        let document = read_document(&bytes).unwrap_or_else(|error| {
            panic!(
                "attempt {attempt}: torn file ({error}), {} bytes",
                bytes.len()
            )
        });
        assert_eq!(document.providers.len(), 400, "attempt {attempt}");
        // The dead writer's lock was released by the kernel.
        config::with_lock_waiting(&paths.lock, Duration::from_secs(2), || Ok(()))
            .expect("lock released");
    }
    assert!(
        kills_mid_run >= 15,
        "the writer must be killed while running ({kills_mid_run})"
    );
    // Left-over temp files do not confuse readers, and the next write
    // (which holds the lock, so no temp file can be live) removes them.
    let store = memory_store(&paths);
    assert_eq!(store.list().expect("list").providers.len(), 400);
    store.add(local_draft("After the kills")).expect("add");
    let temp_files: Vec<_> = fs::read_dir(&paths.dir)
        .expect("dir")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(temp_files.is_empty(), "{temp_files:?}");
}

#[test]
fn watch_fires_on_an_external_write() {
    let (_dir, paths) = temp_paths();
    let (sender, receiver) = mpsc::channel();
    let watcher = config::watch(&paths, move || {
        if sender.send(()).is_err() {
            // The test already finished.
        }
    })
    .expect("watch");
    // A hand edit (plain write) is seen.
    write_json(
        &paths,
        &json!({"version": 1, "providers": [record("hand")]}),
    );
    receiver
        .recv_timeout(Duration::from_secs(5))
        .expect("fired on a plain write");
    // A burst of writes is debounced into few callbacks, then quiet.
    while receiver.recv_timeout(Duration::from_millis(400)).is_ok() {}
    // An atomic replace by another writer (the CLI) is seen too.
    memory_store(&paths)
        .add(local_draft("From the CLI"))
        .expect("add");
    receiver
        .recv_timeout(Duration::from_secs(5))
        .expect("fired on an atomic replace");
    while receiver.recv_timeout(Duration::from_millis(400)).is_ok() {}
    // Other files in the directory are ignored.
    fs::write(paths.dir.join("unrelated.txt"), b"x").expect("write");
    assert!(
        receiver.recv_timeout(Duration::from_millis(600)).is_err(),
        "unrelated file fired"
    );
    // Dropping the watcher stops it.
    drop(watcher);
    std::thread::sleep(Duration::from_millis(100));
    write_json(&paths, &json!({"version": 1, "providers": []}));
    assert!(
        receiver.recv_timeout(Duration::from_millis(600)).is_err(),
        "fired after drop"
    );
}

#[test]
fn the_polling_fallback_fires_on_a_change() {
    let (_dir, paths) = temp_paths();
    let fired = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fired);
    let watcher = config::watch_by_polling(&paths, move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .expect("poll");
    assert!(watcher.polling);
    std::thread::sleep(Duration::from_millis(200));
    write_json(
        &paths,
        &json!({"version": 1, "providers": [record("polled")]}),
    );
    let deadline = Instant::now() + Duration::from_secs(4);
    while fired.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(fired.load(Ordering::SeqCst) >= 1);
}

#[cfg(unix)]
#[test]
fn write_atomic_replaces_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nested").join("hosts.json");
    config::write_atomic(&path, b"one").expect("create");
    assert_eq!(fs::read(&path).expect("read"), b"one");
    assert_eq!(
        fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600,
        "new files are private"
    );
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
    config::write_atomic(&path, b"two").expect("replace");
    assert_eq!(fs::read(&path).expect("read"), b"two");
    assert_eq!(
        fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o644
    );
    let leftovers: Vec<_> = fs::read_dir(path.parent().expect("parent"))
        .expect("dir")
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left behind");
}

/// `from_env` honours `PATCHBAY_CONFIG_DIR`. Checked in a child process
/// given the variable, because changing the environment of this
/// multi-threaded test process could race other tests reading it.
#[test]
fn paths_from_env_honour_the_override() {
    if let Ok(expected) = std::env::var("PATCHBAY_TEST_EXPECT_CONFIG_DIR") {
        let paths = ConfigPaths::from_env().expect("paths");
        let expected = std::path::PathBuf::from(expected);
        assert_eq!(paths.dir, expected);
        assert_eq!(paths.file, expected.join("providers.json"));
        assert_eq!(paths.lock, expected.join("providers.json.lock"));
        println!("CHILD-OK paths");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let output = child("config::paths_from_env_honour_the_override")
        .env("PATCHBAY_CONFIG_DIR", dir.path())
        .env("PATCHBAY_TEST_EXPECT_CONFIG_DIR", dir.path())
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK paths"),
        "{stdout}"
    );
}

#[test]
fn key_drafts_fail_validation_without_touching_the_file() {
    let (_dir, paths) = temp_paths();
    let store = memory_store(&paths);
    let mut draft = key_draft("Bad", "sk-valid-key-123456");
    draft.base_url = "http://api.example.com".to_owned();
    let error = store.add(draft).expect_err("http needs local");
    assert_eq!(error.kind(), Kind::InvalidInput);
    assert!(error.fields().iter().any(|field| field.field == "base_url"));
    assert!(!paths.file.exists());
}
