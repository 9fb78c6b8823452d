//! Validation: the one place where a provider form draft (from the UI, the
//! CLI or an IPC request) becomes a [`ValidatedDraft`] the store can save.
//! Every problem is collected, not just the first, so the form can show
//! each one beside its field; nothing is saved while any field is invalid.
//!
//! Rules, by field name (the name used in [`FieldError::field`] and
//! [`Notice::field`]):
//!
//! - `label`: trimmed; 1–64 characters (Unicode scalar values); no control
//!   characters; unique among the other providers ignoring case (the
//!   message names the provider that has it).
//! - `preset`: when given (empty counts as not given), a known preset,
//!   looked up with [`presets::find`] (id or name, ignoring case and
//!   punctuation) and stored as the canonical id.
//! - `base_url`: [`base_url::normalize`] under the draft's network
//!   allowance, then the egress policy without DNS ([`egress::judge_url`]:
//!   a metadata, link-local or reserved address, or a LAN address without
//!   the private allowance, is refused here, with the other fields'
//!   problems); its notices (a removed `/chat/completions`, …) become
//!   notices on `base_url`.
//! - `models` / `models[i]`: at least one; each non-empty, at most 256
//!   characters, no whitespace or control characters; `/` and `:` are legal
//!   and the id is kept byte-for-byte; a duplicate is refused at its own
//!   index. At most [`MAX_MODELS`].
//! - `key`: with API key auth a key is required unless one is stored
//!   (`editing.key_hint`) or the draft sets one; `remove` is refused with
//!   API key auth (choose "No authentication" instead, or set a new key).
//!   A key is at most 4 KiB, printable ASCII with no whitespace inside;
//!   whitespace or a line break around a pasted key is trimmed, with a
//!   notice. With no auth, setting a key is refused, and a stored key is
//!   removed (with a notice) because switching to no auth means no key is
//!   ever sent.
//! - `headers[i].name`: a valid HTTP field name (RFC 9110 `token`), at most
//!   256 characters, not one Patchbay sets itself ([`RESERVED_HEADERS`] and
//!   every `Proxy-*`), no duplicates ignoring case. At most [`MAX_HEADERS`].
//! - `headers[i].value`: at most 8 KiB of printable ASCII, no CR, LF, NUL
//!   or other control characters; whitespace around it is trimmed with a
//!   notice. A value is required, except that a secret header which is
//!   already stored as secret on the provider being edited keeps its stored
//!   value when the value is absent or empty.
//! - `timeout_secs`: 1–600 when given.
//! - `proxy`: empty means none; otherwise an `http://` or `https://` URL
//!   with a host and optionally a port, no path, query or fragment, and no
//!   `user:password@` (credentials go in their own fields: the user name in
//!   the config, the password in the keychain). See [`validate_proxy`].
//! - `proxy_username` / `proxy_password`: HTTP Basic credentials for the
//!   proxy; both or neither, and only with a proxy. The password is bound
//!   to the proxy's origin: a kept password does not follow a change of
//!   proxy host (it must be typed again).
//! - `ca_certificate`: PEM (or DER) of one or more CA certificates; see
//!   [`crate::certificates`].
//!
//! Messages say what is wrong and how to fix it, and never contain a key or
//! a header value.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::certificates::CaBundle;

use crate::base_url;
use crate::egress;
use crate::error::{Error, FieldError};
use crate::model::{Api, Auth, NetworkAllowance, Provider};
use crate::secret::ApiKey;

mod digest;
mod fields;

pub use digest::DraftDigest;

pub(crate) use fields::model_list_problems;
use fields::{check_headers, check_key, check_label, check_models, check_preset};
pub use fields::{
    display_proxy, validate_api_key, validate_model_id, validate_proxy, validate_proxy_password,
    validate_proxy_username, CA_CERTIFICATE_FIELD, KEY_FIELD, MAX_PROXY_CHARS,
    MAX_PROXY_CREDENTIAL_BYTES, MODEL_FIELD, PROXY_FIELD, PROXY_PASSWORD_FIELD,
    PROXY_USERNAME_FIELD,
};

