//! [`ProviderStore`]: the one entry point the app, the CLI and the IPC
//! server use to read and change providers. It keeps the config file and the
//! keychain consistent, in this order:
//!
//! - **Add**: validate, then write the secrets to the keychain, then the
//!   config. A failed keychain write saves nothing; a failed config write
//!   deletes the secrets just written (rollback) and returns the error.
//! - **Replace a key or a secret header value**: read the previous value,
//!   write the new one, then the config (with the new hint). A failed config
//!   write puts the previous value back.
//! - **Remove a key, a secret header, or a provider**: the config first,
//!   then the keychain deletes. The person's intent (the provider is gone)
//!   is done once the config is written; a keychain delete that fails after
//!   that is *reported*, never hidden: [`ProviderStore::edit`] returns it as
//!   a notice in [`Saved::notices`], and [`ProviderStore::remove`] /
//!   [`ProviderStore::remove_key`] return [`Error::Keychain`] whose message
//!   says the config change was made and which item is left, with the
//!   `secret-tool` command to delete it by hand.
//!
//! The keychain calls of add/edit/set-key run while the config lock is held
//! (each call is bounded by the keychain timeout), so two processes adding
//! the same label can never write the same generated id's keychain item.
//!
//! Listing never touches the keychain. A key is read only when a request
//! needs it ([`ProviderStore::api_key`]) and at most once per process: it is
//! cached, keyed by the stored hint and `updated_at`, so a change made by
//! this process or seen on disk (another process set a new key) invalidates
//! it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Map;
use time::OffsetDateTime;

use crate::catalog::{self, Catalog, CatalogSummary};
use crate::config::{self, ConfigDocument, ConfigPaths, FileStamp, LoadProblem, Loaded};
use crate::curation::{self, ModelChange, Placement};
use crate::error::{Error, Kind, Result};
use crate::id::ProviderId;
use crate::keychain::{header_account, key_account, proxy_account, SecretStore};
use crate::model::{
    Auth, CustomHeader, LastTest, ModelEntry, NetworkAllowance, Provider, UntestedChange,
    UntestedSince,
};
use crate::secret::ApiKey;
use crate::validation::{self, Notice, ProviderDraft, ValidKeyChange};

mod admin;
mod origin;
mod transfer;

pub use origin::{origin_of, withheld_origin, Destination};
use origin::{seal, secret_accounts, unseal, Bound};

/// What [`ProviderStore::list`] returns.
#[derive(Debug, Clone)]
pub struct Listing {
    pub providers: Vec<Provider>,
    /// Entries of the file that did not validate; they stay in the file.
    pub problems: Vec<LoadProblem>,
    /// Set when the file was unreadable and has just been moved aside: the
    /// message to show (it names where the file went). The list is then
    /// empty.
    pub notice: Option<String>,
}

/// A provider after a change, with what validation (or a post-save
/// keychain clean-up) wants the person to know.
#[derive(Debug, Clone)]
pub struct Saved {
    pub provider: Provider,
    pub notices: Vec<Notice>,
}

/// A secret as cached, with the stored state it belongs to.
#[derive(Debug, Clone)]
struct Cached {
    stamp: (Option<String>, OffsetDateTime),
    origin: Option<String>,
    value: ApiKey,
}

/// Providers in the shared config file, secrets in a [`SecretStore`].
/// Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct ProviderStore {
    paths: ConfigPaths,
    secrets: Arc<dyn SecretStore>,
    cache: Mutex<HashMap<String, Cached>>,
    /// The file as last loaded, with its stamp: reads parse it again only
    /// when it changed (the gateway reads it for every request).
    loaded: Mutex<Option<(Option<FileStamp>, Arc<Loaded>)>>,
}

/// Secrets written during a change, for rollback: the account and the value
/// it had before (`None`: there was no item).
type Written = Vec<(String, Option<ApiKey>)>;

impl ProviderStore {
    pub fn new(paths: ConfigPaths, secrets: Arc<dyn SecretStore>) -> Self {
        Self {
            paths,
            secrets,
            cache: Mutex::new(HashMap::new()),
            loaded: Mutex::new(None),
        }
    }

    pub fn paths(&self) -> &ConfigPaths {
        &self.paths
    }

    /// Every provider that validates, the problems of those that don't, and
    /// a notice if an unreadable file was just moved aside. Never touches
    /// the keychain.
    pub fn list(&self) -> Result<Listing> {
        match self.load() {
            Ok(loaded) => Ok(Listing {
                providers: loaded.providers.clone(),
                problems: loaded.problems.clone(),
                notice: None,
            }),
            Err(error @ Error::ConfigCorrupt { .. }) => {
                tracing::warn!(%error, "starting with an empty provider list");
                Ok(Listing {
                    providers: Vec::new(),
                    problems: Vec::new(),
                    notice: Some(error.to_string()),
                })
            }
            Err(error) => Err(error),
        }
    }

    pub fn get(&self, id: &ProviderId) -> Result<Provider> {
        let loaded = self.load()?;
        find(&loaded.providers, id).cloned()
    }

