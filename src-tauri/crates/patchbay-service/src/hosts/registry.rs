//! `hosts.json`: the paired host apps and the bounded log of resolves, in
//! Patchbay's config directory. It holds only SHA-256 hashes of tokens, never
//! a token. The server, the app and `patchbay hosts list|revoke` all read and
//! write it through [`HostRegistry`], so list/revoke work with no server
//! running; every read-modify-write holds `hosts.json.lock` and replaces the
//! file atomically (core's `config::with_lock_waiting` and `write_atomic`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use patchbay_core::config::{self, FileStamp};

use patchbay_protocol::rpc::{PairedHost, Requester, ResolveRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{HostsError, Result};

/// The file name inside the config directory.
pub const HOSTS_FILE_NAME: &str = "hosts.json";
/// How many resolves the log keeps (oldest dropped first).
pub const RESOLVE_LOG_CAPACITY: usize = 500;
const FILE_VERSION: u64 = 1;
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// The on-disk shape of `hosts.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HostsDocument {
    version: u64,
    #[serde(default)]
    hosts: Vec<HostRecord>,
    #[serde(default)]
    resolve_log: Vec<ResolveRecord>,
    /// Fields a newer Patchbay added, kept as they were.
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HostRecord {
    app_id: String,
    app_name: String,
    /// Lowercase hex SHA-256 of the token.
    token_sha256: String,
    #[serde(with = "time::serde::rfc3339")]
    paired_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_used: Option<OffsetDateTime>,
    /// The person allowed raw keys for this app (protocol 1 resolves).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    raw_keys: bool,
    /// When they did.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    raw_keys_since: Option<OffsetDateTime>,
    /// The entries the person limited this app to; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries: Option<Vec<String>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl HostRecord {
    fn view(&self) -> PairedHost {
        PairedHost {
            app_id: self.app_id.clone(),
            app_name: self.app_name.clone(),
            paired_at: self.paired_at,
            last_used: self.last_used,
            raw_keys: self.raw_keys,
            entries: self.entries.clone(),
        }
    }
}

/// A freshly issued token. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct IssuedToken(String);

impl IssuedToken {
    /// 32 random bytes from the OS, hex-encoded, with a `pbt_` prefix so a
    /// leaked token is recognisable in logs and secret scanners.
    fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|error| HostsError::Internal {
            detail: format!("no OS randomness: {error}"),
        })?;
        Ok(Self(format!("pbt_{}", hex::encode(bytes))))
    }

    /// The token, for the one place that sends it to the host.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedToken([redacted])")
    }
}

/// Lowercase hex SHA-256 of a token: what `hosts.json` stores.
pub(super) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The paired hosts and the resolve log in `<config dir>/hosts.json`.
/// Clones share one token cache.
#[derive(Debug, Clone)]
pub struct HostRegistry {
    path: PathBuf,
    /// The token hashes of the file as last read, with what identified that
    /// version of the file: [`HostRegistry::authenticate`] reads the file
    /// again only when it changed (every write replaces it: a new inode).
    tokens: Arc<Mutex<Option<TokenCache>>>,
}

#[derive(Debug)]
struct TokenCache {
    stamp: FileStamp,
    hosts: Vec<(String, PairedHost)>,
}