pub const MAX_LABEL_CHARS: usize = 64;
pub const MAX_MODEL_ID_CHARS: usize = 256;
pub const MAX_MODELS: usize = 1024;
pub const MAX_KEY_BYTES: usize = 4096;
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_NAME_CHARS: usize = 256;
pub const MAX_HEADER_VALUE_BYTES: usize = 8192;
pub const TIMEOUT_SECS_RANGE: std::ops::RangeInclusive<u32> = 1..=600;

/// Headers Patchbay sets itself (or that control the connection), compared
/// ignoring case; every `Proxy-*` header is refused as well.
pub const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Content-Type",
    "Content-Length",
    "Host",
    "Accept",
    "Accept-Encoding",
    "Connection",
    "Transfer-Encoding",
    "User-Agent",
    "Cookie",
    "Upgrade",
    "TE",
    "Trailer",
    "Keep-Alive",
];

/// The provider form as submitted. Keys and header values arrive as
/// [`ApiKey`], so they are redacted wherever the draft is printed.
#[derive(Clone, Deserialize)]
pub struct ProviderDraft {
    pub label: String,
    #[serde(default)]
    pub preset: Option<String>,
    pub base_url: String,
    pub auth: Auth,
    #[serde(default)]
    pub key: KeyChange,
    pub models: Vec<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub network: NetworkAllowance,
    #[serde(default)]
    pub headers: Vec<HeaderDraft>,
    #[serde(default)]
    pub timeout_secs: Option<u32>,
    /// The provider's own proxy (`http://proxy.corp:3128`); empty or absent
    /// means none.
    #[serde(default)]
    pub proxy: Option<String>,
    /// The proxy's user name; empty or absent means none.
    #[serde(default)]
    pub proxy_username: Option<String>,
    /// The proxy's password: keep the stored one, set or remove it.
    #[serde(default)]
    pub proxy_password: KeyChange,
    /// CA certificates (PEM) trusted for this provider; empty or absent
    /// means none.
    #[serde(default)]
    pub ca_certificate: Option<String>,
    /// The API the provider speaks (default `openai`).
    #[serde(default)]
    pub api: Api,
    /// Azure's classic deployments API version; empty or absent: the v1
    /// API. Only for `api: azure_openai`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// The person confirmed sending the stored key and secret header values
    /// of the provider this draft edits to the draft's base URL, although
    /// they were given for another origin ("Send your key for <old> to
    /// <new>?"; the CLI's `--move-key`).
    #[serde(default)]
    pub move_key: bool,
}

fn default_true() -> bool {
    true
}

impl ProviderDraft {
    /// An unsaved endpoint to test or list models from (the form's "Browse
    /// models" before saving, `patchbay test --base-url`): its key (none:
    /// no authentication), no label and no models, which only a save needs.
    pub fn endpoint(base_url: String, network: NetworkAllowance, key: Option<ApiKey>) -> Self {
        Self {
            label: String::new(),
            preset: None,
            base_url,
            auth: if key.is_some() {
                Auth::ApiKey
            } else {
                Auth::None
            },
            key: key.map_or(KeyChange::Remove, |value| KeyChange::Set { value }),
            models: Vec::new(),
            enabled: true,
            network,
            headers: Vec::new(),
            timeout_secs: None,
            proxy: None,
            proxy_username: None,
            proxy_password: KeyChange::Keep,
            ca_certificate: None,
            api: Api::Openai,
            api_version: None,
            move_key: false,
        }
    }
}

