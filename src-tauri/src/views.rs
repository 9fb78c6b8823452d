//! The shapes the webview receives that the domain does not already define:
//! the list (providers, per-entry problems, the start-up notice), a save
//! result, and the live base-URL preview. `ProviderView` itself comes from
//! `patchbay_core::store` so the UI, `--json` and IPC agree on one shape.
//! None of these has a field that could hold a secret.

use patchbay_core::base_url::{self, BaseUrlCheck};
use patchbay_core::config::LoadProblem;
use patchbay_core::error::FieldError;
use patchbay_core::store::{Listing, ProviderView, Saved};
use patchbay_core::validation::Notice;
use serde::Serialize;

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
            },
            Err(problem) => Self {
                error: Some(problem.message),
                ..Self::default()
            },
        }
    }
}
