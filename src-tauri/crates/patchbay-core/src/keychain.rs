//! Where secrets live: the OS keychain, behind the [`SecretStore`] trait so
//! the store can be given a real keychain ([`KeyringStore`]) or, in unit
//! tests only, an in-memory one ([`MemoryStore`]).
//!
//! Items: service `patchbay` (or `PATCHBAY_KEYRING_SERVICE`), account
//! `<provider_id>` for the API key and `<provider_id>#header:<lowercase
//! name>` for a secret header value, `<provider_id>#proxy` for the proxy's
//! password. On Linux the Secret Service item (in
//! the default collection, schema `org.freedesktop.Secret.Generic`) has
//! exactly two attributes, `service` = the service name and `username` =
//! the account, and the label `keyring:<account>@<service>` (what
//! `keyring` 4 writes, checked by the keychain tests) — so `secret-tool
//! search --all service patchbay` lists them and `secret-tool clear service
//! patchbay username <account>` removes one.
//!
//! Every call runs on a helper thread and is abandoned after a timeout
//! (default 5 s → [`Error::KeychainTimeout`]), because a Secret Service
//! waiting on an unlock prompt would otherwise freeze the caller. There is
//! no fallback to a file: without a keychain, saving a key fails with an
//! error telling the person what to do.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::id::ProviderId;
use crate::secret::ApiKey;

/// The keychain service name of every Patchbay item.
pub const DEFAULT_SERVICE: &str = "patchbay";
/// Overrides the service name (tests use one per run).
pub const SERVICE_ENV: &str = "PATCHBAY_KEYRING_SERVICE";
/// How long one keychain call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A place to keep secrets by account name.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// Creates or replaces the item.
    fn set(&self, account: &str, secret: &ApiKey) -> Result<()>;
    /// `Ok(None)` when there is no item.
    fn get(&self, account: &str) -> Result<Option<ApiKey>>;
    /// Deletes the item; `Ok` when there was none.
    fn delete(&self, account: &str) -> Result<()>;
}

/// The account of a provider's API key: its id.
pub fn key_account(id: &ProviderId) -> String {
    id.as_str().to_owned()
}

/// The account of a provider's secret header value. Header names are
/// case-insensitive, so the name is lowercased.
pub fn header_account(id: &ProviderId, header_name: &str) -> String {
    format!(
        "{}#header:{}",
        id.as_str(),
        header_name.to_ascii_lowercase()
    )
}

/// The account of a provider's proxy password.
pub fn proxy_account(id: &ProviderId) -> String {
    format!("{}#proxy", id.as_str())
}

/// The OS keychain through the `keyring` ecosystem: the Secret Service on
/// Linux/BSD, Keychain Services on macOS, Credential Manager on Windows.
#[derive(Clone)]
pub struct KeyringStore {
    service: String,
    timeout: Duration,
    backend: Arc<backend::Backend>,
}

impl fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringStore")
            .field("service", &self.service)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for KeyringStore {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyringStore {
    /// Service `PATCHBAY_KEYRING_SERVICE` or `patchbay`, timeout 5 s. Does
    /// not connect yet: the first call does (and a failed connection is
    /// retried by the next call, so starting the keyring later just works).
    pub fn new() -> Self {
        let service = std::env::var(SERVICE_ENV)
            .ok()
            .filter(|service| !service.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Self::with_service(service)
    }

    // The backend is a unit struct except on Linux, where it has state.
    #[allow(clippy::default_constructed_unit_structs)]
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            timeout: DEFAULT_TIMEOUT,
            backend: Arc::new(backend::Backend::default()),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// Runs `operation` on a helper thread; gives up after the timeout. A
    /// timed-out thread is left to finish (or hang) on its own: it holds no
    /// lock of ours.
    fn run<T: Send + 'static>(
        &self,
        account: &str,
        operation: impl FnOnce(&backend::Backend, &str, &str) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (sender, receiver) = mpsc::channel();
        let backend = Arc::clone(&self.backend);
        let service = self.service.clone();
        let account = account.to_owned();
        thread::Builder::new()
            .name("patchbay-keychain".to_owned())
            .spawn(move || {
                let outcome = operation(&backend, &service, &account);
                if sender.send(outcome).is_err() {
                    tracing::debug!("a keychain call finished after its caller gave up");
                }
            })
            .map_err(|error| Error::Keychain {
                detail: format!("could not start a keychain thread: {error}"),
            })?;
        match receiver.recv_timeout(self.timeout) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::KeychainTimeout {
                seconds: self.timeout.as_secs().max(1),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(Error::Keychain {
                detail: "the keychain thread stopped unexpectedly".to_owned(),
            }),
        }
    }
}

impl SecretStore for KeyringStore {
    fn set(&self, account: &str, secret: &ApiKey) -> Result<()> {
        let secret = secret.clone();
        self.run(account, move |backend, service, account| {
            let entry = backend.entry(service, account)?;
            entry.set_password(secret.expose()).map_err(map_error)
        })
    }

    fn get(&self, account: &str) -> Result<Option<ApiKey>> {
        self.run(account, |backend, service, account| {
            let entry = backend.entry(service, account)?;
            match entry.get_password() {
                Ok(secret) => Ok(Some(ApiKey::new(secret))),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(error) => Err(map_error(error)),
            }
        })
    }

    fn delete(&self, account: &str) -> Result<()> {
        self.run(account, |backend, service, account| {
            let entry = backend.entry(service, account)?;
            match entry.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(error) => Err(map_error(error)),
            }
        })
    }
}