    /// The file, parsed again only when its stamp changed since the last
    /// load (the stamp is taken first, so a change during the read is
    /// seen next time). Errors are not cached.
    fn load(&self) -> Result<Arc<Loaded>> {
        let Ok(stamp) = FileStamp::of(&self.paths.file) else {
            return config::load(&self.paths).map(Arc::new);
        };
        if let Ok(cached) = self.loaded.lock() {
            if let Some((seen, loaded)) = cached.as_ref() {
                if *seen == stamp && stamp.is_some() {
                    return Ok(Arc::clone(loaded));
                }
            }
        }
        let loaded = Arc::new(config::load(&self.paths)?);
        if let Ok(mut cached) = self.loaded.lock() {
            *cached = Some((stamp, Arc::clone(&loaded)));
        }
        Ok(loaded)
    }

    /// Validates and saves a new provider under a fresh id generated from
    /// its label.
    pub fn add(&self, draft: ProviderDraft) -> Result<Saved> {
        self.add_tested(draft, None)
    }

    /// [`Self::add`], with the result of a connection test of this very
    /// draft (the caller matched its [`validation::DraftDigest`]) as the new
    /// provider's last test.
    pub fn add_tested(&self, draft: ProviderDraft, tested: Option<LastTest>) -> Result<Saved> {
        let mut written = Written::new();
        let outcome = config::update(&self.paths, |document| {
            let providers = Loaded::from_document(document.clone()).providers;
            let validated = validation::validate(&draft, &providers, None)?;
            let id = ProviderId::generate(&validated.label, &taken_ids(document));
            let mut to_write: Vec<(String, ApiKey)> = Vec::new();
            let key_hint = match (&validated.auth, &validated.key) {
                (Auth::ApiKey, ValidKeyChange::Set(key)) => {
                    to_write.push((key_account(&id), key.clone()));
                    Some(key.hint())
                }
                _ => None,
            };
            let headers = build_headers(&id, &validated.transport.headers, None, &mut to_write)?;
            let origin = origin_of(&validated.base_url);
            let proxy_secret = proxy_secret(&id, &validated.transport);
            let now = OffsetDateTime::now_utc();
            let provider = Provider {
                id,
                label: validated.label,
                preset: validated.preset,
                base_url: validated.base_url,
                auth: validated.auth,
                key_hint,
                key_origin: (!to_write.is_empty()).then(|| origin.clone()),
                models: validated.models.into_iter().map(model_entry).collect(),
                enabled: validated.enabled,
                network: validated.network,
                headers,
                timeout_secs: validated.timeout_secs,
                trusted_cert_sha256: None,
                proxy_username: validated.transport.proxy_username(),
                ca_certificate: validated.transport.ca_pem(),
                api: validated.api,
                api_version: validated.api_version.clone(),
                proxy: validated.transport.proxy,
                last_test: tested,
                untested_since: None,
                catalog: None,
                created_at: now,
                updated_at: now,
            };
            // The keychain last: after this only the file write can fail.
            self.write_secrets(&to_write, &origin, false, &mut written)?;
            self.write_proxy_secret(proxy_secret, false, &mut written)?;
            document
                .providers
                .push(config::record_from_provider(&provider, Map::new()));
            Ok(Saved {
                provider,
                notices: validated.notices,
            })
        });
        self.finish_write(outcome, written)
    }

    /// Validates and saves a changed provider. The id never changes. A
    /// change to the key (or a secret header value) or to the connection
    /// (base URL, network allowance, authentication, headers, proxy) clears
    /// the last test and says why in `untested_since`.
    pub fn edit(&self, id: &ProviderId, draft: ProviderDraft) -> Result<Saved> {
        self.edit_tested(id, draft, None)
    }

