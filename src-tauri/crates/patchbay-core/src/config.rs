//! The shared config file `providers.json` on disk: where it is, reading it
//! into validated [`Provider`]s, and writing it safely while the app, the
//! CLI and the IPC server all use it at once.
//!
//! - **Atomic writes**: a temp file in the same directory, written, fsynced,
//!   renamed over the target, then the directory fsynced. A reader (or a
//!   crash) sees the old file or the new one, never a torn one.
//! - **Advisory lock**: every read-modify-write holds an exclusive lock on
//!   `providers.json.lock` (an OS file lock, released by the kernel when a
//!   process dies), waited for at most [`LOCK_WAIT`] → [`Error::ConfigBusy`].
//! - **Nothing is silently dropped**: entries that fail validation are
//!   reported as [`LoadProblem`]s and stay in the document, so the next write
//!   keeps them. A file that is not JSON is moved aside to
//!   `providers.json.corrupt-<UTC timestamp>` (never overwritten) and
//!   reported as [`Error::ConfigCorrupt`]. A file from a newer Patchbay is
//!   [`Error::ConfigVersion`] and is neither moved nor written.
//! - **Watching**: [`watch`] calls back (debounced) when the file changes on
//!   disk, from any process.
//!
//! The std file lock (`File::try_lock`, flock/LockFileEx) is used rather than
//! `fs4`'s: std has had the same API since Rust 1.89 and its inherent methods
//! would shadow fs4's trait methods anyway.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::Map;
use time::OffsetDateTime;

use patchbay_protocol::config::{read_document, ProviderRecord, ReadError, CONFIG_VERSION};
pub use patchbay_protocol::config::{ConfigDocument, RejectedRecord};
use patchbay_protocol::paths;

use crate::base_url;
use crate::error::{Error, Result};
use crate::id::ProviderId;
use crate::model::Provider;
use crate::validation;

/// How long a writer waits for another process's lock before giving up with
/// [`Error::ConfigBusy`]. Longer than the keychain timeout, because a writer
/// may hold the lock across one keychain call (see `store.rs`).
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long [`watch`] waits for a burst of events to settle.
pub const WATCH_DEBOUNCE: Duration = Duration::from_millis(150);

/// Where the config file, its lock and its corrupt copies live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    pub dir: PathBuf,
    /// `<dir>/providers.json`
    pub file: PathBuf,
    /// `<dir>/providers.json.lock`
    pub lock: PathBuf,
}

impl ConfigPaths {
    /// `PATCHBAY_CONFIG_DIR`, else the platform's config directory +
    /// `patchbay` (see [`patchbay_protocol::paths`]).
    pub fn from_env() -> Result<Self> {
        match paths::config_dir() {
            Some(dir) => Ok(Self::in_dir(dir)),
            None => Err(Error::ConfigIo {
                action: "locate the config directory",
                path: PathBuf::from("$HOME"),
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "neither PATCHBAY_CONFIG_DIR nor a home directory is set",
                ),
            }),
        }
    }

    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let file = dir.join(paths::CONFIG_FILE_NAME);
        let lock = dir.join(format!("{}.lock", paths::CONFIG_FILE_NAME));
        Self { dir, file, lock }
    }
}

/// An entry of the file that could not be turned into a [`Provider`]. It is
/// kept in the file; the UI and the CLI show it so the person can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadProblem {
    /// Position in the file's `providers` array.
    pub index: usize,
    pub id: Option<String>,
    pub message: String,
}

/// The file as read: the document to write back (with every entry, valid or
/// not), the providers that validated, and what did not.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub document: ConfigDocument,
    /// The entries that validated, in file order.
    pub providers: Vec<Provider>,
    pub problems: Vec<LoadProblem>,
}

impl Loaded {
    /// Validates every record of `document`.
    pub fn from_document(document: ConfigDocument) -> Self {
        let mut providers = Vec::new();
        let mut problems: Vec<LoadProblem> = document
            .rejected
            .iter()
            .map(|rejected| LoadProblem {
                index: rejected.index,
                id: rejected.id.clone(),
                message: rejected.message.clone(),
            })
            .collect();
        let mut file_index = 0;
        for record in &document.providers {
            // Rejected entries occupy their original indexes; skip over them
            // so problems point at the entry's real position in the file.
            while document
                .rejected
                .iter()
                .any(|rejected| rejected.index == file_index)
            {
                file_index += 1;
            }
            let duplicate = providers
                .iter()
                .any(|existing: &Provider| existing.id.as_str() == record.id);
            let outcome = if duplicate {
                Err(format!(
                    "the id `{}` is used by an earlier entry",
                    record.id
                ))
            } else {
                provider_from_record(record)
            };
            match outcome {
                Ok(provider) => providers.push(provider),
                Err(message) => problems.push(LoadProblem {
                    index: file_index,
                    id: Some(record.id.clone()),
                    message,
                }),
            }
            file_index += 1;
        }
        problems.sort_by_key(|problem| problem.index);
        Self {
            document,
            providers,
            problems,
        }
    }
}