/// Markers of "there is no Secret Service to talk to" in the errors of the
/// D-Bus stack (no session bus, no provider of `org.freedesktop.secrets`).
const UNAVAILABLE_MARKERS: &[&str] = &[
    "org.freedesktop.secrets",
    "ServiceUnknown",
    "was not provided by any",
    "DBUS_SESSION_BUS_ADDRESS",
    "session bus",
    "No such file or directory",
    "Connection refused",
    "could not connect",
];

/// Maps a `keyring` error to ours. Never includes secret bytes: the
/// encoding errors carry them, so their details are written by hand.
fn map_error(error: keyring_core::Error) -> Error {
    use keyring_core::Error as KeyringError;
    match error {
        KeyringError::NoStorageAccess(_) => Error::KeychainLocked,
        KeyringError::NoDefaultStore => Error::KeychainUnavailable {
            detail: "no credential store".to_owned(),
        },
        KeyringError::PlatformFailure(platform) => classify_platform(&platform.to_string()),
        KeyringError::BadEncoding(_) => Error::Keychain {
            detail: "the stored item is not UTF-8 text".to_owned(),
        },
        KeyringError::BadDataFormat(_, _) => Error::Keychain {
            detail: "the stored item is not in the expected format".to_owned(),
        },
        KeyringError::Ambiguous(entries) => Error::Keychain {
            detail: format!(
                "{} keychain items match; delete the duplicates and try again",
                entries.len()
            ),
        },
        other => Error::Keychain {
            detail: other.to_string(),
        },
    }
}