    /// [`Self::edit`], with the result of a connection test of this very
    /// draft (the caller matched its [`validation::DraftDigest`]) as the
    /// provider's last test.
    pub fn edit_tested(
        &self,
        id: &ProviderId,
        draft: ProviderDraft,
        tested: Option<LastTest>,
    ) -> Result<Saved> {
        let mut written = Written::new();
        let mut to_delete: Vec<String> = Vec::new();
        let outcome = config::update(&self.paths, |document| {
            let providers = Loaded::from_document(document.clone()).providers;
            let existing = find(&providers, id)?.clone();
            let validated = validation::validate(&draft, &providers, Some(&existing))?;
            let mut to_write: Vec<(String, ApiKey)> = Vec::new();
            let key_hint = match (validated.auth, &validated.key) {
                (Auth::ApiKey, ValidKeyChange::Set(key)) => {
                    to_write.push((key_account(id), key.clone()));
                    Some(key.hint())
                }
                (Auth::ApiKey, ValidKeyChange::Keep) => existing.key_hint.clone(),
                (Auth::None, _) | (Auth::ApiKey, ValidKeyChange::Remove) => {
                    if existing.key_hint.is_some() {
                        to_delete.push(key_account(id));
                    }
                    None
                }
            };
            let headers = build_headers(
                id,
                &validated.transport.headers,
                Some(&existing),
                &mut to_write,
            )?;
            let proxy_secret = proxy_secret(id, &validated.transport);
            if existing.proxy_username.is_some() && validated.transport.proxy_auth.is_none() {
                to_delete.push(proxy_account(id));
            }
            // New secrets, before the kept ones that move with the person's yes.
            let new_secrets = !to_write.is_empty();
            let origin = origin_of(&validated.base_url);
            let kept = kept_secrets(
                &existing,
                validated.auth,
                &validated.key,
                &validated.transport.headers,
            );
            if !kept.is_empty() {
                let given_for = existing
                    .key_origin
                    .clone()
                    .unwrap_or_else(|| origin_of(&existing.base_url));
                if draft.move_key {
                    // The person confirmed: the kept secrets go to the new origin.
                    for account in kept {
                        if let Some(stored) = self.secrets.get(&account)? {
                            to_write.push((account, unseal(&stored).value));
                        }
                    }
                } else if given_for != origin {
                    return Err(Error::invalid(
                        "move_key",
                        format!(
                            "Your stored key was given for {given_for}, and the base URL now points to {origin}. Confirm sending it there, or enter a new key."
                        ),
                    ));
                }
            }
            for old in existing.headers.iter().filter(|header| header.secret) {
                let account = header_account(id, &old.name);
                let still_secret = headers
                    .iter()
                    .any(|header| header.secret && header_account(id, &header.name) == account);
                if !still_secret {
                    to_delete.push(account);
                }
            }
            let provider = Provider {
                id: existing.id.clone(),
                label: validated.label,
                preset: validated.preset,
                base_url: validated.base_url,
                auth: validated.auth,
                key_hint,
                key_origin: None,
                models: merge_models(&existing.models, validated.models),
                enabled: validated.enabled,
                network: validated.network,
                headers,
                timeout_secs: validated.timeout_secs,
                trusted_cert_sha256: existing.trusted_cert_sha256.clone(),
                proxy_username: validated.transport.proxy_username(),
                ca_certificate: validated.transport.ca_pem(),
                api: validated.api,
                api_version: validated.api_version.clone(),
                proxy: validated.transport.proxy,
                last_test: existing.last_test.clone(),
                untested_since: existing.untested_since.clone(),
                catalog: existing.catalog.clone(),
                created_at: existing.created_at,
                updated_at: OffsetDateTime::now_utc(),
            };
            let mut provider = provider;
            provider.key_origin = if secret_accounts(&provider).is_empty() {
                None
            } else if to_write.is_empty() {
                existing.key_origin.clone()
            } else {
                Some(origin.clone())
            };
            let key_changed = new_secrets || proxy_secret.is_some() || !to_delete.is_empty();
            let change = if key_changed {
                Some(UntestedChange::Key)
            } else if connection_changed(&existing, &provider) {
                Some(UntestedChange::Connection)
            } else {
                None
            };
            match (tested, change) {
                (Some(tested), _) => {
                    provider.last_test = Some(tested);
                    provider.untested_since = None;
                }
                (None, Some(change)) => untested(&mut provider, change),
                (None, None) => {}
            }
            self.write_secrets(&to_write, &origin, true, &mut written)?;
            self.write_proxy_secret(proxy_secret, true, &mut written)?;
            replace_record(document, &provider)?;
            Ok(Saved {
                provider,
                notices: validated.notices,
            })
        });
        let mut saved = self.finish_write(outcome, written)?;
        for failure in self.delete_secrets(&to_delete) {
            saved.notices.push(Notice::new("key", failure));
        }
        Ok(saved)
    }

    /// Disables or enables a provider. Nothing else changes: key, models and
    /// headers stay, so enabling brings it back as it was.
    pub fn set_enabled(&self, id: &ProviderId, enabled: bool) -> Result<Provider> {
        self.change(id, |provider| {
            if provider.enabled != enabled {
                provider.enabled = enabled;
                provider.updated_at = OffsetDateTime::now_utc();
            }
            Ok(())
        })
    }

    /// Stores a new API key (trimmed and checked like the form's). A
    /// provider with no authentication is switched to API key auth, with a
    /// notice.
    pub fn set_key(&self, id: &ProviderId, key: ApiKey) -> Result<Saved> {
        let (key, trim_notice) = validation::validate_api_key(key.expose())
            .map_err(|problem| Error::Invalid(vec![problem]))?;
        let mut notices: Vec<Notice> = trim_notice.into_iter().collect();
        let mut written = Written::new();
        let outcome = config::update(&self.paths, |document| {
            let providers = Loaded::from_document(document.clone()).providers;
            let mut provider = find(&providers, id)?.clone();
            if provider.auth == Auth::None {
                provider.auth = Auth::ApiKey;
                notices.push(Notice::new(
                    "auth",
                    "Switched from \"No authentication\" to API key: the key will be sent as a bearer token.",
                ));
            }
            provider.key_hint = Some(key.hint());
            provider.updated_at = OffsetDateTime::now_utc();
            untested(&mut provider, UntestedChange::Key);
            let origin = origin_of(&provider.base_url);
            provider.key_origin = Some(origin.clone());
            self.write_secrets(
                &[(key_account(id), key.clone())],
                &origin,
                true,
                &mut written,
            )?;
            replace_record(document, &provider)?;
            Ok(provider)
        });
        let provider = self.finish_write(outcome, written)?;
        Ok(Saved { provider, notices })
    }

    /// Forgets the key: the hint leaves the config, then the keychain item
    /// is deleted (see the module docs for a failed delete).
    pub fn remove_key(&self, id: &ProviderId) -> Result<Provider> {
        let provider = self.change(id, |provider| {
            if provider.key_hint.is_some() {
                untested(provider, UntestedChange::Key);
            }
            provider.key_hint = None;
            if secret_accounts(provider).is_empty() {
                provider.key_origin = None;
            }
            provider.updated_at = OffsetDateTime::now_utc();
            Ok(())
        })?;
        let failures = self.delete_secrets(&[key_account(id)]);
        if !failures.is_empty() {
            return Err(Error::Keychain {
                detail: format!(
                    "the key was removed from the config, but {}",
                    failures.join("; ")
                ),
            });
        }
        Ok(provider)
    }

