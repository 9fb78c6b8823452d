//! Saving and changing providers. Validation (every field, the egress rules
//! that need no DNS) and the keychain's write ordering are the domain's
//! (`patchbay-core`); this module is what the window, the CLI and the IPC
//! server call, so each operation has one entry point. Blocking: callers on
//! an async runtime run these on its blocking pool.

use patchbay_core::entries::PickerEntry;
use patchbay_core::store::{Listing, Saved};
use patchbay_core::validation::ProviderDraft;
use patchbay_core::{ApiKey, Provider, ProviderId};

use crate::{Result, Service};

fn is_keychain_problem(kind: patchbay_core::Kind) -> bool {
    use patchbay_core::Kind;
    matches!(
        kind,
        Kind::KeychainUnavailable
            | Kind::KeychainLocked
            | Kind::KeychainTimeout
            | Kind::Keychain
            | Kind::KeyMissing
    )
}

impl Service {
    /// Every provider and the records that could not be loaded. Never
    /// touches the keychain.
    pub fn list_providers(&self) -> Result<Listing> {
        Ok(self.store.list()?)
    }

    /// The model-picker entries host apps see: one per enabled provider ×
    /// chosen model, `<provider_id>/<model_id>`. Never touches the keychain.
    pub fn entries(&self) -> Result<Vec<PickerEntry>> {
        let listing = self.store.list()?;
        Ok(patchbay_core::entries::picker_entries(&listing.providers))
    }

    /// The enabled providers whose stored key (or secret header value)
    /// cannot be read now, with why: what `patchbay serve` reports at start
    /// on a machine whose keychain is locked or absent (a headless server).
    /// Keys that can be read are cached for the requests that follow; a
    /// key given for another origin is not reported (its requests are
    /// refused on purpose, and the window says so).
    pub fn unreadable_keys(&self) -> Result<Vec<(Provider, patchbay_core::Error)>> {
        let listing = self.store.list()?;
        let mut unreadable = Vec::new();
        for provider in listing.providers.into_iter().filter(|p| p.enabled) {
            let read = self
                .store
                .api_key(&provider.id)
                .and_then(|_| self.store.secret_headers(&provider).map(drop));
            match read {
                Err(error) if is_keychain_problem(error.kind()) => {
                    unreadable.push((provider, error))
                }
                Ok(()) | Err(_) => {}
            }
        }
        Ok(unreadable)
    }

    pub fn provider(&self, id: &ProviderId) -> Result<Provider> {
        Ok(self.store.get(id)?)
    }

    /// Saves a new provider; every field problem is reported at once and
    /// nothing is saved while any remains.
    /// A test of this exact draft run before saving (in the form) becomes
    /// the new provider's last test.
    pub fn add_provider(&self, draft: ProviderDraft) -> Result<Saved> {
        let tested = self.tested_drafts.result_of(&draft.tested_digest(None));
        Ok(self.store.add_tested(draft, tested)?)
    }

    /// Saves `draft` over provider `id`, keeping what the draft keeps (the
    /// stored key, secret header values).
    /// A test of this exact draft run before saving becomes the provider's
    /// last test; otherwise a change to the key or the connection clears it.
    pub fn edit_provider(&self, id: &ProviderId, draft: ProviderDraft) -> Result<Saved> {
        let tested = self.tested_drafts.result_of(&draft.tested_digest(Some(id)));
        Ok(self.store.edit_tested(id, draft, tested)?)
    }

    pub fn set_provider_enabled(&self, id: &ProviderId, enabled: bool) -> Result<Provider> {
        Ok(self.store.set_enabled(id, enabled)?)
    }

    pub fn set_provider_key(&self, id: &ProviderId, key: ApiKey) -> Result<Saved> {
        Ok(self.store.set_key(id, key)?)
    }

    pub fn remove_provider_key(&self, id: &ProviderId) -> Result<Provider> {
        Ok(self.store.remove_key(id)?)
    }

    /// Trusts (or, with `None`, stops trusting) a self-signed certificate
    /// for this provider only.
    pub fn trust_certificate(&self, id: &ProviderId, sha256: Option<String>) -> Result<Provider> {
        Ok(self.store.set_trusted_cert(id, sha256)?)
    }

    /// [`Service::trust_certificate`] for the window: only the certificate
    /// this process's latest test of the provider saw can be trusted (or
    /// the trust removed), so script in the window cannot make Patchbay
    /// accept an arbitrary certificate for a provider.
    pub fn trust_seen_certificate(
        &self,
        id: &ProviderId,
        sha256: Option<String>,
    ) -> Result<Provider> {
        if let Some(fingerprint) = &sha256 {
            if !self.seen_certificates.was_seen(id, fingerprint) {
                return Err(patchbay_core::Error::invalid(
                    "trusted_cert_sha256",
                    "Only the certificate the latest connection test of this provider saw can be trusted here; test the connection again, then trust it.",
                )
                .into());
            }
        }
        self.trust_certificate(id, sha256)
    }

    /// Removes the provider and its keychain items.
    /// The person confirmed that the provider's stored key and secret
    /// header values may go to its current base URL (see
    /// [`ProviderStore::move_key`](patchbay_core::store::ProviderStore::move_key)).
    pub fn move_provider_key(&self, id: &ProviderId) -> Result<Provider> {
        Ok(self.store.move_key(id)?)
    }

    /// The problems saving `draft` would report, without saving anything
    /// (the form's live validation: the same rules, one source of truth).
    /// `editing` is the saved provider the draft edits.
    pub fn check_draft(
        &self,
        draft: &ProviderDraft,
        editing: Option<&ProviderId>,
    ) -> Result<Vec<patchbay_core::error::FieldError>> {
        let providers = self.store.list()?.providers;
        let existing = match editing {
            Some(id) => Some(
                providers
                    .iter()
                    .find(|provider| &provider.id == id)
                    .cloned()
                    .ok_or_else(|| patchbay_core::Error::NotFound { id: id.to_string() })?,
            ),
            None => None,
        };
        match patchbay_core::validation::validate(draft, &providers, existing.as_ref()) {
            Ok(_) => Ok(Vec::new()),
            Err(patchbay_core::Error::Invalid(problems)) => Ok(problems),
            Err(error) => Err(error.into()),
        }
    }

    pub fn remove_provider(&self, id: &ProviderId) -> Result<()> {
        Ok(self.store.remove(id)?)
    }
}