/// Written by hand because `base_url` is raw input that may still carry a
/// pasted `user:password@`.
impl fmt::Debug for ProviderDraft {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base_url: &str = if self.base_url.contains('@') {
            "[redacted: contains @]"
        } else {
            &self.base_url
        };
        formatter
            .debug_struct("ProviderDraft")
            .field("label", &self.label)
            .field("preset", &self.preset)
            .field("base_url", &base_url)
            .field("auth", &self.auth)
            .field("key", &self.key)
            .field("models", &self.models)
            .field("enabled", &self.enabled)
            .field("network", &self.network)
            .field("headers", &self.headers)
            .field("timeout_secs", &self.timeout_secs)
            .field(
                "proxy",
                &self.proxy.as_deref().map(|proxy| {
                    if proxy.contains('@') {
                        "[redacted: contains @]"
                    } else {
                        proxy
                    }
                }),
            )
            .field("proxy_username", &self.proxy_username)
            .field("proxy_password", &self.proxy_password)
            .field(
                "ca_certificate",
                &self.ca_certificate.as_ref().map(String::len),
            )
            .field("api", &self.api)
            .field("api_version", &self.api_version)
            .field("move_key", &self.move_key)
            .finish()
    }
}

/// What to do with the stored key: `{"action":"keep"}`,
/// `{"action":"set","value":"…"}` or `{"action":"remove"}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum KeyChange {
    #[default]
    Keep,
    Set {
        value: ApiKey,
    },
    Remove,
}

/// One custom header in the form. `value: None` (or an empty value) on a
/// header that is already stored as secret keeps the stored value.
#[derive(Clone, Debug, Deserialize)]
pub struct HeaderDraft {
    pub name: String,
    #[serde(default)]
    pub value: Option<ApiKey>,
    #[serde(default)]
    pub secret: bool,
}

/// Something validation changed or wants the person to know, shown beside
/// the field after saving ("Removed /chat/completions: …").
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notice {
    pub field: String,
    pub message: String,
}

impl Notice {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The key change after validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidKeyChange {
    Keep,
    /// The trimmed, checked key to write to the keychain.
    Set(ApiKey),
    /// Delete the keychain item (absent is fine).
    Remove,
}

/// A custom header after validation. `value: None` means "keep the stored
/// secret value" and only occurs for a header already stored as secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidHeader {
    pub name: String,
    pub value: Option<ApiKey>,
    pub secret: bool,
}

/// A draft that passed [`validate`]: everything normalised, ready to store.
#[derive(Debug, Clone)]
pub struct ValidatedDraft {
    pub label: String,
    /// The canonical preset id.
    pub preset: Option<String>,
    pub base_url: Url,
    pub auth: Auth,
    pub key: ValidKeyChange,
    pub models: Vec<String>,
    pub enabled: bool,
    pub network: NetworkAllowance,
    pub timeout_secs: Option<u32>,
    pub transport: ValidTransport,
    pub api: Api,
    pub api_version: Option<String>,
    pub notices: Vec<Notice>,
}

/// How requests reach the provider, checked: headers, proxy and its
/// credentials, CA certificates.
#[derive(Debug, Clone, Default)]
pub struct ValidTransport {
    pub headers: Vec<ValidHeader>,
    pub proxy: Option<Url>,
    pub proxy_auth: Option<ValidProxyAuth>,
    pub ca: Option<CaBundle>,
}

impl ValidTransport {
    /// The proxy user name to store.
    pub fn proxy_username(&self) -> Option<String> {
        self.proxy_auth.as_ref().map(|auth| auth.username.clone())
    }

    /// The CA certificate PEM to store.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca.as_ref().map(|ca| ca.pem.clone())
    }
}

/// The proxy's credentials after validation.
#[derive(Debug, Clone)]
pub struct ValidProxyAuth {
    pub username: String,
    /// `Set`: a new password to store; `Keep`: the stored one (given for
    /// this same proxy origin). Never `Remove`.
    pub password: ValidKeyChange,
}

