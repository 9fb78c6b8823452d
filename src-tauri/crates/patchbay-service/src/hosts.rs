//! Host apps, one home for each use case: pairing with the person's consent
//! ([`Pairings`]: pending requests, approve, deny, revoke), the paired-host
//! registry in `hosts.json` ([`HostRegistry`]: token hashes, last use, the
//! resolve log), and resolving an entry into a ready request for a paired
//! host ([`crate::Service::resolve`]). The IPC server, the window and the CLI
//! are adapters over these; the coming gateway is one more.

mod activity;
mod pairing;
mod registry;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use patchbay_core::model::{Auth, Provider};
use patchbay_core::store::{Destination, ProviderStore};
use patchbay_core::{Kind, ProviderId};
use patchbay_net::policy::{judge_url, judge_url_resolved};
use patchbay_protocol::entries::split_entry_id;
use patchbay_protocol::rpc::{Requester, ResolveResult};

pub use activity::{
    ActivityLog, ActivityRecord, Usage, ACTIVITY_FILE_LIMIT, ACTIVITY_FILE_NAME, ACTIVITY_MEMORY,
};
pub use pairing::{
    PairingCallback, PairingEvent, Pairings, DEFAULT_PAIRING_TIMEOUT, MAX_PENDING,
    MAX_PENDING_PER_PROCESS,
};
pub use registry::{HostRegistry, HOSTS_FILE_NAME, RESOLVE_LOG_CAPACITY};

use crate::Service;

/// What can go wrong with host apps. No message contains a token, a key or
/// a header value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostsError {
    #[error("Could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a valid hosts file ({detail}); it was left untouched. Fix or remove it to pair again.")]
    HostsCorrupt { path: PathBuf, detail: String },

    #[error("Another Patchbay process is holding the lock on {path}; try again in a moment.")]
    HostsBusy { path: PathBuf },

    /// A pairing request whose app id or name is not acceptable.
    #[error("Invalid params: {detail}")]
    InvalidParams { detail: String },

    #[error("The token is unknown or was revoked. Pair again with host.pair.")]
    Unauthorized,

    #[error("The pairing request was denied.")]
    PairingDenied,

    #[error("Nobody answered the pairing request within {seconds} s.")]
    PairingTimeout { seconds: u64 },

    #[error("A pairing request from `{app_id}` is already waiting for a decision.")]
    PairingInProgress { app_id: String },

    #[error("Too many pairing requests are waiting; decide on them first.")]
    TooManyPending,

    #[error("Process {pid} already has {limit} pairing requests waiting; decide on them first (see `patchbay hosts pending`).")]
    TooManyPendingFromProcess { pid: u32, limit: usize },

    #[error("No pairing request `{request_id}` is waiting (it was decided, expired, or never existed). See `patchbay hosts pending`.")]
    NotPending { request_id: String },

    #[error("The app that asked to pair (`{app_id}`) stopped waiting; ask it to pair again.")]
    RequesterGone { app_id: String },

    #[error("No enabled entry `{entry_id}`. List entries with entries.list.")]
    EntryNotFound { entry_id: String },

    #[error("`{app_name}` may not use `{entry_id}`: the person limited it to other models. They can change that under Connected apps (patchbay hosts entries).")]
    EntryNotAllowed { app_name: String, entry_id: String },

    #[error("Provider `{provider_id}` needs an API key but none is stored. Add one in Patchbay.")]
    KeyMissing { provider_id: String },

    /// Protocol 1 asked for the raw key of an app the person did not allow.
    #[error("Patchbay does not hand raw keys to `{app_name}`. Send requests through Patchbay's gateway instead (entries.resolve with \"protocol\": 2; patchbay-client does), or ask the person to allow raw keys for this app under Connected apps (patchbay hosts raw-keys).")]
    RawKeysNotAllowed { app_name: String },

    /// Protocol 1 for an entry whose API is not OpenAI-compatible as a base
    /// URL plus headers (Azure's classic deployments API).
    #[error("`{provider_id}` uses Azure OpenAI's classic deployments API, whose URLs are not OpenAI-compatible: send requests through Patchbay's gateway instead (entries.resolve with \"protocol\": 2; patchbay-client does).")]
    GatewayOnly { provider_id: String },

    /// Protocol 2 while the gateway is switched off.
    #[error("Patchbay's gateway is switched off, so there is nowhere to send requests. Turn it on under Connected apps (or run patchbay serve without --no-gateway).")]
    GatewayOff,

    /// The provider's URL is refused at use by its egress policy.
    #[error("Patchbay did not hand out the key of `{provider_id}`: {message} Fix the provider's base URL in Patchbay.")]
    EndpointRefused {
        provider_id: String,
        message: String,
    },

    #[error("{0}")]
    Store(#[from] patchbay_core::Error),

    #[error("Patchbay failed: {detail}")]
    Internal { detail: String },
}

