//! The shapes the webview receives that the domain does not already define:
//! the list (providers, per-entry problems, the start-up notice), a save
//! result, the live base-URL preview and a model refresh. `ProviderView` itself comes from
//! `patchbay_core::store` so the UI, `--json` and IPC agree on one shape.
//! None of these has a field that could hold a secret.

use patchbay_core::base_url::{self, BaseUrlCheck};
use patchbay_core::config::LoadProblem;
use patchbay_core::error::{ErrorPayload, FieldError};
use patchbay_core::store::{Listing, ProviderView, Saved};
use patchbay_core::validation::Notice;
use patchbay_net::DiscoveredModel;
use patchbay_service::{Refreshed, ServiceError};
use serde::Serialize;
use time::OffsetDateTime;

/// `list_providers`.
#[derive(Debug, Serialize)]
pub(crate) struct ProviderList {
    pub(crate) providers: Vec<ProviderView>,
    /// Entries of the config file that failed validation: reported, never
    /// silently dropped (`{index, id?, message}`).
    pub(crate) problems: Vec<LoadProblem>,
    /// Why the list may be empty: the file was unreadable and moved aside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<String>,
}

impl ProviderList {
    /// `startup_notice` covers the file being moved aside by the load at
    /// start, before the window first asked for the list.
    pub(crate) fn new(listing: Listing, startup_notice: Option<String>) -> Self {
        Self {
            providers: listing.providers.iter().map(ProviderView::from).collect(),
            problems: listing.problems,
            notice: listing.notice.or(startup_notice),
        }
    }
}

/// `add_provider` / `edit_provider`: the saved provider and what the domain
/// adjusted on the way ("Trimmed a trailing newline from the key").
#[derive(Debug, Serialize)]
pub(crate) struct SavedView {
    pub(crate) provider: ProviderView,
    pub(crate) notices: Vec<Notice>,
}

impl From<Saved> for SavedView {
    fn from(saved: Saved) -> Self {
        Self {
            provider: ProviderView::from(&saved.provider),
            notices: saved.notices,
        }
    }
}

/// `preview_base_url`: what the form shows under the base URL field while
/// the user types.
#[derive(Debug, Default, Serialize)]
pub(crate) struct BaseUrlPreview {
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) models_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) chat_url: Option<String>,
    pub(crate) notices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The egress policy's verdict on the normalised URL (no DNS), so the
    /// form shows a metadata or LAN address as refused while the user types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy: Option<PolicyPreview>,
    /// A wider network allowance under which this URL would be allowed (a
    /// loopback or LAN server typed under Remote access): the form offers
    /// it in one click. Never set for an address no allowance permits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) suggested_network: Option<patchbay_core::NetworkAllowance>,
}

/// `preview_base_url.policy`: `{allowed, reason, message}`.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyPreview {
    pub(crate) allowed: bool,
    pub(crate) reason: patchbay_net::policy::Reason,
    pub(crate) message: String,
}

impl From<patchbay_net::policy::Verdict> for PolicyPreview {
    fn from(verdict: patchbay_net::policy::Verdict) -> Self {
        Self {
            allowed: verdict.allowed,
            reason: verdict.reason,
            message: verdict.message,
        }
    }
}

impl From<Result<BaseUrlCheck, FieldError>> for BaseUrlPreview {
    fn from(result: Result<BaseUrlCheck, FieldError>) -> Self {
        match result {
            Ok(check) => Self {
                ok: true,
                normalized: Some(base_url::display(&check.normalized)),
                models_url: Some(check.models_url),
                chat_url: Some(check.chat_url),
                notices: check.notices,
                error: None,
                policy: None,
                suggested_network: None,
            },
            Err(problem) => Self {
                error: Some(problem.message),
                ..Self::default()
            },
        }
    }
}

/// `refresh_models`: the server's list (or the last good one, `stale`), when
/// it was fetched, why the refresh failed, and the provider with its chosen
/// models marked `missing_upstream` where the server no longer lists them.
#[derive(Debug, Serialize)]
pub(crate) struct ModelCatalog {
    models: Vec<DiscoveredModel>,
    #[serde(with = "time::serde::rfc3339")]
    fetched_at: OffsetDateTime,
    stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorPayload>,
    /// When this refresh ran (`fetched_at` is older when `stale`).
    #[serde(with = "time::serde::rfc3339")]
    last_attempt_at: OffsetDateTime,
    provider: ProviderView,
}

impl From<Refreshed> for ModelCatalog {
    fn from(refreshed: Refreshed) -> Self {
        Self {
            models: refreshed.models,
            fetched_at: refreshed.fetched_at,
            stale: refreshed.stale,
            error: refreshed
                .failure
                .map(|failure| ServiceError::from(failure).to_payload()),
            last_attempt_at: refreshed.last_attempt_at,
            provider: ProviderView::from(&refreshed.provider),
        }
    }
}