    /// Deletes a provider: its config entry (also one that does not
    /// validate), then its keychain items.
    pub fn remove(&self, id: &ProviderId) -> Result<()> {
        let mut accounts = Vec::new();
        config::update(&self.paths, |document| {
            let before = document.providers.len() + document.rejected.len();
            // A record that could not be read may hold a key: try to delete it.
            if document
                .rejected
                .iter()
                .any(|record| record.id.as_deref() == Some(id.as_str()))
            {
                accounts.push(key_account(id));
            }
            for record in document
                .providers
                .iter()
                .filter(|record| record.id == id.as_str())
            {
                // Only a provider with a key has a key item: removing a
                // no-auth provider needs no keychain at all.
                if record.auth == Auth::ApiKey || record.key_hint.is_some() {
                    accounts.push(key_account(id));
                }
                accounts.extend(
                    record
                        .headers
                        .iter()
                        .filter(|header| header.secret)
                        .map(|header| header_account(id, &header.name)),
                );
                if record.proxy_username.is_some() {
                    accounts.push(proxy_account(id));
                }
            }
            document.providers.retain(|record| record.id != id.as_str());
            document
                .rejected
                .retain(|record| record.id.as_deref() != Some(id.as_str()));
            if document.providers.len() + document.rejected.len() == before {
                return Err(Error::NotFound { id: id.to_string() });
            }
            Ok(())
        })?;
        accounts.dedup();
        let failures = self.delete_secrets(&accounts);
        if !failures.is_empty() {
            return Err(Error::Keychain {
                detail: format!(
                    "provider `{id}` was deleted from the config, but {}",
                    failures.join("; ")
                ),
            });
        }
        Ok(())
    }

    /// The provider's API key for a request to its saved base URL, or
    /// `None` with no authentication or no stored key. Read from the
    /// keychain at most once per process while the stored key stays the
    /// same. [`Error::KeyWithheld`] when the key was given for another
    /// origin (see [`ProviderStore::move_key`]).
    pub fn api_key(&self, id: &ProviderId) -> Result<Option<ApiKey>> {
        let provider = self.get(id)?;
        self.api_key_for(&provider, Destination::saved(&provider))
    }

    /// The provider's API key for a request to `destination` (a draft's
    /// base URL), checked against the origin the key was given for.
    pub fn api_key_for(
        &self,
        provider: &Provider,
        destination: Destination<'_>,
    ) -> Result<Option<ApiKey>> {
        if provider.auth == Auth::None || provider.key_hint.is_none() {
            return Ok(None);
        }
        self.release(
            provider,
            &key_account(&provider.id),
            (provider.key_hint.clone(), provider.updated_at),
            destination,
        )
    }

    /// Every custom header of `provider` with its value, secret ones read
    /// from the keychain (cached like the key) for a request to its saved
    /// base URL.
    pub fn secret_headers(&self, provider: &Provider) -> Result<Vec<(String, ApiKey)>> {
        self.secret_headers_for(provider, Destination::saved(provider))
    }

    /// [`ProviderStore::secret_headers`] for a request to `destination`.
    pub fn secret_headers_for(
        &self,
        provider: &Provider,
        destination: Destination<'_>,
    ) -> Result<Vec<(String, ApiKey)>> {
        let mut headers = Vec::with_capacity(provider.headers.len());
        for header in &provider.headers {
            let value = if header.secret {
                let account = header_account(&provider.id, &header.name);
                self.release(provider, &account, (header.hint.clone(), provider.updated_at), destination)?.ok_or_else(|| {
                    Error::Keychain {
                        detail: format!(
                            "the value of the secret header {} of `{}` is missing from the keychain; set it again in the provider's settings",
                            header.name, provider.id
                        ),
                    }
                })?
            } else {
                ApiKey::new(header.value.clone().unwrap_or_default())
            };
            headers.push((header.name.clone(), value));
        }
        Ok(headers)
    }

    /// The proxy's user name and password for a request through the
    /// provider's proxy, or `None` when it has no proxy credentials. The
    /// password is released only to the proxy origin it was given for.
    pub fn proxy_credentials(&self, provider: &Provider) -> Result<Option<(String, ApiKey)>> {
        let (Some(username), Some(proxy)) = (&provider.proxy_username, &provider.proxy) else {
            return Ok(None);
        };
        let account = proxy_account(&provider.id);
        let stamp = (Some(username.clone()), provider.updated_at);
        let Some(bound) = self.cached_secret(&account, stamp)? else {
            return Err(Error::Keychain {
                detail: format!(
                    "the proxy password of `{}` is missing from the keychain; enter it again in the provider's settings",
                    provider.id
                ),
            });
        };
        let proxy_origin = origin_of(proxy);
        match bound.origin {
            Some(given_for) if given_for == proxy_origin => Ok(Some((username.clone(), bound.value))),
            given_for => Err(Error::Keychain {
                detail: format!(
                    "the proxy password of `{}` was given for {}, not for the proxy {}; enter it again in the provider's settings",
                    provider.id,
                    given_for.as_deref().unwrap_or("another proxy"),
                    proxy_origin
                ),
            }),
        }
    }