impl HostsError {
    /// What went wrong, in the one vocabulary.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Io { .. } => Kind::Io,
            Self::HostsCorrupt { .. } => Kind::HostsCorrupt,
            Self::HostsBusy { .. } => Kind::HostsBusy,
            Self::InvalidParams { .. } => Kind::InvalidParams,
            Self::Unauthorized => Kind::TokenRejected,
            Self::PairingDenied => Kind::PairingDenied,
            Self::PairingTimeout { .. } => Kind::PairingTimeout,
            Self::PairingInProgress { .. } => Kind::PairingInProgress,
            Self::TooManyPending | Self::TooManyPendingFromProcess { .. } => Kind::TooManyPending,
            Self::NotPending { .. } => Kind::NotPending,
            Self::RequesterGone { .. } => Kind::RequesterGone,
            Self::EntryNotFound { .. } => Kind::EntryNotFound,
            Self::EntryNotAllowed { .. } => Kind::EntryNotAllowed,
            Self::KeyMissing { .. } => Kind::KeyMissing,
            Self::EndpointRefused { .. } => Kind::EndpointRefused,
            Self::RawKeysNotAllowed { .. } | Self::GatewayOnly { .. } => Kind::RawKeysNotAllowed,
            Self::GatewayOff => Kind::GatewayOff,
            Self::Store(error) => error.kind(),
            Self::Internal { .. } => Kind::Internal,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = HostsError> = std::result::Result<T, E>;

/// Echoed client text is capped so an error can't amplify a large request.
fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((position, _)) => format!("{}…", &text[..position]),
        None => text.to_owned(),
    }
}

/// What `entries.resolve` hands a paired host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handout {
    /// Protocol 2: the local gateway's base URL (`None` while it is off),
    /// the entry id as the model, and the host's own token as the bearer.
    /// The provider's key stays in Patchbay.
    Gateway { base_url: Option<String> },
    /// Protocol 1: the provider's own base URL, key and headers — only for
    /// an app the person allowed to receive raw keys.
    RawKey,
}