/// Validates one stored record into a [`Provider`]. The message names the
/// field and never repeats a value.
pub fn provider_from_record(record: &ProviderRecord) -> Result<Provider, String> {
    let id = ProviderId::parse(&record.id).map_err(|error| error.to_string())?;
    let label = record.label.trim();
    if label.is_empty() || label.chars().count() > 64 {
        return Err("`label` must be 1–64 characters".to_owned());
    }
    let base_url = base_url::normalize(&record.base_url, record.network)
        .map_err(|error| format!("`base_url`: {}", error.message))?
        .normalized;
    // The same egress rules as a save: a hand-edited metadata or LAN address
    // is never loaded, so nothing (a test, a resolve) can send a key there.
    let verdict = crate::egress::judge_url(base_url.as_str(), record.network);
    if !verdict.allowed {
        return Err(format!("`base_url`: {}", verdict.message));
    }
    if let Some(seconds) = record.timeout_secs {
        if !validation::TIMEOUT_SECS_RANGE.contains(&seconds) {
            return Err(format!(
                "`timeout_secs` must be {}–{} seconds",
                validation::TIMEOUT_SECS_RANGE.start(),
                validation::TIMEOUT_SECS_RANGE.end()
            ));
        }
    }
    if record.models.is_empty() {
        return Err("`models` must list at least one model".to_owned());
    }
    for (position, model) in record.models.iter().enumerate() {
        let valid = !model.id.is_empty()
            && model.id.chars().count() <= 256
            && !model
                .id
                .chars()
                .any(|character| character.is_whitespace() || character.is_control());
        if !valid {
            return Err(format!(
                "`models[{position}].id` must be 1–256 characters with no spaces or control characters"
            ));
        }
    }
    for (position, header) in record.headers.iter().enumerate() {
        if header.name.is_empty() || !header.name.bytes().all(is_header_name_byte) {
            return Err(format!(
                "`headers[{position}].name` is not a valid HTTP header name"
            ));
        }
        if header.secret && header.value.is_some() {
            // A secret value in the plain-text file is a leak: refuse to use
            // it rather than quietly sending it.
            return Err(format!(
                "`headers[{position}]` is marked secret but has a value in the file; remove the value and set it again in Patchbay so it is kept in the keychain"
            ));
        }
        if !header.secret && header.value.is_none() {
            return Err(format!("`headers[{position}].value` is missing"));
        }
    }
    let proxy = match &record.proxy {
        Some(raw) => validation::validate_proxy(raw).map_err(|problem| problem.to_string())?,
        None => None,
    };
    let proxy_username = match (&record.proxy_username, &proxy) {
        (Some(name), Some(_)) => Some(
            validation::validate_proxy_username(name)
                .map_err(|problem| format!("`proxy_username`: {}", problem.message))?,
        ),
        (Some(_), None) => return Err("`proxy_username` is set but `proxy` is not".to_owned()),
        (None, _) => None,
    };
    if let Some(version) = &record.api_version {
        if record.api != crate::model::Api::AzureOpenai {
            return Err("`api_version` is set but `api` is not `azure_openai`".to_owned());
        }
        crate::azure::check_api_version(version)
            .map_err(|problem| format!("`api_version`: {problem}"))?;
    }
    if let Some(pem) = &record.ca_certificate {
        crate::certificates::stored_ca_der(pem)
            .map_err(|problem| format!("`ca_certificate`: {problem}"))?;
    }
    Ok(Provider {
        id,
        label: label.to_owned(),
        preset: record.preset.clone(),
        base_url,
        auth: record.auth,
        key_hint: record.key_hint.clone(),
        key_origin: record.key_origin.clone(),
        models: record.models.clone(),
        enabled: record.enabled,
        network: record.network,
        headers: record.headers.clone(),
        timeout_secs: record.timeout_secs,
        trusted_cert_sha256: record.trusted_cert_sha256.clone(),
        proxy,
        proxy_username,
        ca_certificate: record.ca_certificate.clone(),
        api: record.api,
        api_version: record.api_version.clone(),
        last_test: record.last_test.clone(),
        untested_since: record.untested_since.clone(),
        catalog: record.catalog.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// The stored form of a provider. `extra` carries the fields this version
/// does not know, taken from the record being replaced.
pub fn record_from_provider(
    provider: &Provider,
    extra: Map<String, serde_json::Value>,
) -> ProviderRecord {
    ProviderRecord {
        id: provider.id.as_str().to_owned(),
        label: provider.label.clone(),
        preset: provider.preset.clone(),
        base_url: base_url::display(&provider.base_url),
        auth: provider.auth,
        key_hint: provider.key_hint.clone(),
        key_origin: provider.key_origin.clone(),
        models: provider.models.clone(),
        enabled: provider.enabled,
        network: provider.network,
        headers: provider.headers.clone(),
        timeout_secs: provider.timeout_secs,
        trusted_cert_sha256: provider.trusted_cert_sha256.clone(),
        proxy: provider.proxy.as_ref().map(validation::display_proxy),
        proxy_username: provider.proxy_username.clone(),
        ca_certificate: provider.ca_certificate.clone(),
        api: provider.api,
        api_version: provider.api_version.clone(),
        last_test: provider.last_test.clone(),
        untested_since: provider.untested_since.clone(),
        catalog: provider.catalog.clone(),
        created_at: provider.created_at,
        updated_at: provider.updated_at,
        extra,
    }
}

/// RFC 9110 `token` characters.
fn is_header_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// What tells two versions of a file apart without reading it: its length,
/// modification time and (on Unix) inode — every write of Patchbay's
/// replaces the file, so each version has a new inode. `None`: no file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

impl FileStamp {
    pub fn of(path: &Path) -> io::Result<Option<Self>> {
        match fs::metadata(path) {
            Ok(metadata) => Ok(Some(Self {
                len: metadata.len(),
                modified: metadata.modified().ok(),
                #[cfg(unix)]
                inode: std::os::unix::fs::MetadataExt::ino(&metadata),
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Reads the file without taking the lock (atomic renames make that safe).
/// A missing file is an empty document. A file that is not JSON is moved
/// aside (under the lock, after checking it is still the corrupt one) and
/// reported as [`Error::ConfigCorrupt`]; the next load then sees no file.
pub fn load(paths: &ConfigPaths) -> Result<Loaded> {
    match read_file(paths) {
        Err(ReadOutcome::Corrupt(_)) => with_lock(&paths.lock, || load_locked(paths)),
        other => finish_read(paths, other),
    }
}

/// Locks, loads fresh, lets `mutate` change the document, checks the result
/// still reads back, and writes it atomically if it changed. `mutate`'s error
/// aborts the write. This is the only way `providers.json` is written.
pub fn update<T>(
    paths: &ConfigPaths,
    mutate: impl FnOnce(&mut ConfigDocument) -> Result<T>,
) -> Result<T> {
    with_lock(&paths.lock, || {
        let loaded = load_locked(paths)?;
        let before = loaded.document.clone();
        let mut document = loaded.document;
        let value = mutate(&mut document)?;
        if document != before {
            document.version = CONFIG_VERSION;
            let bytes = document.to_bytes().map_err(|error| Error::ConfigIo {
                action: "serialise",
                path: paths.file.clone(),
                source: io::Error::other(error),
            })?;
            // Never write what we could not read back ourselves.
            if let Err(error) = read_document(&bytes) {
                return Err(Error::ConfigIo {
                    action: "check the new contents of",
                    path: paths.file.clone(),
                    source: io::Error::other(error),
                });
            }
            remove_stale_temp_files(paths);
            write_atomic(&paths.file, &bytes).map_err(|source| Error::ConfigIo {
                action: "write",
                path: paths.file.clone(),
                source,
            })?;
        }
        Ok(value)
    })
}

/// Deletes temp files of `providers.json` left by writers that died
/// mid-write. Called with the lock held: since every writer writes its temp
/// file only while holding the lock, any temp file seen now is stale.
fn remove_stale_temp_files(paths: &ConfigPaths) {
    let prefix = format!(".{}.tmp-", paths::CONFIG_FILE_NAME);
    let Ok(entries) = fs::read_dir(&paths.dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            if let Err(error) = fs::remove_file(entry.path()) {
                tracing::warn!(path = %entry.path().display(), %error, "could not remove a stale temp file");
            }
        }
    }
}

fn load_locked(paths: &ConfigPaths) -> Result<Loaded> {
    let outcome = read_file(paths);
    if let Err(ReadOutcome::Corrupt(detail)) = outcome {
        let moved_to = move_aside(paths)?;
        tracing::warn!(path = %paths.file.display(), moved_to = %moved_to.display(), "config file was corrupt and was moved aside");
        return Err(Error::ConfigCorrupt {
            path: paths.file.clone(),
            moved_to,
            detail,
        });
    }
    finish_read(paths, outcome)
}

enum ReadOutcome {
    Corrupt(String),
    Failed(Error),
}

fn read_file(paths: &ConfigPaths) -> std::result::Result<ConfigDocument, ReadOutcome> {
    let bytes = match fs::read(&paths.file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(ConfigDocument::default())
        }
        Err(source) => {
            return Err(ReadOutcome::Failed(Error::ConfigIo {
                action: "read",
                path: paths.file.clone(),
                source,
            }))
        }
    };
    match read_document(&bytes) {
        Ok(document) => Ok(document),
        Err(ReadError::NewerVersion { found }) => Err(ReadOutcome::Failed(Error::ConfigVersion {
            path: paths.file.clone(),
            found,
            supported: CONFIG_VERSION,
        })),
        Err(error) => Err(ReadOutcome::Corrupt(error.to_string())),
    }
}

fn finish_read(
    paths: &ConfigPaths,
    outcome: std::result::Result<ConfigDocument, ReadOutcome>,
) -> Result<Loaded> {
    match outcome {
        Ok(document) => Ok(Loaded::from_document(document)),
        Err(ReadOutcome::Failed(error)) => Err(error),
        // Reached only if the file turned corrupt between two reads inside
        // the lock, which atomic writers cannot cause; report it unmoved.
        Err(ReadOutcome::Corrupt(detail)) => Err(Error::ConfigCorrupt {
            path: paths.file.clone(),
            moved_to: paths.file.clone(),
            detail,
        }),
    }
}

/// Renames the corrupt file to `providers.json.corrupt-<UTC timestamp>`
/// (with a counter if that exists), so the person can recover it.
fn move_aside(paths: &ConfigPaths) -> Result<PathBuf> {
    let now = OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let base = format!("{}.corrupt-{stamp}", paths::CONFIG_FILE_NAME);
    let mut target = paths.dir.join(&base);
    let mut counter = 2;
    while target.exists() {
        target = paths.dir.join(format!("{base}-{counter}"));
        counter += 1;
    }
    fs::rename(&paths.file, &target).map_err(|source| Error::ConfigIo {
        action: "move aside the unreadable",
        path: paths.file.clone(),
        source,
    })?;
    sync_dir(&paths.dir).map_err(|source| Error::ConfigIo {
        action: "sync the directory",
        path: paths.dir.clone(),
        source,
    })?;
    Ok(target)
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory
/// (mode 0600 for a new file, the old file's permissions otherwise), write,
/// fsync, rename, fsync the directory. Creates the directory if needed.
/// Reusable for other files of the config directory (e.g. `hosts.json`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let Some(name) = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path has no file name",
        ));
    };
    let temp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_then_rename(&temp, path, bytes);
    if result.is_err() {
        if let Err(error) = fs::remove_file(&temp) {
            if error.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %temp.display(), %error, "could not remove a temp file");
            }
        }
    }
    result?;
    sync_dir(&dir)
}

fn write_then_rename(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temp)?;
    if let Ok(metadata) = fs::metadata(path) {
        file.set_permissions(metadata.permissions())?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temp, path)
}

/// Makes a rename durable. Directories cannot be opened for syncing on
/// Windows, where `MoveFileEx` is already durable enough for us.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _unused = dir;
        Ok(())
    }
}