/// Validates `draft` against the module's rules. `others` are the saved
/// providers (the one being edited may be among them: it is skipped when
/// checking label uniqueness); `editing` is the stored provider when this
/// is an edit. Returns [`Error::Invalid`] listing every problem found.
pub fn validate(
    draft: &ProviderDraft,
    others: &[Provider],
    editing: Option<&Provider>,
) -> Result<ValidatedDraft, Error> {
    let mut problems: Vec<FieldError> = Vec::new();
    let mut notices: Vec<Notice> = Vec::new();

    let label = check_label(&draft.label, others, editing, &mut problems);
    let preset = check_preset(draft.preset.as_deref(), &mut problems);

    let api = check_api(draft, &mut problems, &mut notices);
    let base_url = check_base_url(
        draft,
        api.raw_base(draft),
        Egress::Judge,
        &mut problems,
        &mut notices,
    );
    let mut typed_models = draft.models.clone();
    if let Some(deployment) = api.deployment.clone() {
        if !typed_models.iter().any(|model| model.trim() == deployment) {
            typed_models.retain(|model| !model.trim().is_empty());
            notices.push(Notice::new(
                "models",
                format!("Added the deployment `{deployment}` from the pasted URL to the models."),
            ));
            typed_models.push(deployment);
        }
    }
    let models = check_models(&typed_models, &mut problems);
    let key = check_key(draft.auth, &draft.key, editing, &mut problems, &mut notices);
    let transport = check_transport(draft, editing, &mut problems, &mut notices);

    match (base_url, key) {
        (Some(base_url), Some(key)) if problems.is_empty() => Ok(ValidatedDraft {
            label,
            preset,
            base_url,
            auth: draft.auth,
            key,
            models,
            enabled: draft.enabled,
            network: draft.network,
            timeout_secs: draft.timeout_secs,
            transport,
            api: draft.api,
            api_version: api.version,
            notices,
        }),
        _ => Err(Error::Invalid(problems)),
    }
}

/// The parts of a draft a request depends on, checked by the rules a save
/// applies (see [`validate_connection`]).
#[derive(Debug, Clone)]
pub struct ValidatedConnection {
    pub base_url: Url,
    pub network: NetworkAllowance,
    /// `Set`: the typed key, checked; `Keep`: the stored key, if any (the
    /// caller reads it); `Remove`: no key (no authentication, or the form
    /// removes it).
    pub key: ValidKeyChange,
    pub timeout_secs: Option<u32>,
    pub transport: ValidTransport,
    pub api: Api,
    pub api_version: Option<String>,
    pub notices: Vec<Notice>,
}

/// Validates what a connection test or model discovery of an unsaved draft
/// sends: the base URL, the key, the headers, the timeout and the proxy,
/// with the rules (and messages) of [`validate`], every problem at once.
/// Label, preset and models are not needed to reach an endpoint and are
/// not checked; nor is a missing key, since a server may be tried without
/// one; nor the egress policy, which the test's policy stage applies (with
/// DNS) and reports. `editing` is the stored provider when the draft edits one (its
/// secret headers may be kept).
pub fn validate_connection(
    draft: &ProviderDraft,
    editing: Option<&Provider>,
) -> Result<ValidatedConnection, Error> {
    let mut problems: Vec<FieldError> = Vec::new();
    let mut notices: Vec<Notice> = Vec::new();
    // The test's own policy stage judges the URL, with DNS, and says why in
    // the report.
    let api = check_api(draft, &mut problems, &mut notices);
    let base_url = check_base_url(
        draft,
        api.raw_base(draft),
        Egress::LeaveToTheTest,
        &mut problems,
        &mut notices,
    );
    let key = match (draft.auth, &draft.key) {
        (Auth::ApiKey, KeyChange::Set { value }) => match validate_api_key(value.expose()) {
            Ok((key, notice)) => {
                notices.extend(notice);
                Some(ValidKeyChange::Set(key))
            }
            Err(problem) => {
                problems.push(problem);
                None
            }
        },
        (Auth::ApiKey, KeyChange::Keep) => Some(ValidKeyChange::Keep),
        (Auth::ApiKey, KeyChange::Remove) | (Auth::None, _) => Some(ValidKeyChange::Remove),
    };
    let transport = check_transport(draft, editing, &mut problems, &mut notices);
    match (base_url, key) {
        (Some(base_url), Some(key)) if problems.is_empty() => Ok(ValidatedConnection {
            base_url,
            network: draft.network,
            key,
            timeout_secs: draft.timeout_secs,
            transport,
            api: draft.api,
            api_version: api.version,
            notices,
        }),
        _ => Err(Error::Invalid(problems)),
    }
}