    /// Keeps the outcome of a connection test for the list and the picker
    /// entries. Not an edit: `updated_at` stays.
    pub fn record_test(&self, id: &ProviderId, last_test: LastTest) -> Result<()> {
        self.change(id, |provider| {
            provider.last_test = Some(last_test);
            provider.untested_since = None;
            Ok(())
        })
        .map(drop)
    }

    /// Changes the model list (discovery refreshes metadata and marks models
    /// missing upstream). The result is checked like the form's models.
    pub fn update_models(
        &self,
        id: &ProviderId,
        f: impl FnOnce(&mut Vec<ModelEntry>),
    ) -> Result<Provider> {
        self.change(id, |provider| {
            let before = provider.models.clone();
            f(&mut provider.models);
            check_models(&provider.models)?;
            if provider.models != before {
                provider.updated_at = OffsetDateTime::now_utc();
            }
            Ok(())
        })
    }

    /// One change to a provider's chosen models (add, remove, hide, show,
    /// rename, move; see [`curation`]), checked like the form's list.
    pub fn change_model(&self, id: &ProviderId, change: ModelChange) -> Result<Provider> {
        self.change(id, |provider| {
            let changed =
                curation::apply_model_change(&provider.label, &mut provider.models, change)?;
            check_models(&provider.models)?;
            if changed {
                provider.updated_at = OffsetDateTime::now_utc();
            }
            Ok(())
        })
    }

    /// Keeps what a capability check of `model_id` found (merged over the
    /// last check: an inconclusive probe keeps an earlier answer). The model
    /// must be one of the provider's chosen models. Not an edit:
    /// `updated_at` stays.
    pub fn record_capabilities(
        &self,
        id: &ProviderId,
        model_id: &str,
        probed: crate::model::ProbedCapabilities,
    ) -> Result<Provider> {
        self.change(id, |provider| {
            let label = provider.label.clone();
            let known: Vec<String> = provider.models.iter().map(|model| model.id.clone()).collect();
            let Some(model) = provider.models.iter_mut().find(|model| model.id == model_id) else {
                return Err(Error::invalid(
                    "model",
                    format!(
                        "{label} has no model `{model_id}`; its models are: {}. Add it first (`patchbay model add`).",
                        known.join(", ")
                    ),
                ));
            };
            model.probed = Some(probed.merged_over(model.probed.as_ref()));
            Ok(())
        })
    }

    /// Moves a provider in the file's order, which is the order of the
    /// window's list, the entries and the gateway's model list. Entries that
    /// could not be read keep their place. Not an edit: `updated_at` stays.
    /// Returns the providers in their new order.
    pub fn move_provider(&self, id: &ProviderId, placement: Placement) -> Result<Vec<Provider>> {
        config::update(&self.paths, |document| {
            let from = document
                .providers
                .iter()
                .position(|record| record.id == id.as_str())
                .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
            let ids: Vec<&str> = document
                .providers
                .iter()
                .map(|record| record.id.as_str())
                .collect();
            let to = curation::target_index(&ids, from, &placement, "provider")?;
            curation::move_item(&mut document.providers, from, to);
            Ok(Loaded::from_document(document.clone()).providers)
        })
    }

    /// Records the outcome of a model-list refresh. `Ok(listed)`: the
    /// catalog becomes `listed` (fresh, not stale, `fetched_at` now) and the
    /// chosen models are re-marked with [`catalog::merge_refresh`] (a model
    /// the server no longer lists gets `missing_upstream`). `Err(reason)`:
    /// the last good list and its `fetched_at` stay, the catalog is marked
    /// stale and `reason` kept as `last_error` — pass a safe message (a
    /// `NetError`'s `Display`), never a raw body. Not an edit unless the
    /// chosen models changed: `updated_at` stays otherwise.
    pub fn record_catalog(
        &self,
        id: &ProviderId,
        outcome: std::result::Result<Vec<ModelEntry>, String>,
    ) -> Result<Provider> {
        self.change(id, |provider| {
            let now = OffsetDateTime::now_utc();
            match outcome {
                Ok(listed) => {
                    let fresh = catalog::record_success(listed, now);
                    let merged = catalog::merge_refresh(&provider.models, &fresh.models);
                    check_models(&merged)?;
                    if merged != provider.models {
                        provider.models = merged;
                        provider.updated_at = now;
                    }
                    provider.catalog = Some(fresh);
                }
                Err(reason) => {
                    provider.catalog = Some(catalog::record_failure(
                        provider.catalog.take(),
                        &reason,
                        now,
                    ));
                }
            }
            Ok(())
        })
    }

    /// The stored catalog of one provider (`None` before the first refresh).
    pub fn catalog(&self, id: &ProviderId) -> Result<Option<Catalog>> {
        Ok(self.get(id)?.catalog)
    }

    /// Stores (or clears) the SHA-256 fingerprint of a self-signed
    /// certificate the person chose to trust for this provider only.
    pub fn set_trusted_cert(&self, id: &ProviderId, sha256: Option<String>) -> Result<Provider> {
        if let Some(fingerprint) = &sha256 {
            let valid = fingerprint.len() == 64
                && fingerprint
                    .bytes()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
            if !valid {
                return Err(Error::invalid(
                    "trusted_cert_sha256",
                    "A fingerprint is 64 lowercase hex characters.",
                ));
            }
        }
        self.change(id, |provider| {
            provider.trusted_cert_sha256 = sha256;
            provider.updated_at = OffsetDateTime::now_utc();
            Ok(())
        })
    }