fn classify_platform(detail: &str) -> Error {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("locked") || lower.contains("dismissed") || lower.contains("prompt") {
        return Error::KeychainLocked;
    }
    if UNAVAILABLE_MARKERS
        .iter()
        .any(|marker| detail.contains(marker) || lower.contains(&marker.to_ascii_lowercase()))
    {
        return Error::KeychainUnavailable {
            detail: detail.to_owned(),
        };
    }
    Error::Keychain {
        detail: detail.to_owned(),
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod backend {
    //! The Secret Service store, connected on first use and reconnected
    //! after a failed connection.

    use std::sync::{Arc, Mutex};

    use keyring_core::api::CredentialStoreApi;
    use zbus_secret_service_keyring_store::Store;

    use crate::error::{Error, Result};

    #[derive(Default)]
    pub(super) struct Backend {
        store: Mutex<Option<Arc<Store>>>,
    }

    impl Backend {
        pub(super) fn entry(&self, service: &str, account: &str) -> Result<keyring_core::Entry> {
            let store = self.connect()?;
            store
                .build(service, account, None)
                .map_err(super::map_error)
        }

        fn connect(&self) -> Result<Arc<Store>> {
            let mut slot = self.store.lock().map_err(|_| Error::Keychain {
                detail: "a previous keychain call crashed".to_owned(),
            })?;
            if let Some(store) = slot.as_ref() {
                return Ok(Arc::clone(store));
            }
            // Any failure to connect means there is no usable Secret Service.
            let store = Store::new().map_err(|error| match super::map_error(error) {
                Error::Keychain { detail } => Error::KeychainUnavailable { detail },
                other => other,
            })?;
            *slot = Some(Arc::clone(&store));
            Ok(store)
        }
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod backend {
    //! The platform store as `keyring` v1 sets it up (once per process).

    use crate::error::{Error, Result};

    #[derive(Default)]
    pub(super) struct Backend;

    impl Backend {
        pub(super) fn entry(&self, service: &str, account: &str) -> Result<keyring_core::Entry> {
            if let Err(error) = keyring::Entry::store_status() {
                return Err(Error::KeychainUnavailable {
                    detail: error.to_string(),
                });
            }
            keyring::Entry::new(service, account)
                .map(|entry| entry.inner)
                .map_err(super::map_error)
        }
    }
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    target_os = "windows"
)))]
mod backend {
    //! No supported keychain on this platform.

    use crate::error::{Error, Result};

    #[derive(Default)]
    pub(super) struct Backend;

    impl Backend {
        pub(super) fn entry(&self, _service: &str, _account: &str) -> Result<keyring_core::Entry> {
            Err(Error::KeychainUnavailable {
                detail: "no keychain is supported on this platform".to_owned(),
            })
        }
    }
}

/// An in-memory [`SecretStore`] for unit tests of code above the keychain.
/// Never use it for people's keys: it forgets everything on exit.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, ApiKey>>,
    unavailable: AtomicBool,
    reads: AtomicUsize,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// While `true`, every call fails like a machine with no Secret Service.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// How many `get` calls reached the store (for cache tests).
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// The accounts currently stored, sorted.
    pub fn accounts(&self) -> Vec<String> {
        let mut accounts: Vec<String> = self
            .lock()
            .map(|items| items.keys().cloned().collect())
            .unwrap_or_default();
        accounts.sort();
        accounts
    }

    fn check(&self) -> Result<()> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(Error::KeychainUnavailable {
                detail:
                    "org.freedesktop.secrets was not provided by any .service files (simulated)"
                        .to_owned(),
            });
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, ApiKey>>> {
        self.items.lock().map_err(|_| Error::Keychain {
            detail: "memory store poisoned".to_owned(),
        })
    }
}

impl SecretStore for MemoryStore {
    fn set(&self, account: &str, secret: &ApiKey) -> Result<()> {
        self.check()?;
        self.lock()?.insert(account.to_owned(), secret.clone());
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Option<ApiKey>> {
        self.check()?;
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.lock()?.get(account).cloned())
    }

    fn delete(&self, account: &str) -> Result<()> {
        self.check()?;
        self.lock()?.remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn accounts() {
        let id = ProviderId::parse("openrouter").expect("id");
        assert_eq!(key_account(&id), "openrouter");
        assert_eq!(
            header_account(&id, "CF-Access-Client-Secret"),
            "openrouter#header:cf-access-client-secret"
        );
    }

    #[test]
    fn error_mapping() {
        let unavailable = classify_platform(
            "D-Bus error: org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files",
        );
        assert_eq!(unavailable.kind(), Kind::KeychainUnavailable);
        assert!(unavailable
            .to_string()
            .contains("No keychain service is running"));
        let no_bus = classify_platform("I/O error: No such file or directory (os error 2)");
        assert_eq!(no_bus.kind(), Kind::KeychainUnavailable);
        assert_eq!(
            classify_platform("Prompt dismissed").kind(),
            Kind::KeychainLocked
        );
        assert_eq!(classify_platform("something odd").kind(), Kind::Keychain);
        let secret_bytes = b"sk-canary-1234567890".to_vec();
        let bad = map_error(keyring_core::Error::BadEncoding(secret_bytes));
        assert!(!format!("{bad} {bad:?}").contains("canary"));
        assert_eq!(
            map_error(keyring_core::Error::NoDefaultStore).kind(),
            Kind::KeychainUnavailable
        );
    }

    #[test]
    fn memory_store_round_trip_and_unavailable_switch() {
        let store = MemoryStore::new();
        store.set("a", &ApiKey::new("one")).expect("set");
        assert_eq!(
            store
                .get("a")
                .expect("get")
                .map(|key| key.expose().to_owned()),
            Some("one".to_owned())
        );
        store.delete("a").expect("delete");
        store.delete("a").expect("delete again is fine");
        assert_eq!(store.get("a").expect("get"), None);
        store.set_unavailable(true);
        assert_eq!(
            store.set("a", &ApiKey::new("x")).expect_err("down").kind(),
            Kind::KeychainUnavailable
        );
        assert_eq!(store.reads(), 2);
    }
}