/// The API part of a draft: for Azure, the pasted URL reduced and the API
/// version; otherwise nothing (and no API version).
#[derive(Debug, Default)]
struct CheckedApi {
    base: Option<String>,
    version: Option<String>,
    deployment: Option<String>,
}

impl CheckedApi {
    fn raw_base<'d>(&'d self, draft: &'d ProviderDraft) -> &'d str {
        self.base.as_deref().unwrap_or(&draft.base_url)
    }
}

fn check_api(
    draft: &ProviderDraft,
    problems: &mut Vec<FieldError>,
    notices: &mut Vec<Notice>,
) -> CheckedApi {
    let version = draft
        .api_version
        .as_deref()
        .map(str::trim)
        .filter(|version| !version.is_empty());
    match draft.api {
        Api::Openai | Api::Anthropic => {
            if version.is_some() {
                problems.push(FieldError::new(
                    crate::azure::API_VERSION_FIELD,
                    "Only Azure OpenAI uses an API version: clear it, or choose Azure OpenAI.",
                ));
            }
            CheckedApi::default()
        }
        Api::AzureOpenai => {
            if draft.base_url.trim().is_empty() {
                // The base URL's own check says it is empty.
                return CheckedApi::default();
            }
            match crate::azure::reduce(&draft.base_url, version) {
                Ok(reduced) => {
                    notices.extend(
                        reduced
                            .notices
                            .into_iter()
                            .map(|message| Notice::new(base_url::FIELD, message)),
                    );
                    CheckedApi {
                        base: Some(reduced.base),
                        version: reduced.api_version,
                        deployment: reduced.deployment,
                    }
                }
                Err(problem) => {
                    let field = if problem.contains("API version") {
                        crate::azure::API_VERSION_FIELD
                    } else {
                        base_url::FIELD
                    };
                    problems.push(FieldError::new(field, capitalized(&problem)));
                    CheckedApi::default()
                }
            }
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            characters.as_str().trim_end_matches('.')
        ),
        None => String::new(),
    }
}

/// Whether [`check_base_url`] applies the egress policy.
#[derive(Debug, Clone, Copy)]
enum Egress {
    Judge,
    LeaveToTheTest,
}