/// Runs `f` while holding an exclusive advisory lock on `lock_path` (created
/// if missing), waiting at most [`LOCK_WAIT`]. Other threads of this process
/// wait too (each call opens its own file description). Not re-entrant:
/// never call it again from inside `f` for the same path.
pub fn with_lock<T>(lock_path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    with_lock_waiting(lock_path, LOCK_WAIT, f)
}

/// [`with_lock`] with an explicit wait.
pub fn with_lock_waiting<T>(
    lock_path: &Path,
    wait: Duration,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let io_error = |action: &'static str| {
        move |source: io::Error| Error::ConfigIo {
            action,
            path: lock_path.to_path_buf(),
            source,
        }
    };
    if let Some(parent) = lock_path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        fs::create_dir_all(parent).map_err(io_error("create the directory of"))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path)
        .map_err(io_error("open the lock file"))?;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Err(Error::ConfigBusy {
                        path: lock_path.to_path_buf(),
                    });
                }
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(fs::TryLockError::Error(source)) => return Err(io_error("lock")(source)),
        }
    }
    let result = f();
    // Closing the file releases the lock too; unlocking first makes the
    // release explicit and reports a failure.
    if let Err(error) = file.unlock() {
        tracing::warn!(path = %lock_path.display(), %error, "could not unlock; the lock is released when the file closes");
    }
    result
}

