//! What a request to a provider carries: the base URL, the key, the custom
//! headers, the timeout, the proxy, a trusted certificate. The one place
//! that reads a provider's secrets for a request, for a saved provider as
//! stored or for an unsaved draft of one (the form's typed values, a CLI
//! `--base-url` endpoint).

use std::time::Duration;

use patchbay_core::model::{Auth, Provider};
use patchbay_core::presets;
use patchbay_core::store::{Destination, ProviderStore};
use patchbay_core::validation::{
    validate_connection, Notice, ProviderDraft, ValidHeader, ValidKeyChange,
};
use patchbay_core::{ApiKey, ProviderId};
use patchbay_net::Target;

/// What a test or a discovery runs against.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A saved provider as stored; a test's result is recorded as its last
    /// test.
    Saved(ProviderId),
    /// An unsaved draft, checked by the rules a save applies. `editing` is
    /// the saved provider the draft edits: its stored key (`KeyChange::Keep`)
    /// and secret header values (a secret header without a value) fill in
    /// what the draft keeps. A draft's result is kept under its digest and
    /// recorded when that exact draft is saved.
    Draft {
        draft: Box<ProviderDraft>,
        editing: Option<ProviderId>,
    },
}

impl Subject {
    /// A draft that edits nothing.
    pub fn draft(draft: ProviderDraft) -> Self {
        Self::Draft {
            draft: Box::new(draft),
            editing: None,
        }
    }

    /// The saved provider this is (or is an edit of), if any.
    pub(crate) fn provider(&self) -> Option<&ProviderId> {
        match self {
            Self::Saved(id) => Some(id),
            Self::Draft { editing, .. } => editing.as_ref(),
        }
    }

    /// The digest a draft's test result is kept under (`None` for a saved
    /// provider, whose result is recorded at once).
    pub(crate) fn draft_digest(&self) -> Option<patchbay_core::validation::DraftDigest> {
        match self {
            Self::Saved(_) => None,
            Self::Draft { draft, editing } => Some(draft.tested_digest(editing.as_ref())),
        }
    }

    /// The saved provider whose last test a result is recorded as.
    pub(crate) fn recorded(&self) -> Option<&ProviderId> {
        match self {
            Self::Saved(id) => Some(id),
            Self::Draft { .. } => None,
        }
    }
}

/// A target ready to send, with what validation wants the person to know
/// (a removed `/chat/completions`, a trimmed key).
#[derive(Debug)]
pub struct Prepared {
    pub target: Target,
    pub notices: Vec<Notice>,
    /// The first (default) model the person gave, if any: what a test
    /// checks with a one-token chat request where the server does not list
    /// models.
    pub first_model: Option<String>,
    /// Every model the person gave, in order (Azure checks each deployment).
    pub models: Vec<String>,
}

/// Builds the target of `subject`. Blocking: it reads the config file and
/// the keychain.
pub fn prepare(store: &ProviderStore, subject: &Subject) -> Result<Prepared, patchbay_core::Error> {
    match subject {
        Subject::Saved(id) => {
            let provider = store.get(id)?;
            Ok(Prepared {
                target: target_of(store, &provider)?,
                notices: Vec::new(),
                first_model: provider.models.first().map(|model| model.id.clone()),
                models: provider
                    .models
                    .iter()
                    .map(|model| model.id.clone())
                    .collect(),
            })
        }
        Subject::Draft { draft, editing } => draft_target(store, draft, editing.as_ref()),
    }
}

/// The target of `provider` as loaded (the gateway has it already): its
/// key (from the keychain, cached) only when it authenticates, its custom
/// headers, its preset's name.
pub(crate) fn target_of(
    store: &ProviderStore,
    provider: &Provider,
) -> Result<Target, patchbay_core::Error> {
    let key = match provider.auth {
        Auth::ApiKey => store.api_key_for(provider, Destination::saved(provider))?,
        Auth::None => None,
    };
    let headers = store.secret_headers(provider)?;
    let mut target = Target::from_provider(
        provider,
        key,
        headers,
        preset_name(provider.preset.as_deref()),
    );
    target.proxy_credentials = store.proxy_credentials(provider)?;
    Ok(target)
}

fn draft_target(
    store: &ProviderStore,
    draft: &ProviderDraft,
    editing: Option<&ProviderId>,
) -> Result<Prepared, patchbay_core::Error> {
    let saved: Option<Provider> = editing.map(|id| store.get(id)).transpose()?;
    let checked = validate_connection(draft, saved.as_ref())?;
    // The stored secrets go to the draft's base URL only if they were given
    // for its origin, or the person confirmed the move.
    let destination = Destination {
        url: &checked.base_url,
        confirmed: draft.move_key,
    };
    let api_key = match checked.key {
        ValidKeyChange::Set(key) => Some(key),
        ValidKeyChange::Keep => match &saved {
            Some(provider) => store.api_key_for(provider, destination)?,
            None => None,
        },
        ValidKeyChange::Remove => None,
    };
    let headers = header_values(
        store,
        saved.as_ref(),
        checked.transport.headers,
        destination,
    )?;
    let mut target = Target::new(checked.base_url, checked.network);
    target.api_key = api_key;
    target.headers = headers;
    target.timeout = checked
        .timeout_secs
        .map(|seconds| Duration::from_secs(u64::from(seconds)));
    target.proxy_credentials = match checked.transport.proxy_auth {
        Some(auth) => match auth.password {
            ValidKeyChange::Set(password) => Some((auth.username, password)),
            // Validation kept it only for the same proxy origin.
            ValidKeyChange::Keep | ValidKeyChange::Remove => match &saved {
                Some(provider) => store
                    .proxy_credentials(provider)?
                    .map(|(_stored_name, password)| (auth.username, password)),
                None => None,
            },
        },
        None => None,
    };
    target.proxy = checked.transport.proxy;
    target.ca_certificates = checked
        .transport
        .ca
        .map(|bundle| bundle.der)
        .unwrap_or_default();
    // A certificate trusted for the saved provider stays trusted only for
    // the same base URL.
    target.trusted_cert_sha256 = saved
        .filter(|provider| provider.base_url == target.base_url)
        .and_then(|provider| provider.trusted_cert_sha256);
    target.display_name = preset_name(draft.preset.as_deref()).map(str::to_owned);
    target.api = checked.api;
    target.api_version = checked.api_version;
    let models: Vec<String> = draft
        .models
        .iter()
        .map(|model| model.trim())
        .filter(|model| !model.is_empty())
        .map(str::to_owned)
        .collect();
    let first_model = models.first().cloned();
    Ok(Prepared {
        target,
        notices: checked.notices,
        first_model,
        models,
    })
}

/// Every header with its value; a secret header the draft keeps takes the
/// value stored for the provider it edits.
fn header_values(
    store: &ProviderStore,
    saved: Option<&Provider>,
    headers: Vec<ValidHeader>,
    destination: Destination<'_>,
) -> Result<Vec<(String, ApiKey)>, patchbay_core::Error> {
    let kept_secret = headers.iter().any(|header| header.value.is_none());
    let stored = match saved {
        Some(provider) if kept_secret => store.secret_headers_for(provider, destination)?,
        _ => Vec::new(),
    };
    Ok(headers
        .into_iter()
        .filter_map(|header| {
            let value = match header.value {
                Some(value) => Some(value),
                None => stored
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&header.name))
                    .map(|(_, value)| ApiKey::new(value.expose())),
            };
            value.map(|value| (header.name, value))
        })
        .collect())
}

fn preset_name(preset: Option<&str>) -> Option<&'static str> {
    preset.and_then(presets::find).map(|preset| preset.name)
}