/// The normalised base URL; `None` when it is invalid or the egress policy
/// would never connect to it (a metadata address, link-local, a LAN
/// address without the private allowance, …; judged without DNS, so saving
/// works offline and leaks no host name to a resolver: every address is
/// judged again when connecting). The problem has been recorded.
fn check_base_url(
    draft: &ProviderDraft,
    raw: &str,
    egress: Egress,
    problems: &mut Vec<FieldError>,
    notices: &mut Vec<Notice>,
) -> Option<Url> {
    match base_url::normalize(raw, draft.network) {
        Ok(check) => {
            let denial = match egress {
                Egress::Judge => {
                    egress::judge_url(check.normalized.as_str(), draft.network).denial()
                }
                Egress::LeaveToTheTest => None,
            };
            if let Some(denial) = denial {
                problems.push(FieldError::new(base_url::FIELD, denial.message));
                return None;
            }
            notices.extend(
                check
                    .notices
                    .into_iter()
                    .map(|message| Notice::new(base_url::FIELD, message)),
            );
            Some(check.normalized)
        }
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

/// How a request goes there: the custom headers, the timeout, the proxy
/// and its credentials, the CA certificates.
fn check_transport(
    draft: &ProviderDraft,
    editing: Option<&Provider>,
    problems: &mut Vec<FieldError>,
    notices: &mut Vec<Notice>,
) -> ValidTransport {
    let headers = check_headers(&draft.headers, editing, problems, notices);

    if let Some(seconds) = draft.timeout_secs {
        if !TIMEOUT_SECS_RANGE.contains(&seconds) {
            problems.push(FieldError::new(
                "timeout_secs",
                format!(
                    "Use a timeout from {} to {} seconds (you entered {seconds}), or leave it empty for the default.",
                    TIMEOUT_SECS_RANGE.start(),
                    TIMEOUT_SECS_RANGE.end()
                ),
            ));
        }
    }

    let proxy = match draft.proxy.as_deref().map(validate_proxy) {
        None => None,
        Some(Ok(proxy)) => proxy,
        Some(Err(problem)) => {
            problems.push(problem);
            None
        }
    };
    let proxy_auth = check_proxy_auth(draft, editing, proxy.as_ref(), problems);
    let ca = match draft.ca_certificate.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match crate::certificates::read_ca_bundle(text.as_bytes()) {
            Ok(bundle) => Some(bundle),
            Err(problem) => {
                problems.push(FieldError::new(
                    CA_CERTIFICATE_FIELD,
                    format!("The CA certificate is not usable: {problem}."),
                ));
                None
            }
        },
    };
    ValidTransport {
        headers,
        proxy,
        proxy_auth,
        ca,
    }
}

/// The proxy's user name and password: both or neither, only with a
/// proxy; a kept password only for the proxy origin it was given for.
fn check_proxy_auth(
    draft: &ProviderDraft,
    editing: Option<&Provider>,
    proxy: Option<&Url>,
    problems: &mut Vec<FieldError>,
) -> Option<ValidProxyAuth> {
    let username = draft
        .proxy_username
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty());
    let typed_password = match &draft.proxy_password {
        KeyChange::Set { value } if !value.expose().is_empty() => Some(value),
        _ => None,
    };
    let Some(username) = username else {
        if typed_password.is_some() {
            problems.push(FieldError::new(
                PROXY_USERNAME_FIELD,
                "Enter the proxy's user name too, or clear the password.",
            ));
        }
        return None;
    };
    let Some(proxy) = proxy else {
        problems.push(FieldError::new(
            PROXY_USERNAME_FIELD,
            "A proxy user name needs a proxy: enter the proxy's URL, or clear the user name and password.",
        ));
        return None;
    };
    let username = match validate_proxy_username(username) {
        Ok(name) => name,
        Err(problem) => {
            problems.push(problem);
            return None;
        }
    };
    let password = match (typed_password, &draft.proxy_password) {
        (Some(value), _) => match validate_proxy_password(value.expose()) {
            Ok(password) => ValidKeyChange::Set(password),
            Err(problem) => {
                problems.push(problem);
                return None;
            }
        },
        (None, KeyChange::Remove) => {
            problems.push(FieldError::new(
                PROXY_PASSWORD_FIELD,
                "Enter the proxy's password, or clear the user name if the proxy needs none.",
            ));
            return None;
        }
        (None, _) => {
            let stored_for = editing
                .filter(|saved| saved.proxy_username.is_some())
                .and_then(|saved| saved.proxy.as_ref());
            match stored_for {
                None => {
                    problems.push(FieldError::new(
                        PROXY_PASSWORD_FIELD,
                        "Enter the proxy's password (it is kept in the keychain).",
                    ));
                    return None;
                }
                Some(stored) if stored.origin() != proxy.origin() => {
                    problems.push(FieldError::new(
                        PROXY_PASSWORD_FIELD,
                        format!(
                            "The stored proxy password was given for {}; type it again to send it to {}.",
                            display_proxy(stored),
                            display_proxy(proxy)
                        ),
                    ));
                    return None;
                }
                Some(_same) => ValidKeyChange::Keep,
            }
        }
    };
    Some(ValidProxyAuth { username, password })
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;
