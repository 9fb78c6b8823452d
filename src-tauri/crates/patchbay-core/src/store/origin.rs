//! A key goes only where the person sent it. Each stored secret (the API
//! key, a secret header value) carries the origin — scheme, host and port —
//! of the base URL it was given for, inside the stored value itself:
//!
//! ```text
//! patchbay-origin https://api.example.com
//! sk-the-key-itself
//! ```
//!
//! Not in `providers.json`, where a hand edit would change the URL and the
//! origin together, and not in keychain attributes, which not every
//! platform's store keeps. The config's `key_origin` is a copy for display
//! (the window shows "key withheld" without reading the keychain); the
//! value in the keychain decides.
//!
//! A request to another origin does not get the secret: reading it for a
//! destination whose origin differs is [`Error::KeyWithheld`], until the
//! person confirms the move ([`ProviderStore::move_key`], or a draft with
//! `move_key`) or enters a new key. A value stored before origins were kept
//! (no first line) is bound, on first read, to the provider's saved base URL
//! and rewritten in the new form.

use url::Url;

use super::ProviderStore;
use crate::error::{Error, Result};
use crate::id::ProviderId;
use crate::keychain::{header_account, key_account};
use crate::model::{Auth, Provider};
use crate::secret::ApiKey;

const MARKER: &str = "patchbay-origin ";

/// The origin of `url` as Patchbay compares and shows it: `https://host`,
/// with the port only when it is not the scheme's default.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A secret and the origin it is bound to (`None`: stored by a version that
/// did not keep origins).
pub(super) struct Bound {
    pub(super) origin: Option<String>,
    pub(super) value: ApiKey,
}

/// The stored form of `secret` bound to `origin`.
pub(super) fn seal(origin: &str, secret: &ApiKey) -> ApiKey {
    ApiKey::new(format!("{MARKER}{origin}\n{}", secret.expose()))
}

/// Reads a stored value back (either form).
pub(super) fn unseal(stored: &ApiKey) -> Bound {
    let text = stored.expose();
    if let Some(rest) = text.strip_prefix(MARKER) {
        if let Some((origin, value)) = rest.split_once('\n') {
            return Bound {
                origin: Some(origin.to_owned()),
                value: ApiKey::new(value),
            };
        }
    }
    Bound {
        origin: None,
        value: stored.clone(),
    }
}

/// Where a request carrying a provider's secrets is about to go.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub url: &'a Url,
    /// The person confirmed sending the stored secrets there (a draft with
    /// `move_key`): no origin check.
    pub confirmed: bool,
}

impl<'a> Destination<'a> {
    /// The provider's own saved base URL, unconfirmed: a hand edit of the
    /// file leaves the secret withheld.
    pub fn saved(provider: &'a Provider) -> Self {
        Self {
            url: &provider.base_url,
            confirmed: false,
        }
    }
}

/// What the window shows for a provider whose stored secrets were given for
/// another origin than its base URL now has (judged from the config's copy
/// of the origin; the keychain's decides at use).
pub fn withheld_origin(provider: &Provider) -> Option<&str> {
    let has_secrets = (provider.auth == Auth::ApiKey && provider.key_hint.is_some())
        || provider.headers.iter().any(|header| header.secret);
    let bound = provider.key_origin.as_deref()?;
    (has_secrets && bound != origin_of(&provider.base_url)).then_some(bound)
}

/// The keychain accounts of every stored secret of `provider`.
pub(super) fn secret_accounts(provider: &Provider) -> Vec<String> {
    let mut accounts = Vec::new();
    if provider.auth == Auth::ApiKey && provider.key_hint.is_some() {
        accounts.push(key_account(&provider.id));
    }
    accounts.extend(
        provider
            .headers
            .iter()
            .filter(|header| header.secret)
            .map(|header| header_account(&provider.id, &header.name)),
    );
    accounts
}