impl HostRegistry {
    /// The registry in `config_dir` (created on first write).
    pub fn in_dir(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join(HOSTS_FILE_NAME),
            tokens: Arc::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Paired hosts, in pairing order.
    pub fn list(&self) -> Result<Vec<PairedHost>> {
        Ok(self.read()?.hosts.iter().map(HostRecord::view).collect())
    }

    /// The recorded resolves, oldest first.
    pub fn resolve_log(&self) -> Result<Vec<ResolveRecord>> {
        Ok(self.read()?.resolve_log)
    }

    /// Pairs `app_id` with a new token and returns it; only its hash is
    /// stored. Pairing an app again replaces its old token. Only
    /// [`crate::Pairings::approve`] calls it: no token without consent.
    pub(crate) fn pair(&self, app_id: &str, app_name: &str) -> Result<(PairedHost, IssuedToken)> {
        let token = IssuedToken::generate()?;
        let record = HostRecord {
            app_id: app_id.to_owned(),
            app_name: app_name.to_owned(),
            token_sha256: token_hash(token.expose()),
            paired_at: OffsetDateTime::now_utc(),
            last_used: None,
            raw_keys: false,
            raw_keys_since: None,
            entries: None,
            extra: Map::new(),
        };
        let view = record.view();
        self.update(|document| {
            document.hosts.retain(|host| host.app_id != app_id);
            document.hosts.push(record);
            Ok(())
        })?;
        Ok((view, token))
    }

    /// A token the person created for an app themselves (the window's
    /// "Create a token for an app", `patchbay hosts issue`): the person's
    /// own act is the consent, so there is no prompt. Replaces the app's old
    /// token. The caller shows the token once; only its hash is stored.
    pub fn issue(&self, app_id: &str, app_name: &str) -> Result<(PairedHost, String)> {
        super::pairing::validate_app(app_id, app_name)?;
        let (host, token) = self.pair(app_id, app_name)?;
        Ok((host, token.expose().to_owned()))
    }

    /// Allows (or stops) handing this app the provider's raw key and
    /// headers from `entries.resolve` in protocol 1, recorded with the time
    /// the person decided. A new pairing of the app starts without it.
    /// `false` when the app is not paired.
    pub fn set_raw_keys(&self, app_id: &str, allowed: bool) -> Result<bool> {
        let mut found = false;
        self.update(|document| {
            if let Some(host) = document.hosts.iter_mut().find(|host| host.app_id == app_id) {
                found = true;
                host.raw_keys = allowed;
                host.raw_keys_since = allowed.then(OffsetDateTime::now_utc);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Limits `app_id` to `entries` (`<provider_id>/<model_id>` each), or
    /// with `None` lets it use every enabled entry again. Takes effect from
    /// its next request. `false` when the app is not paired; an id that is
    /// not an entry id is refused.
    pub fn set_entries(&self, app_id: &str, entries: Option<Vec<String>>) -> Result<bool> {
        if let Some(list) = &entries {
            if let Some(bad) = list
                .iter()
                .find(|id| patchbay_protocol::entries::split_entry_id(id).is_none())
            {
                return Err(HostsError::InvalidParams {
                    detail: format!(
                        "`{}` is not an entry id (`<provider_id>/<model_id>`; `patchbay entries` lists them)",
                        bad.chars().take(200).collect::<String>()
                    ),
                });
            }
        }
        let mut found = false;
        self.update(|document| {
            if let Some(host) = document.hosts.iter_mut().find(|host| host.app_id == app_id) {
                found = true;
                host.entries = entries.clone();
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Forgets `app_id`; its token stops working at once. `false` when it
    /// was not paired.
    pub fn revoke(&self, app_id: &str) -> Result<bool> {
        let mut removed = false;
        self.update(|document| {
            let before = document.hosts.len();
            document.hosts.retain(|host| host.app_id != app_id);
            removed = document.hosts.len() != before;
            Ok(())
        })?;
        Ok(removed)
    }

    /// The host a token belongs to, or [`HostsError::Unauthorized`]. The
    /// file is checked (one `stat`) on every call and read again whenever it
    /// changed, so a revoke by the CLI takes effect from the next call on,
    /// without reading the file for every request of the gateway.
    pub fn authenticate(&self, token: &str) -> Result<PairedHost> {
        let hash = token_hash(token);
        let stamp =
            FileStamp::of(&self.path).map_err(|error| HostsError::io("read", &self.path, error))?;
        let Some(stamp) = stamp else {
            return Err(HostsError::Unauthorized);
        };
        let mut cache = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.as_ref().is_none_or(|cached| cached.stamp != stamp) {
            let hosts = self
                .read()?
                .hosts
                .iter()
                .map(|host| (host.token_sha256.clone(), host.view()))
                .collect();
            *cache = Some(TokenCache { stamp, hosts });
        }
        cache
            .as_ref()
            .and_then(|cached| {
                cached
                    .hosts
                    .iter()
                    .find(|(stored, _)| constant_time_equal(stored.as_bytes(), hash.as_bytes()))
            })
            .map(|(_, host)| host.clone())
            .ok_or(HostsError::Unauthorized)
    }

    /// Records one resolve and updates the host's `last_used`. A host
    /// revoked in between is not recorded (and gets `Unauthorized`).
    pub fn record_resolve(
        &self,
        app_id: &str,
        entry_id: &str,
        requester: Option<Requester>,
    ) -> Result<ResolveRecord> {
        let now = OffsetDateTime::now_utc();
        let mut recorded = None;
        self.update(|document| {
            let host = document
                .hosts
                .iter_mut()
                .find(|host| host.app_id == app_id)
                .ok_or(HostsError::Unauthorized)?;
            host.last_used = Some(now);
            let record = ResolveRecord {
                app_id: app_id.to_owned(),
                app_name: host.app_name.clone(),
                entry_id: entry_id.to_owned(),
                at: now,
                requester: requester.clone(),
            };
            document.resolve_log.push(record.clone());
            let excess = document
                .resolve_log
                .len()
                .saturating_sub(RESOLVE_LOG_CAPACITY);
            document.resolve_log.drain(..excess);
            recorded = Some(record);
            Ok(())
        })?;
        recorded.ok_or(HostsError::Unauthorized)
    }

    fn read(&self) -> Result<HostsDocument> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(HostsDocument {
                    version: FILE_VERSION,
                    ..HostsDocument::default()
                })
            }
            Err(error) => return Err(HostsError::io("read", &self.path, error)),
        };
        let document: HostsDocument =
            serde_json::from_slice(&bytes).map_err(|error| HostsError::HostsCorrupt {
                path: self.path.clone(),
                detail: error.to_string(),
            })?;
        if document.version != FILE_VERSION {
            return Err(HostsError::HostsCorrupt {
                path: self.path.clone(),
                detail: format!(
                    "version {} is not supported (this Patchbay reads {FILE_VERSION})",
                    document.version
                ),
            });
        }
        Ok(document)
    }

    /// Read-modify-write under `hosts.json.lock`, written with core's
    /// atomic replace. A corrupt file is never overwritten: the error stops
    /// the write.
    fn update(&self, change: impl FnOnce(&mut HostsDocument) -> Result<()>) -> Result<()> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let outcome = config::with_lock_waiting(Path::new(&lock_path), LOCK_WAIT, || {
            Ok(self.read().and_then(|mut document| {
                change(&mut document)?;
                let mut bytes =
                    serde_json::to_vec_pretty(&document).map_err(|error| HostsError::Internal {
                        detail: format!("could not encode hosts.json: {error}"),
                    })?;
                bytes.push(b'\n');
                config::write_atomic(&self.path, &bytes)
                    .map_err(|error| HostsError::io("write", &self.path, error))
            }))
        });
        match outcome {
            Ok(result) => result,
            Err(patchbay_core::Error::ConfigBusy { .. }) => Err(HostsError::HostsBusy {
                path: self.path.clone(),
            }),
            Err(error) => Err(error.into()),
        }
    }
}

/// Hashes are compared without an early exit, so timing says nothing about
/// how much of a guessed token's hash matched.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_stores_only_the_hash_and_revoke_stops_the_token() {
        let directory = tempfile::tempdir().expect("temp dir");
        let registry = HostRegistry::in_dir(directory.path());
        let (host, token) = registry.pair("com.example.editor", "Editor").expect("pair");
        assert_eq!(host.app_name, "Editor");
        assert!(token.expose().starts_with("pbt_"));
        assert!(!format!("{token:?}").contains(token.expose()));

        let stored = fs::read_to_string(registry.path()).expect("hosts.json written");
        assert!(!stored.contains(token.expose()));
        assert!(!stored.contains(&token.expose()[4..]));
        assert!(stored.contains(&token_hash(token.expose())));

        assert_eq!(
            registry
                .authenticate(token.expose())
                .expect("known token")
                .app_id,
            "com.example.editor"
        );
        assert!(matches!(
            registry.authenticate("pbt_made_up"),
            Err(HostsError::Unauthorized)
        ));
        assert!(registry.revoke("com.example.editor").expect("revoke"));
        assert!(!registry
            .revoke("com.example.editor")
            .expect("second revoke is a no-op"));
        assert!(matches!(
            registry.authenticate(token.expose()),
            Err(HostsError::Unauthorized)
        ));
    }

    #[test]
    fn a_cached_token_is_refused_as_soon_as_another_process_revokes_it() {
        let directory = tempfile::tempdir().expect("temp dir");
        let gateway = HostRegistry::in_dir(directory.path());
        let terminal = HostRegistry::in_dir(directory.path());
        let (_, token) = terminal.issue("com.example.a", "A").expect("issue");
        for _ in 0..3 {
            assert_eq!(
                gateway.authenticate(&token).expect("known").app_id,
                "com.example.a"
            );
        }
        assert!(terminal.revoke("com.example.a").expect("revoke"));
        assert!(matches!(
            gateway.authenticate(&token),
            Err(HostsError::Unauthorized)
        ));
        let (_, again) = terminal.issue("com.example.a", "A").expect("issue again");
        assert_eq!(
            gateway.authenticate(&again).expect("new token").app_id,
            "com.example.a"
        );
        assert!(gateway.authenticate(&token).is_err());
    }

    #[test]
    fn pairing_again_replaces_the_old_token() {
        let directory = tempfile::tempdir().expect("temp dir");
        let registry = HostRegistry::in_dir(directory.path());
        let (_, first) = registry.pair("app", "App").expect("pair");
        let (_, second) = registry.pair("app", "App").expect("pair again");
        assert!(matches!(
            registry.authenticate(first.expose()),
            Err(HostsError::Unauthorized)
        ));
        assert!(registry.authenticate(second.expose()).is_ok());
        assert_eq!(registry.list().expect("list").len(), 1);
    }

    #[test]
    fn resolve_log_is_bounded_and_updates_last_used() {
        let directory = tempfile::tempdir().expect("temp dir");
        let registry = HostRegistry::in_dir(directory.path());
        registry.pair("app", "App").expect("pair");
        for index in 0..(RESOLVE_LOG_CAPACITY + 7) {
            registry
                .record_resolve("app", &format!("p/m{index}"), None)
                .expect("record");
        }
        let log = registry.resolve_log().expect("log");
        assert_eq!(log.len(), RESOLVE_LOG_CAPACITY);
        assert_eq!(log[0].entry_id, "p/m7");
        assert!(registry.list().expect("list")[0].last_used.is_some());
        assert!(matches!(
            registry.record_resolve("other", "p/m", None),
            Err(HostsError::Unauthorized)
        ));
    }

    #[test]
    fn corrupt_hosts_file_is_reported_and_left_untouched() {
        let directory = tempfile::tempdir().expect("temp dir");
        let registry = HostRegistry::in_dir(directory.path());
        fs::write(registry.path(), b"{not json").expect("write");
        assert!(matches!(
            registry.pair("app", "App"),
            Err(HostsError::HostsCorrupt { .. })
        ));
        assert_eq!(fs::read(registry.path()).expect("read"), b"{not json");
    }
}