    /// Loads, changes one provider (no keychain), validates and writes.
    fn change(
        &self,
        id: &ProviderId,
        f: impl FnOnce(&mut Provider) -> Result<()>,
    ) -> Result<Provider> {
        config::update(&self.paths, |document| {
            let providers = Loaded::from_document(document.clone()).providers;
            let mut provider = find(&providers, id)?.clone();
            f(&mut provider)?;
            replace_record(document, &provider)?;
            Ok(provider)
        })
    }

    /// Writes secrets bound to `origin`, remembering each account's previous value (when
    /// `remember_previous`) so a failed config write can put it back.
    fn write_secrets(
        &self,
        to_write: &[(String, ApiKey)],
        origin: &str,
        remember_previous: bool,
        written: &mut Written,
    ) -> Result<()> {
        for (account, secret) in to_write {
            let previous = if remember_previous {
                self.secrets.get(account)?
            } else {
                None
            };
            self.secrets.set(account, &seal(origin, secret))?;
            written.push((account.clone(), previous));
        }
        Ok(())
    }

    /// Writes the proxy password a draft sets, bound to the proxy's origin.
    fn write_proxy_secret(
        &self,
        secret: Option<(String, String, ApiKey)>,
        remember_previous: bool,
        written: &mut Written,
    ) -> Result<()> {
        match secret {
            Some((account, proxy_origin, password)) => self.write_secrets(
                &[(account, password)],
                &proxy_origin,
                remember_previous,
                written,
            ),
            None => Ok(()),
        }
    }

    /// On failure: undoes the keychain writes. On success: refreshes the
    /// cache with what was written. Either way the cache of the touched
    /// accounts is reset first.
    fn finish_write<T>(&self, outcome: Result<T>, written: Written) -> Result<T> {
        self.forget(written.iter().map(|(account, _)| account.as_str()));
        if outcome.is_err() {
            for (account, previous) in written.into_iter().rev() {
                let undo = match &previous {
                    Some(value) => self.secrets.set(&account, value),
                    None => self.secrets.delete(&account),
                };
                if let Err(error) = undo {
                    tracing::error!(%account, %error, "could not roll back a keychain write after the config write failed");
                }
            }
        }
        outcome
    }

    /// Deletes keychain items after a config write; returns one sentence per
    /// failure (logged too), naming the item and how to remove it by hand.
    fn delete_secrets(&self, accounts: &[String]) -> Vec<String> {
        self.forget(accounts.iter().map(String::as_str));
        let mut failures = Vec::new();
        for account in accounts {
            if let Err(error) = self.secrets.delete(account) {
                tracing::warn!(%account, %error, "keychain item left behind after a config change");
                failures.push(format!(
                    "its keychain item `{account}` could not be deleted ({}); delete it later with `secret-tool clear service patchbay username {account}` or your keychain app",
                    describe(&error)
                ));
            }
        }
        failures
    }

    /// The stored secret at `account` with its origin, read from the
    /// keychain once per process while `stamp` stays the same.
    fn cached_secret(
        &self,
        account: &str,
        stamp: (Option<String>, OffsetDateTime),
    ) -> Result<Option<Bound>> {
        if let Ok(cache) = self.cache.lock() {
            if let Some(cached) = cache.get(account).filter(|cached| cached.stamp == stamp) {
                return Ok(Some(Bound {
                    origin: cached.origin.clone(),
                    value: cached.value.clone(),
                }));
            }
        }
        let Some(stored) = self.secrets.get(account)? else {
            return Ok(None);
        };
        let bound = unseal(&stored);
        if bound.origin.is_some() {
            if let Ok(mut cache) = self.cache.lock() {
                cache.insert(
                    account.to_owned(),
                    Cached {
                        stamp,
                        origin: bound.origin.clone(),
                        value: bound.value.clone(),
                    },
                );
            }
        }
        Ok(Some(bound))
    }

    fn forget<'a>(&self, accounts: impl Iterator<Item = &'a str>) {
        if let Ok(mut cache) = self.cache.lock() {
            for account in accounts {
                cache.remove(account);
            }
        }
    }
}

fn describe(error: &Error) -> &'static str {
    match error.kind() {
        Kind::KeychainUnavailable => "no keychain service is running",
        Kind::KeychainLocked => "the keychain is locked",
        Kind::KeychainTimeout => "the keychain did not answer",
        _ => "the keychain refused",
    }
}

fn find<'a>(providers: &'a [Provider], id: &ProviderId) -> Result<&'a Provider> {
    providers
        .iter()
        .find(|provider| &provider.id == id)
        .ok_or_else(|| Error::NotFound { id: id.to_string() })
}

/// Every id in the file, valid or not, so a generated id never collides
/// with an entry waiting to be fixed by hand.
fn taken_ids(document: &ConfigDocument) -> Vec<ProviderId> {
    document
        .providers
        .iter()
        .map(|record| record.id.as_str())
        .chain(
            document
                .rejected
                .iter()
                .filter_map(|record| record.id.as_deref()),
        )
        .filter_map(|id| ProviderId::parse(id).ok())
        .collect()
}