pub(super) fn withheld(id: &ProviderId, given_for: &str, destination: &Url) -> Error {
    Error::KeyWithheld {
        id: id.to_string(),
        given_for: given_for.to_owned(),
        destination: origin_of(destination),
    }
}

impl ProviderStore {
    /// Lets `provider`'s stored secrets (key and secret header values) go to
    /// its current base URL: the person confirmed it ("Send your key for
    /// <old> to <new>?", `patchbay provider edit ID --move-key`). Rewrites
    /// each keychain item bound to the base URL's origin and records that
    /// origin in the config.
    pub fn move_key(&self, id: &ProviderId) -> Result<Provider> {
        let mut written = super::Written::new();
        let outcome = crate::config::update(&self.paths, |document| {
            let providers = crate::config::Loaded::from_document(document.clone()).providers;
            let mut provider = super::find(&providers, id)?.clone();
            let origin = origin_of(&provider.base_url);
            let mut to_write = Vec::new();
            for account in secret_accounts(&provider) {
                if let Some(stored) = self.secrets.get(&account)? {
                    to_write.push((account, unseal(&stored).value));
                }
            }
            self.write_secrets(&to_write, &origin, true, &mut written)?;
            provider.key_origin = (!to_write.is_empty()).then_some(origin);
            super::replace_record(document, &provider)?;
            Ok(provider)
        });
        self.finish_write(outcome, written)
    }

    /// The secret at `account` for a request to `destination`: `None` when
    /// nothing is stored, [`Error::KeyWithheld`] when it was given for
    /// another origin and the person has not confirmed the move.
    pub(super) fn release(
        &self,
        provider: &Provider,
        account: &str,
        stamp: (Option<String>, time::OffsetDateTime),
        destination: Destination<'_>,
    ) -> Result<Option<ApiKey>> {
        let Some(bound) = self.cached_secret(account, stamp)? else {
            return Ok(None);
        };
        let origin = match bound.origin {
            Some(origin) => origin,
            None => self.bind_legacy(provider, account, &bound.value),
        };
        if destination.confirmed || origin == origin_of(destination.url) {
            Ok(Some(bound.value))
        } else {
            Err(withheld(&provider.id, &origin, destination.url))
        }
    }

    /// Binds a value stored without an origin to the provider's saved base
    /// URL and rewrites it in the new form (best effort: a failed rewrite is
    /// logged and tried again on the next read).
    fn bind_legacy(&self, provider: &Provider, account: &str, value: &ApiKey) -> String {
        let origin = origin_of(&provider.base_url);
        match self.secrets.set(account, &seal(&origin, value)) {
            Ok(()) => self.forget(std::iter::once(account)),
            Err(error) => {
                tracing::warn!(%account, %error, "could not record the origin of a stored secret");
            }
        }
        origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_read_back_and_old_values_have_no_origin() {
        let key = ApiKey::new("sk-abc\u{e9}def");
        let sealed = seal("https://api.example.com", &key);
        let bound = unseal(&sealed);
        assert_eq!(bound.origin.as_deref(), Some("https://api.example.com"));
        assert_eq!(bound.value, key);
        let old = unseal(&key);
        assert_eq!(old.origin, None);
        assert_eq!(old.value, key);
    }

    #[test]
    fn origins_name_scheme_host_and_any_other_port() {
        let origin = |raw: &str| origin_of(&Url::parse(raw).expect("url"));
        assert_eq!(
            origin("https://api.example.com/v1"),
            "https://api.example.com"
        );
        assert_eq!(
            origin("https://api.example.com:443/v1"),
            "https://api.example.com"
        );
        assert_eq!(
            origin("https://api.example.com:8443/v1"),
            "https://api.example.com:8443"
        );
        assert_eq!(
            origin("http://127.0.0.1:11434/v1"),
            "http://127.0.0.1:11434"
        );
        assert_ne!(
            origin("http://api.example.com/v1"),
            origin("https://api.example.com/v1")
        );
        assert_eq!(origin("http://[::1]:8080/v1"), "http://[::1]:8080");
    }
}