/// Watches `providers.json` for changes made by any process. Dropping it
/// stops watching.
#[derive(Debug)]
pub struct ConfigWatcher {
    /// Held for its `Drop`: dropping the watcher closes the event channel,
    /// which ends the debounce thread.
    _watcher: Option<notify::RecommendedWatcher>,
    /// Held for its `Drop`: ends the polling thread of the fallback.
    _stop_polling: Option<mpsc::Sender<()>>,
    /// `true` when file-system notifications were unavailable and the
    /// watcher polls the file's size and mtime every second instead.
    pub polling: bool,
}

/// Calls `callback` (from a background thread, debounced by
/// [`WATCH_DEBOUNCE`]) whenever `providers.json` is created, replaced,
/// changed or removed. Watches the directory, since atomic renames replace
/// the file's inode. Falls back to polling once a second if notifications
/// cannot be set up.
pub fn watch(paths: &ConfigPaths, callback: impl Fn() + Send + 'static) -> Result<ConfigWatcher> {
    use notify::Watcher;

    fs::create_dir_all(&paths.dir).map_err(|source| Error::ConfigIo {
        action: "create",
        path: paths.dir.clone(),
        source,
    })?;
    let (sender, receiver) = mpsc::channel::<()>();
    let file_name = paths.file.file_name().map(|name| name.to_os_string());
    let handler = move |event: notify::Result<notify::Event>| {
        let relevant = match &event {
            Ok(event) => event
                .paths
                .iter()
                .any(|path| path.file_name() == file_name.as_deref()),
            // The watcher lost events (e.g. queue overflow): assume a change.
            Err(_) => true,
        };
        if relevant && sender.send(()).is_err() {
            tracing::debug!("config watcher event after the watcher stopped");
        }
    };
    let watcher = notify::recommended_watcher(handler).and_then(|mut watcher| {
        watcher.watch(&paths.dir, notify::RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    match watcher {
        Ok(watcher) => {
            thread::Builder::new()
                .name("patchbay-config-watch".to_owned())
                .spawn(move || debounce(&receiver, &callback))
                .map_err(|source| Error::ConfigIo {
                    action: "watch",
                    path: paths.dir.clone(),
                    source,
                })?;
            Ok(ConfigWatcher {
                _watcher: Some(watcher),
                _stop_polling: None,
                polling: false,
            })
        }
        Err(error) => {
            tracing::warn!(%error, "file notifications unavailable; polling the config file every second");
            watch_by_polling(paths, callback)
        }
    }
}

/// The fallback of [`watch`]: compares the file's mtime and length once a
/// second. Public so the fallback itself can be tested.
pub fn watch_by_polling(
    paths: &ConfigPaths,
    callback: impl Fn() + Send + 'static,
) -> Result<ConfigWatcher> {
    let (stop, stopped) = mpsc::channel::<()>();
    let file = paths.file.clone();
    thread::Builder::new()
        .name("patchbay-config-poll".to_owned())
        .spawn(move || poll(&file, &stopped, &callback))
        .map_err(|source| Error::ConfigIo {
            action: "watch",
            path: paths.dir.clone(),
            source,
        })?;
    Ok(ConfigWatcher {
        _watcher: None,
        _stop_polling: Some(stop),
        polling: true,
    })
}

fn debounce(receiver: &mpsc::Receiver<()>, callback: &dyn Fn()) {
    while receiver.recv().is_ok() {
        loop {
            match receiver.recv_timeout(WATCH_DEBOUNCE) {
                Ok(()) => continue,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        callback();
    }
}

fn poll(file: &Path, stopped: &mpsc::Receiver<()>, callback: &dyn Fn()) {
    let signature = |file: &Path| -> Option<(SystemTime, u64)> {
        let metadata = fs::metadata(file).ok()?;
        Some((metadata.modified().ok()?, metadata.len()))
    };
    let mut last = signature(file);
    loop {
        match stopped.recv_timeout(Duration::from_secs(1)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let now = signature(file);
        if now != last {
            last = now;
            callback();
        }
    }
}