impl Service {
    /// Resolves `entry_id` (`<provider_id>/<model_id>`) for the paired host
    /// holding `token` into a ready request: base URL, the raw model id and
    /// the headers (the key as `Authorization`, the secret headers). The
    /// token is checked first, so an unpaired caller learns nothing about
    /// which entries exist. The provider's URL is then judged as a test
    /// judges it, with DNS, under its egress policy: a URL refused now (a
    /// hand-edited metadata address, an `http://` name that resolves to the
    /// internet) gets [`HostsError::EndpointRefused`] and no key; so does a
    /// key given for another origin (the key stays withheld). The resolve is
    /// recorded (the log, last use, a [`PairingEvent::Resolved`]).
    pub async fn resolve(
        &self,
        pairings: &Pairings,
        token: &str,
        entry_id: &str,
        requester: Option<Requester>,
        handout: Handout,
    ) -> Result<ResolveResult> {
        let store = self.store().clone();
        let registry = pairings.registry().clone();
        let (bearer, wanted) = (token.to_owned(), entry_id.to_owned());
        let (host, provider, model_id) = off_runtime(move || {
            let host = registry.authenticate(&bearer)?;
            let (provider, model_id) = find_entry(&store, &wanted)?;
            if !host.may_use(&wanted) {
                return Err(HostsError::EntryNotAllowed {
                    app_name: host.app_name,
                    entry_id: wanted,
                });
            }
            Ok((host, provider, model_id))
        })
        .await?;
        match handout {
            Handout::Gateway { base_url } => {
                let base_url = base_url.ok_or(HostsError::GatewayOff)?;
                let pairings = pairings.clone();
                let (entry_id, token) = (entry_id.to_owned(), token.to_owned());
                return off_runtime(move || {
                    pairings.record_resolve(&host.app_id, &entry_id, requester)?;
                    tracing::info!(app_id = %host.app_id, entry_id, "entry resolved to the gateway");
                    let mut headers = BTreeMap::new();
                    headers.insert("Authorization".to_owned(), format!("Bearer {token}"));
                    Ok(ResolveResult {
                        base_url,
                        model_id: entry_id.clone(),
                        headers,
                        entry_id,
                    })
                })
                .await;
            }
            Handout::RawKey if !host.raw_keys => {
                return Err(HostsError::RawKeysNotAllowed {
                    app_name: host.app_name,
                })
            }
            Handout::RawKey => {}
        }
        if provider.api_version.is_some() {
            return Err(HostsError::GatewayOnly {
                provider_id: provider.id.to_string(),
            });
        }
        self.judge_at_use(&provider).await?;
        let store = self.store().clone();
        let pairings = pairings.clone();
        let entry_id = entry_id.to_owned();
        off_runtime(move || {
            let mut headers = BTreeMap::new();
            for (name, value) in store.secret_headers(&provider)? {
                headers.insert(name, value.expose().to_owned());
            }
            if provider.auth == Auth::ApiKey {
                let key = store
                    .api_key_for(&provider, Destination::saved(&provider))?
                    .ok_or_else(|| HostsError::KeyMissing {
                        provider_id: provider.id.to_string(),
                    })?;
                if provider.api == patchbay_core::model::Api::AzureOpenai {
                    // Azure's v1 API: OpenAI paths, the key as `api-key`.
                    headers.insert("api-key".to_owned(), key.expose().to_owned());
                } else {
                    headers.insert(
                        "Authorization".to_owned(),
                        format!("Bearer {}", key.expose()),
                    );
                }
            }
            pairings.record_resolve(&host.app_id, &entry_id, requester)?;
            tracing::info!(app_id = %host.app_id, entry_id, "entry resolved");
            Ok(ResolveResult {
                base_url: provider.base_url.as_str().trim_end_matches('/').to_owned(),
                model_id,
                headers,
                entry_id,
            })
        })
        .await
    }

    /// The provider's base URL judged now, with DNS, under its network
    /// allowance. Through a proxy the proxy resolves the name, so the URL
    /// gets the rules that need no DNS (which refuse plain `http://` to a
    /// name).
    async fn judge_at_use(&self, provider: &Provider) -> Result<()> {
        let raw = provider.base_url.as_str();
        let verdict = if provider.proxy.is_some() {
            judge_url(raw, provider.network)
        } else {
            judge_url_resolved(raw, provider.network, self.lookup()).await
        };
        if verdict.allowed {
            Ok(())
        } else {
            tracing::warn!(provider = %provider.id, reason = verdict.reason.as_str(), "entry refused at use");
            Err(HostsError::EndpointRefused {
                provider_id: provider.id.to_string(),
                message: verdict.message,
            })
        }
    }
}

/// The enabled provider and model an entry id names.
pub(crate) fn find_entry(store: &ProviderStore, entry_id: &str) -> Result<(Provider, String)> {
    let not_found = || HostsError::EntryNotFound {
        entry_id: truncate(entry_id, 300),
    };
    let (provider_part, model_id) = split_entry_id(entry_id).ok_or_else(not_found)?;
    let provider_id = ProviderId::parse(provider_part).map_err(|_| not_found())?;
    let provider = match store.get(&provider_id) {
        Ok(provider) => provider,
        Err(error) if error.kind() == Kind::ProviderNotFound => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    // A hidden model is kept for the person but offered to no host app.
    let offered = provider
        .models
        .iter()
        .any(|model| model.id == model_id && !model.hidden);
    if !provider.enabled || !offered {
        return Err(not_found());
    }
    Ok((provider, model_id.to_owned()))
}

/// Runs blocking work (the config file, the keychain, `hosts.json`) on the
/// runtime's blocking pool.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| HostsError::Internal {
            detail: format!("a worker task failed: {error}"),
        })?
}