/// Replaces the record of `provider` in place, keeping its unknown fields,
/// after checking the new record reads back as a valid provider.
fn replace_record(document: &mut ConfigDocument, provider: &Provider) -> Result<()> {
    let record = document
        .providers
        .iter_mut()
        .find(|record| record.id == provider.id.as_str())
        .ok_or_else(|| Error::NotFound {
            id: provider.id.to_string(),
        })?;
    let new_record = config::record_from_provider(provider, record.extra.clone());
    if let Err(message) = config::provider_from_record(&new_record) {
        return Err(Error::invalid("provider", message));
    }
    *record = new_record;
    Ok(())
}

fn model_entry(id: String) -> ModelEntry {
    ModelEntry::new(id)
}

/// The edited model list, keeping the metadata discovery already learnt for
/// ids that stay.
fn merge_models(existing: &[ModelEntry], ids: Vec<String>) -> Vec<ModelEntry> {
    ids.into_iter()
        .map(|id| match existing.iter().find(|model| model.id == id) {
            Some(model) => model.clone(),
            None => model_entry(id),
        })
        .collect()
}

/// The chosen models after a change, checked by the form's rules.
fn check_models(models: &[ModelEntry]) -> Result<()> {
    let ids: Vec<String> = models.iter().map(|model| model.id.clone()).collect();
    let problems = validation::model_list_problems(&ids);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

/// The keychain accounts of `existing`'s secrets that an edit keeps as
/// stored (the key with `Keep`, secret headers without a new value).
fn kept_secrets(
    existing: &Provider,
    auth: Auth,
    key: &ValidKeyChange,
    headers: &[validation::ValidHeader],
) -> Vec<String> {
    let mut kept = Vec::new();
    if auth == Auth::ApiKey && matches!(key, ValidKeyChange::Keep) && existing.key_hint.is_some() {
        kept.push(key_account(&existing.id));
    }
    kept.extend(
        headers
            .iter()
            .filter(|header| header.secret && header.value.is_none())
            .map(|header| header_account(&existing.id, &header.name)),
    );
    kept
}

/// The stored headers: plain values in the config, secret values queued for
/// the keychain (only their hint is stored). A secret header without a new
/// value keeps the stored one (validation allows that only when it exists).
fn build_headers(
    id: &ProviderId,
    valid: &[validation::ValidHeader],
    existing: Option<&Provider>,
    to_write: &mut Vec<(String, ApiKey)>,
) -> Result<Vec<CustomHeader>> {
    let mut headers = Vec::with_capacity(valid.len());
    for (position, header) in valid.iter().enumerate() {
        let missing_value = || {
            Error::invalid(
                format!("headers[{position}].value"),
                "Enter a value for this header.",
            )
        };
        let stored = if header.secret {
            let hint = match &header.value {
                Some(value) => {
                    to_write.push((header_account(id, &header.name), value.clone()));
                    Some(value.hint())
                }
                None => existing
                    .and_then(|provider| {
                        provider
                            .headers
                            .iter()
                            .find(|old| old.secret && old.name.eq_ignore_ascii_case(&header.name))
                    })
                    .ok_or_else(missing_value)?
                    .hint
                    .clone(),
            };
            CustomHeader {
                name: header.name.clone(),
                value: None,
                secret: true,
                hint,
            }
        } else {
            let value = header.value.as_ref().ok_or_else(missing_value)?;
            CustomHeader {
                name: header.name.clone(),
                value: Some(value.expose().to_owned()),
                secret: false,
                hint: None,
            }
        };
        headers.push(stored);
    }
    Ok(headers)
}

/// Whether a connection test of `before` says nothing about `after`: the
/// base URL, network allowance, authentication, headers or proxy differ.
fn connection_changed(before: &Provider, after: &Provider) -> bool {
    before.base_url != after.base_url
        || before.network != after.network
        || before.auth != after.auth
        || before.proxy != after.proxy
        || before.proxy_username != after.proxy_username
        || before.ca_certificate != after.ca_certificate
        || before.api != after.api
        || before.api_version != after.api_version
        || before.headers != after.headers
}

/// The proxy password to write, with its account and the proxy origin it is
/// bound to, when the draft sets one.
fn proxy_secret(
    id: &ProviderId,
    transport: &validation::ValidTransport,
) -> Option<(String, String, ApiKey)> {
    let auth = transport.proxy_auth.as_ref()?;
    let proxy = transport.proxy.as_ref()?;
    match &auth.password {
        ValidKeyChange::Set(password) => {
            Some((proxy_account(id), origin_of(proxy), password.clone()))
        }
        ValidKeyChange::Keep | ValidKeyChange::Remove => None,
    }
}

/// Clears the last test: `change` made it say nothing about the provider now.
fn untested(provider: &mut Provider, change: UntestedChange) {
    provider.last_test = None;
    provider.untested_since = Some(UntestedSince {
        change,
        at: OffsetDateTime::now_utc(),
    });
}

/// A provider as the UI, `--json` and `providers.list` show it. Stable:
/// fields are only ever added. There is no key field: only `key_hint`.
///
/// ```json
/// {"id": "openrouter", "label": "OpenRouter", "preset": "openrouter",
///  "base_url": "https://openrouter.ai/api/v1", "host": "openrouter.ai",
///  "auth": "api_key", "key_hint": "sk-or-…9f3a", "key_withheld": null,
///  "key_origin": "https://openrouter.ai",
///  "models": [{"id": "google/gemini-2.5-flash"}], "default_model": "google/gemini-2.5-flash",
///  "enabled": true, "network": "remote",
///  "headers": [{"name": "HTTP-Referer", "value": "https://example.com", "secret": false}],
///  "timeout_secs": null, "trusted_cert_sha256": null, "proxy": null, "last_test": null,
///  "untested_since": null,
///  "catalog": {"count": 371, "fetched_at": "2026-01-01T00:00:00Z", "stale": false,
///              "last_error": null, "last_attempt_at": "2026-01-01T00:00:00Z"},
///  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderView {
    pub id: String,
    pub label: String,
    pub preset: Option<String>,
    pub base_url: String,
    pub host: String,
    pub auth: Auth,
    pub key_hint: Option<String>,
    /// Set when the stored key and secret header values were given for
    /// another origin than the base URL now has (the file was edited by
    /// hand): Patchbay sends none of them until the person confirms.
    pub key_withheld: Option<KeyWithheldView>,
    /// The origin the stored secrets were given for (`null` when nothing
    /// is stored): a base URL on another origin needs the person's yes.
    pub key_origin: Option<String>,
    /// Each chosen model as stored, plus what it can do (`capabilities`:
    /// advertised, probed or unknown, see `docs/config.md`).
    pub models: Vec<ModelView>,
    pub default_model: String,
    pub enabled: bool,
    pub network: NetworkAllowance,
    /// Secret headers carry `hint`, never `value`.
    pub headers: Vec<CustomHeader>,
    pub timeout_secs: Option<u32>,
    pub trusted_cert_sha256: Option<String>,
    /// The provider's proxy (`http://proxy.corp:3128`), when set.
    pub proxy: Option<String>,
    /// The proxy's user name; set means a password is stored too (it is
    /// never shown).
    pub proxy_username: Option<String>,
    /// CA certificates trusted for this provider: the PEM and what each
    /// certificate is. `null` when none.
    pub ca_certificate: Option<CaCertificateView>,
    /// `openai` or `azure_openai`.
    pub api: crate::model::Api,
    /// Azure's classic deployments API version; `null`: the v1 API.
    pub api_version: Option<String>,
    pub last_test: Option<LastTest>,
    /// Why `last_test` is `null`: `{"change": "key" | "connection", "at"}`
    /// when the key or the connection changed since the last test.
    pub untested_since: Option<UntestedSince>,
    /// How the last model-list refresh went, without the list itself (see
    /// [`ProviderStore::catalog`]); `null` before the first refresh.
    pub catalog: Option<CatalogSummary>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One model of a [`ProviderView`]: the stored model and its capabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelView {
    #[serde(flatten)]
    pub entry: ModelEntry,
    pub capabilities: crate::model::Capabilities,
}

/// `ca_certificate` of a [`ProviderView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaCertificateView {
    pub pem: String,
    pub certificates: Vec<crate::certificates::CertificateSummary>,
}

/// `key_withheld` of a [`ProviderView`]:
/// `{"given_for": "https://old.example", "base_origin": "https://new.example"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyWithheldView {
    /// The origin the stored secrets were given for.
    pub given_for: String,
    /// The origin of the base URL now.
    pub base_origin: String,
}

impl From<&Provider> for ProviderView {
    fn from(provider: &Provider) -> Self {
        Self {
            id: provider.id.to_string(),
            label: provider.label.clone(),
            preset: provider.preset.clone(),
            base_url: crate::base_url::display(&provider.base_url),
            host: provider.host().to_owned(),
            auth: provider.auth,
            key_hint: provider.key_hint.clone(),
            key_withheld: withheld_origin(provider).map(|given_for| KeyWithheldView {
                given_for: given_for.to_owned(),
                base_origin: origin_of(&provider.base_url),
            }),
            key_origin: provider.key_origin.clone(),
            models: provider
                .models
                .iter()
                .map(|model| ModelView {
                    capabilities: crate::model::capabilities_of(model),
                    entry: model.clone(),
                })
                .collect(),
            default_model: provider.default_model().to_owned(),
            enabled: provider.enabled,
            network: provider.network,
            headers: provider
                .headers
                .iter()
                .map(|header| CustomHeader {
                    name: header.name.clone(),
                    value: header.shown_value(),
                    secret: header.secret,
                    hint: header.hint.clone(),
                })
                .collect(),
            timeout_secs: provider.timeout_secs,
            trusted_cert_sha256: provider.trusted_cert_sha256.clone(),
            proxy: provider.proxy.as_ref().map(validation::display_proxy),
            proxy_username: provider.proxy_username.clone(),
            ca_certificate: provider
                .ca_certificate
                .as_ref()
                .map(|pem| CaCertificateView {
                    pem: pem.clone(),
                    certificates: crate::certificates::stored_ca_summaries(pem),
                }),
            api: provider.api,
            api_version: provider.api_version.clone(),
            last_test: provider.last_test.clone(),
            untested_since: provider.untested_since.clone(),
            catalog: provider.catalog.as_ref().map(CatalogSummary::from),
            created_at: provider.created_at,
            updated_at: provider.updated_at,
        }
    }
}
