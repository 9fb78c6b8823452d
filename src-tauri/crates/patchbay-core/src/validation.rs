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
//!   allowance; its notices (a removed `/chat/completions`, …) become
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
//!   `user:password@` (credentials in proxy URLs are not supported: they
//!   would sit in the plain-text config file). See [`validate_proxy`].
//!
//! Messages say what is wrong and how to fix it, and never contain a key or
//! a header value.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::base_url;
use crate::error::{Error, FieldError};
use crate::model::{Auth, NetworkAllowance, Provider};
use crate::presets;
use crate::secret::ApiKey;

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
}

fn default_true() -> bool {
    true
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
    pub headers: Vec<ValidHeader>,
    pub timeout_secs: Option<u32>,
    pub proxy: Option<Url>,
    pub notices: Vec<Notice>,
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

    let base_url = match base_url::normalize(&draft.base_url, draft.network) {
        Ok(check) => {
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
    };

    let models = check_models(&draft.models, &mut problems);
    let key = check_key(draft.auth, &draft.key, editing, &mut problems, &mut notices);
    let headers = check_headers(&draft.headers, editing, &mut problems, &mut notices);

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
            headers,
            timeout_secs: draft.timeout_secs,
            proxy,
            notices,
        }),
        _ => Err(Error::Invalid(problems)),
    }
}

/// The field name of the proxy in errors and notices.
pub const PROXY_FIELD: &str = "proxy";
/// The draft field of the API key ([`ProviderDraft::key`]).
pub const KEY_FIELD: &str = "key";
/// The field [`validate_model_id`] reports on its own; a draft's models are
/// reported as `models[<index>]`.
pub const MODEL_FIELD: &str = "model";

/// Longest proxy URL accepted, in bytes.
pub const MAX_PROXY_CHARS: usize = 2048;

/// Checks a proxy URL (the form's field, `--proxy`, a config file entry).
/// `Ok(None)` for an empty value (no proxy); `Ok(Some(url))` normalised to
/// `scheme://host[:port]/`. The message says what is wrong and how to fix
/// it and never repeats the input (it may carry a pasted password).
pub fn validate_proxy(raw: &str) -> Result<Option<Url>, FieldError> {
    let invalid = |message: String| FieldError::new(PROXY_FIELD, message);
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.len() > MAX_PROXY_CHARS || trimmed.chars().any(char::is_control) {
        return Err(invalid(format!(
            "Enter a proxy URL of at most {MAX_PROXY_CHARS} characters with no control characters, such as http://proxy.example:3128."
        )));
    }
    let url = Url::parse(trimmed).map_err(|_unparsable| {
        invalid(
            "Enter the proxy as a URL with its scheme, such as http://proxy.example:3128."
                .to_owned(),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "Proxies must start with http:// or https:// (`{}` proxies are not supported).",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("Credentials in proxy URLs are not supported: remove the `user:password@` part (a proxy that asks for a password cannot be used yet).".to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(
            "Add the proxy's host, such as http://proxy.example:3128.".to_owned(),
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("A proxy URL is only a scheme, a host and a port (http://proxy.example:3128): remove the path, query or fragment.".to_owned()));
    }
    Ok(Some(url))
}

/// A validated proxy as shown and stored: `http://proxy.example:3128`.
pub fn display_proxy(url: &Url) -> String {
    let port = url
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        port
    )
}

/// Checks one model id; the CLI and IPC server use it for ids given on
/// their own. Returns the message for the person.
pub fn validate_model_id(id: &str) -> Result<(), FieldError> {
    let invalid = |message: String| FieldError::new(MODEL_FIELD, message);
    if id.trim().is_empty() {
        return Err(invalid(
            "Enter a model ID, for example gpt-4o-mini or google/gemini-2.5-flash.".to_owned(),
        ));
    }
    let length = id.chars().count();
    if length > MAX_MODEL_ID_CHARS {
        return Err(invalid(format!(
            "A model ID is at most {MAX_MODEL_ID_CHARS} characters; this one has {length}. Check that you pasted only the ID."
        )));
    }
    if id.chars().any(char::is_whitespace) {
        return Err(invalid(
            "Model IDs cannot contain spaces, tabs or line breaks; remove them (IDs look like gpt-4o-mini or hf.co/org/model-GGUF:Q6_K)."
                .to_owned(),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid(
            "The model ID contains a control character; type it again.".to_owned(),
        ));
    }
    Ok(())
}

/// Checks a key as typed or pasted: trims surrounding whitespace (returning
/// a notice when it did) and refuses what no provider would accept. The CLI
/// (`set-key --api-key-stdin`) and IPC use it too. Messages never contain
/// the key.
pub fn validate_api_key(raw: &str) -> Result<(ApiKey, Option<Notice>), FieldError> {
    let invalid = |message: String| FieldError::new(KEY_FIELD, message);
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid(
            "Enter the API key (the field is empty). Copy it from the provider's key page."
                .to_owned(),
        ));
    }
    if trimmed.len() > MAX_KEY_BYTES {
        return Err(invalid(format!(
            "The key is {} bytes long; keys are at most 4 KiB ({MAX_KEY_BYTES} bytes). Check that you pasted only the key.",
            trimmed.len()
        )));
    }
    let lowercase_start: String = trimmed
        .chars()
        .take(7)
        .collect::<String>()
        .to_ascii_lowercase();
    if lowercase_start.starts_with("bearer")
        && trimmed.chars().nth(6).is_some_and(char::is_whitespace)
    {
        return Err(invalid(
            "Paste only the key, without the word \"Bearer\": Patchbay adds it itself.".to_owned(),
        ));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(invalid("The key contains a space or line break in the middle; copy it again from the provider's key page.".to_owned()));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "The key contains a control character; copy it again from the provider's key page."
                .to_owned(),
        ));
    }
    if !trimmed.is_ascii() {
        return Err(invalid("The key contains a character that is not plain ASCII (for example a curly quote or a look-alike letter); copy it again from the provider's key page.".to_owned()));
    }
    let notice = (trimmed.len() != raw.len()).then(|| {
        Notice::new(
            KEY_FIELD,
            "Removed spaces or line breaks around the pasted key.",
        )
    });
    Ok((ApiKey::new(trimmed), notice))
}

fn check_label(
    raw: &str,
    others: &[Provider],
    editing: Option<&Provider>,
    problems: &mut Vec<FieldError>,
) -> String {
    let label = raw.trim().to_owned();
    let length = label.chars().count();
    if length == 0 {
        problems.push(FieldError::new(
            "label",
            "Enter a name for this provider, for example OpenRouter or Home Ollama.",
        ));
    } else if length > MAX_LABEL_CHARS {
        problems.push(FieldError::new(
            "label",
            format!(
                "The name is {length} characters long; shorten it to {MAX_LABEL_CHARS} or fewer."
            ),
        ));
    } else if label.chars().any(char::is_control) {
        problems.push(FieldError::new(
            "label",
            "The name contains a line break, tab or other control character; type it on one line.",
        ));
    } else {
        let folded = label.to_lowercase();
        let editing_id = editing.map(|provider| &provider.id);
        let taken = others
            .iter()
            .filter(|other| Some(&other.id) != editing_id)
            .find(|other| other.label.trim().to_lowercase() == folded);
        if let Some(other) = taken {
            problems.push(FieldError::new(
                "label",
                format!(
                    "Another provider is already called \"{}\" (id {}); choose a different name.",
                    other.label, other.id
                ),
            ));
        }
    }
    label
}

fn check_preset(raw: Option<&str>, problems: &mut Vec<FieldError>) -> Option<String> {
    let raw = raw.map(str::trim).filter(|value| !value.is_empty())?;
    match presets::find(raw) {
        Some(preset) => Some(preset.id.to_owned()),
        None => {
            problems.push(FieldError::new(
                "preset",
                format!(
                    "Unknown preset; choose one of: {} (or leave it empty).",
                    presets::ids()
                ),
            ));
            None
        }
    }
}

fn check_models(raw: &[String], problems: &mut Vec<FieldError>) -> Vec<String> {
    if raw.is_empty() {
        problems.push(FieldError::new(
            "models",
            "Add at least one model ID; the first one is the default (for example gpt-4o-mini).",
        ));
        return Vec::new();
    }
    if raw.len() > MAX_MODELS {
        problems.push(FieldError::new(
            "models",
            format!(
                "A provider can list at most {MAX_MODELS} models; remove {}.",
                raw.len() - MAX_MODELS
            ),
        ));
    }
    for (index, id) in raw.iter().enumerate() {
        let field = format!("models[{index}]");
        if let Err(problem) = validate_model_id(id) {
            problems.push(FieldError { field, ..problem });
        } else if let Some(first) = raw[..index].iter().position(|earlier| earlier == id) {
            problems.push(FieldError::new(
                field,
                format!("{id} is already listed (models[{first}]); remove one of them."),
            ));
        }
    }
    raw.to_vec()
}

/// `None` when the key is invalid (the problem has been recorded).
fn check_key(
    auth: Auth,
    change: &KeyChange,
    editing: Option<&Provider>,
    problems: &mut Vec<FieldError>,
    notices: &mut Vec<Notice>,
) -> Option<ValidKeyChange> {
    let stored_hint = editing.and_then(|provider| provider.key_hint.as_deref());
    match (auth, change) {
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
        (Auth::ApiKey, KeyChange::Keep) if stored_hint.is_some() => Some(ValidKeyChange::Keep),
        (Auth::ApiKey, KeyChange::Keep) => {
            problems.push(FieldError::new(
                "key",
                "Enter an API key, or choose \"No authentication\" for a server that needs none (such as Ollama).",
            ));
            None
        }
        (Auth::ApiKey, KeyChange::Remove) => {
            problems.push(FieldError::new(
                "key",
                "API key auth needs a key: enter a new key to replace it, or choose \"No authentication\" to remove it.",
            ));
            None
        }
        (Auth::None, KeyChange::Set { .. }) => {
            problems.push(FieldError::new(
                "key",
                "\"No authentication\" sends no key: choose API key auth or clear the key.",
            ));
            None
        }
        (Auth::None, KeyChange::Keep) => match stored_hint {
            Some(hint) => {
                notices.push(Notice::new(
                    "key",
                    format!(
                        "With \"No authentication\" the stored key ({hint}) is removed from the keychain and no Authorization header is sent."
                    ),
                ));
                Some(ValidKeyChange::Remove)
            }
            None => Some(ValidKeyChange::Keep),
        },
        (Auth::None, KeyChange::Remove) => Some(ValidKeyChange::Remove),
    }
}

fn check_headers(
    drafts: &[HeaderDraft],
    editing: Option<&Provider>,
    problems: &mut Vec<FieldError>,
    notices: &mut Vec<Notice>,
) -> Vec<ValidHeader> {
    if drafts.len() > MAX_HEADERS {
        problems.push(FieldError::new(
            "headers",
            format!(
                "At most {MAX_HEADERS} custom headers are allowed; remove {}.",
                drafts.len() - MAX_HEADERS
            ),
        ));
    }
    let mut valid = Vec::with_capacity(drafts.len());
    for (index, draft) in drafts.iter().enumerate() {
        let name_field = format!("headers[{index}].name");
        let value_field = format!("headers[{index}].value");
        let name = draft.name.trim();

        if let Some(message) = header_name_problem(name) {
            problems.push(FieldError::new(name_field, message));
        } else if let Some(first) = drafts[..index]
            .iter()
            .position(|earlier| earlier.name.trim().eq_ignore_ascii_case(name))
        {
            problems.push(FieldError::new(
                name_field,
                format!("This header is already set in headers[{first}]; remove one of them."),
            ));
        }

        let stored_secret = editing.is_some_and(|provider| {
            provider
                .headers
                .iter()
                .any(|stored| stored.secret && stored.name.eq_ignore_ascii_case(name))
        });
        let raw_value = draft
            .value
            .as_ref()
            .map(ApiKey::expose)
            .filter(|value| !value.trim().is_empty());
        let value = match raw_value {
            Some(raw) => {
                let trimmed = raw.trim();
                if let Some(message) = header_value_problem(trimmed) {
                    problems.push(FieldError::new(value_field, message));
                    None
                } else {
                    if trimmed.len() != raw.len() {
                        notices.push(Notice::new(
                            value_field,
                            "Removed spaces or line breaks around the header value.",
                        ));
                    }
                    Some(ApiKey::new(trimmed))
                }
            }
            None if draft.secret && stored_secret => None,
            None if draft.secret => {
                problems.push(FieldError::new(
                    value_field,
                    "Enter the value of this secret header; it is kept in the keychain.",
                ));
                None
            }
            None => {
                problems.push(FieldError::new(
                    value_field,
                    "Enter a value for this header, or remove the header.",
                ));
                None
            }
        };
        valid.push(ValidHeader {
            name: name.to_owned(),
            value,
            secret: draft.secret,
        });
    }
    valid
}

/// What is wrong with a header name, if anything.
fn header_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(
            "Enter a header name (for example HTTP-Referer), or remove this header.".to_owned(),
        );
    }
    if name.chars().count() > MAX_HEADER_NAME_CHARS {
        return Some(format!(
            "A header name is at most {MAX_HEADER_NAME_CHARS} characters."
        ));
    }
    if let Some(bad) = name.chars().find(|&character| !is_token_char(character)) {
        // Only the offending character is shown: a name field sometimes
        // receives a whole pasted `Authorization: Bearer …` line.
        let shown = match bad {
            ' ' => "a space".to_owned(),
            ':' => "':'".to_owned(),
            other if other.is_control() => "a control character".to_owned(),
            other => format!("'{other}'"),
        };
        return Some(format!(
            "A header name cannot contain {shown}: use letters, digits and - (for example X-Api-Key). Put the value in the value field."
        ));
    }
    if let Some(reserved) = RESERVED_HEADERS
        .iter()
        .find(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Some(if *reserved == "Authorization" {
            "Patchbay sets Authorization itself from the API key: put the key in the key field instead (or use a different header name, marked secret).".to_owned()
        } else {
            format!("Patchbay sets {reserved} itself; remove this header.")
        });
    }
    if name
        .get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("proxy-"))
    {
        return Some(
            "Proxy-* headers control proxies, not the provider, and cannot be set here; remove this header.".to_owned(),
        );
    }
    None
}

/// RFC 9110 `tchar`.
fn is_token_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(character)
}

/// What is wrong with an already trimmed header value, if anything. Never
/// quotes the value: it may be a secret.
fn header_value_problem(trimmed: &str) -> Option<String> {
    if trimmed.len() > MAX_HEADER_VALUE_BYTES {
        return Some(format!(
            "A header value is at most 8 KiB ({MAX_HEADER_VALUE_BYTES} bytes); this one is {} bytes.",
            trimmed.len()
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Some(
            "The value contains a line break, tab or other control character; a header value must be a single line."
                .to_owned(),
        );
    }
    if !trimmed.is_ascii() {
        return Some(
            "Header values must be plain ASCII text; remove accented letters, curly quotes and similar characters."
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use time::OffsetDateTime;

    use crate::id::ProviderId;
    use crate::model::CustomHeader;

    fn draft() -> ProviderDraft {
        ProviderDraft {
            label: "OpenRouter".to_owned(),
            preset: Some("openrouter".to_owned()),
            base_url: "https://openrouter.ai/api/v1".to_owned(),
            auth: Auth::ApiKey,
            key: KeyChange::Set {
                value: ApiKey::new("sk-or-v1-0123456789abcdef9f3a"),
            },
            models: vec!["google/gemini-2.5-flash".to_owned()],
            enabled: true,
            network: NetworkAllowance::Remote,
            headers: Vec::new(),
            timeout_secs: None,
            proxy: None,
        }
    }

    fn provider(id: &str, label: &str) -> Provider {
        Provider {
            id: ProviderId::parse(id).expect("test id"),
            label: label.to_owned(),
            preset: None,
            base_url: Url::parse("https://api.example.com/v1").expect("test url"),
            auth: Auth::ApiKey,
            key_hint: Some("sk-…9f3a".to_owned()),
            models: Vec::new(),
            enabled: true,
            network: NetworkAllowance::Remote,
            headers: Vec::new(),
            timeout_secs: None,
            trusted_cert_sha256: None,
            proxy: None,
            last_test: None,
            catalog: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn fields(result: Result<ValidatedDraft, Error>) -> Vec<(String, String)> {
        match result {
            Ok(valid) => panic!("expected errors, got {valid:?}"),
            Err(error) => {
                assert_eq!(error.kind(), crate::ErrorKind::InvalidInput);
                error
                    .fields()
                    .iter()
                    .map(|field| (field.field.clone(), field.message.clone()))
                    .collect()
            }
        }
    }

    fn only_field(result: Result<ValidatedDraft, Error>) -> (String, String) {
        let all = fields(result);
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().expect("one field")
    }

    #[test]
    fn a_good_draft_validates_and_normalises() {
        let mut input = draft();
        input.label = "  OpenRouter  ".to_owned();
        input.preset = Some("OpenRouter".to_owned());
        input.base_url = " https://openrouter.ai/api/v1/chat/completions/ ".to_owned();
        input.models = vec![
            "google/gemini-2.5-flash".to_owned(),
            "hf.co/org/model-GGUF:Q6_K".to_owned(),
        ];
        input.timeout_secs = Some(600);
        let valid = validate(&input, &[], None).expect("valid");
        assert_eq!(valid.label, "OpenRouter");
        assert_eq!(valid.preset.as_deref(), Some("openrouter"));
        assert_eq!(
            base_url::display(&valid.base_url),
            "https://openrouter.ai/api/v1"
        );
        assert_eq!(
            valid.models,
            vec!["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"]
        );
        assert_eq!(
            valid.key,
            ValidKeyChange::Set(ApiKey::new("sk-or-v1-0123456789abcdef9f3a"))
        );
        assert_eq!(valid.timeout_secs, Some(600));
        assert_eq!(
            valid.notices,
            vec![Notice::new(
                "base_url",
                "Removed /chat/completions: Patchbay adds the endpoint path itself."
            )]
        );
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let input = ProviderDraft {
            label: " ".to_owned(),
            preset: Some("nope".to_owned()),
            base_url: "ftp://h".to_owned(),
            auth: Auth::ApiKey,
            key: KeyChange::Keep,
            models: vec!["a b".to_owned(), String::new()],
            enabled: true,
            network: NetworkAllowance::Remote,
            headers: vec![HeaderDraft {
                name: "Host".to_owned(),
                value: Some(ApiKey::new("x\r\ny")),
                secret: false,
            }],
            timeout_secs: Some(0),
            proxy: Some("socks5://proxy.corp:1080".to_owned()),
        };
        let names: Vec<String> = fields(validate(&input, &[], None))
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(
            names,
            vec![
                "label",
                "preset",
                "base_url",
                "models[0]",
                "models[1]",
                "key",
                "headers[0].name",
                "headers[0].value",
                "timeout_secs",
                "proxy"
            ]
        );
    }

    #[test]
    fn labels() {
        let others = vec![
            provider("openrouter", "OpenRouter"),
            provider("groq", "Groq"),
        ];
        let at_limit = "é".repeat(64);
        let over_limit = "é".repeat(65);
        let cases: &[(&str, Option<&str>)] = &[
            ("A", None),
            ("Home Ollama", None),
            ("日本語のプロバイダ", None),
            (at_limit.as_str(), None),
            ("", Some("Enter a name")),
            ("   ", Some("Enter a name")),
            (over_limit.as_str(), Some("65 characters")),
            ("Two\nlines", Some("control character")),
            ("openrouter", Some("\"OpenRouter\" (id openrouter)")),
            ("  GROQ ", Some("\"Groq\" (id groq)")),
        ];
        for (label, expected) in cases {
            let mut input = draft();
            input.label = (*label).to_owned();
            let result = validate(&input, &others, None);
            match expected {
                None => assert!(result.is_ok(), "{label:?}: {:?}", result.err()),
                Some(needle) => {
                    let (field, message) = only_field(result);
                    assert_eq!(field, "label");
                    assert!(message.contains(needle), "{label:?}: {message}");
                }
            }
        }
    }

    #[test]
    fn editing_keeps_its_own_label_and_key() {
        let existing = provider("openrouter", "OpenRouter");
        let others = vec![existing.clone(), provider("groq", "Groq")];
        let mut input = draft();
        input.label = "openrouter".to_owned();
        input.key = KeyChange::Keep;
        let valid = validate(&input, &others, Some(&existing)).expect("renaming by case is fine");
        assert_eq!(valid.label, "openrouter");
        assert_eq!(valid.key, ValidKeyChange::Keep);
        input.label = "Groq".to_owned();
        assert!(only_field(validate(&input, &others, Some(&existing)))
            .1
            .contains("id groq"));
    }

    #[test]
    fn presets() {
        for (preset, expected) in [
            (None, Ok(None)),
            (Some(""), Ok(None)),
            (Some("  "), Ok(None)),
            (Some("ollama"), Ok(Some("ollama"))),
            (Some("LM-Studio"), Ok(Some("lm-studio"))),
            (Some("custom"), Ok(Some("custom"))),
            (Some("chatgpt"), Err("openai, anthropic")),
        ] {
            let mut input = draft();
            input.preset = preset.map(str::to_owned);
            match expected {
                Ok(id) => assert_eq!(
                    validate(&input, &[], None)
                        .expect("valid")
                        .preset
                        .as_deref(),
                    id
                ),
                Err(needle) => {
                    let (field, message) = only_field(validate(&input, &[], None));
                    assert_eq!(field, "preset");
                    assert!(message.contains(needle), "{message}");
                }
            }
        }
    }

    #[test]
    fn base_url_problems_and_notices_use_the_base_url_field() {
        let mut input = draft();
        input.base_url = "http://192.168.0.123:8000/v1".to_owned();
        let (field, message) = only_field(validate(&input, &[], None));
        assert_eq!(field, "base_url");
        assert!(message.contains("Local/Private"), "{message}");
        input.network = NetworkAllowance::Private;
        let valid = validate(&input, &[], None).expect("allowed on the LAN");
        assert_eq!(valid.base_url.as_str(), "http://192.168.0.123:8000/v1");
        assert_eq!(valid.network, NetworkAllowance::Private);
    }

    #[test]
    fn model_ids() {
        let at_limit = "m".repeat(256);
        let over_limit = "m".repeat(257);
        let cases: &[(&str, Option<&str>)] = &[
            ("gpt-4o-mini", None),
            ("google/gemini-2.5-flash", None),
            ("hf.co/org/model-GGUF:Q6_K", None),
            ("accounts/fireworks/models/llama-v3p1-8b-instruct", None),
            ("qwen2.5:72b-instruct-q4_K_M", None),
            ("模型", None),
            (at_limit.as_str(), None),
            ("", Some("Enter a model ID")),
            ("   ", Some("Enter a model ID")),
            (over_limit.as_str(), Some("257")),
            ("gpt 4o", Some("spaces")),
            ("gpt-4o\n", Some("spaces")),
            ("\tgpt-4o", Some("spaces")),
            ("gpt\u{a0}4o", Some("spaces")),
            ("gpt\u{0}4o", Some("control")),
            ("gpt\u{7f}4o", Some("control")),
        ];
        for (id, expected) in cases {
            assert_eq!(
                validate_model_id(id).err().is_none(),
                expected.is_none(),
                "{id:?}"
            );
            let mut input = draft();
            input.models = vec!["first".to_owned(), (*id).to_owned()];
            let result = validate(&input, &[], None);
            match expected {
                None => assert_eq!(
                    result.expect("valid").models[1].as_bytes(),
                    id.as_bytes(),
                    "kept byte-for-byte"
                ),
                Some(needle) => {
                    let (field, message) = only_field(result);
                    assert_eq!(field, "models[1]");
                    assert!(message.contains(needle), "{id:?}: {message}");
                }
            }
        }
    }

    #[test]
    fn models_need_at_least_one_and_no_duplicates() {
        let mut input = draft();
        input.models = Vec::new();
        let (field, message) = only_field(validate(&input, &[], None));
        assert_eq!(field, "models");
        assert!(message.contains("at least one"));

        input.models = vec![
            "a".to_owned(),
            "b".to_owned(),
            "a".to_owned(),
            "A".to_owned(),
        ];
        let (field, message) = only_field(validate(&input, &[], None));
        assert_eq!(field, "models[2]");
        assert!(message.contains("models[0]"), "{message}");

        input.models = (0..=MAX_MODELS).map(|index| format!("m{index}")).collect();
        assert_eq!(only_field(validate(&input, &[], None)).0, "models");
    }

    #[test]
    fn api_keys() {
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        let at_limit = "k".repeat(MAX_KEY_BYTES);
        /// (pasted, Ok((stored key, trimmed?)) or Err(words in the message))
        type Case<'a> = (&'a str, Result<(&'a str, bool), &'a str>);
        let cases: &[Case<'_>] = &[
            ("sk-or-v1-abc", Ok(("sk-or-v1-abc", false))),
            ("sk-proj-abc\n", Ok(("sk-proj-abc", true))),
            ("  gsk_abc\r\n", Ok(("gsk_abc", true))),
            ("\tsk-abc ", Ok(("sk-abc", true))),
            (at_limit.as_str(), Ok((at_limit.as_str(), false))),
            ("", Err("empty")),
            (" \n", Err("empty")),
            (long.as_str(), Err("4 KiB")),
            ("Bearer sk-abc", Err("Bearer")),
            ("bearer\tsk-abc", Err("Bearer")),
            ("sk-abc def", Err("middle")),
            ("sk-abc\ndef", Err("middle")),
            ("sk-abc\u{0}def", Err("control")),
            ("sk-abc\u{1b}def", Err("control")),
            ("sk-“abc”", Err("ASCII")),
            ("sk-аbc", Err("ASCII")),
        ];
        for (raw, expected) in cases {
            match (validate_api_key(raw), expected) {
                (Ok((key, notice)), Ok((value, trimmed))) => {
                    assert_eq!(key.expose(), *value, "{raw:?}");
                    assert_eq!(notice.is_some(), *trimmed, "{raw:?}");
                    if let Some(notice) = notice {
                        assert_eq!(notice.field, "key");
                    }
                }
                (Err(problem), Err(needle)) => {
                    assert_eq!(problem.field, KEY_FIELD);
                    let message = problem.message;
                    assert!(message.contains(needle), "{raw:?}: {message}");
                    let secret_part = raw.trim().trim_start_matches("Bearer ");
                    assert!(
                        secret_part.len() < 3 || !message.contains(secret_part),
                        "{raw:?} leaked"
                    );
                }
                (got, _) => panic!("{raw:?}: unexpected {:?}", got.map(|(_, notice)| notice)),
            }
        }
    }

    #[test]
    fn key_rules_by_auth_and_stored_state() {
        let stored = provider("openrouter", "OpenRouter");
        let mut no_key_stored = stored.clone();
        no_key_stored.key_hint = None;
        let set = KeyChange::Set {
            value: ApiKey::new("sk-new-key-1234"),
        };

        type Case<'a> = (
            Auth,
            KeyChange,
            Option<&'a Provider>,
            Result<ValidKeyChange, &'a str>,
            usize,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                Auth::ApiKey,
                set.clone(),
                None,
                Ok(ValidKeyChange::Set(ApiKey::new("sk-new-key-1234"))),
                0,
            ),
            (
                Auth::ApiKey,
                set.clone(),
                Some(&stored),
                Ok(ValidKeyChange::Set(ApiKey::new("sk-new-key-1234"))),
                0,
            ),
            (
                Auth::ApiKey,
                KeyChange::Keep,
                None,
                Err("Enter an API key"),
                0,
            ),
            (
                Auth::ApiKey,
                KeyChange::Keep,
                Some(&no_key_stored),
                Err("Enter an API key"),
                0,
            ),
            (
                Auth::ApiKey,
                KeyChange::Keep,
                Some(&stored),
                Ok(ValidKeyChange::Keep),
                0,
            ),
            (
                Auth::ApiKey,
                KeyChange::Remove,
                Some(&stored),
                Err("No authentication"),
                0,
            ),
            (
                Auth::None,
                set.clone(),
                None,
                Err("choose API key auth or clear the key"),
                0,
            ),
            (
                Auth::None,
                set.clone(),
                Some(&stored),
                Err("choose API key auth or clear the key"),
                0,
            ),
            (
                Auth::None,
                KeyChange::Keep,
                None,
                Ok(ValidKeyChange::Keep),
                0,
            ),
            (
                Auth::None,
                KeyChange::Keep,
                Some(&no_key_stored),
                Ok(ValidKeyChange::Keep),
                0,
            ),
            (
                Auth::None,
                KeyChange::Keep,
                Some(&stored),
                Ok(ValidKeyChange::Remove),
                1,
            ),
            (
                Auth::None,
                KeyChange::Remove,
                Some(&stored),
                Ok(ValidKeyChange::Remove),
                0,
            ),
            (
                Auth::None,
                KeyChange::Remove,
                None,
                Ok(ValidKeyChange::Remove),
                0,
            ),
        ];
        for (index, (auth, key, editing, expected, notice_count)) in cases.into_iter().enumerate() {
            let mut input = draft();
            input.auth = auth;
            input.key = key;
            let result = validate(&input, &[], editing);
            match expected {
                Ok(change) => {
                    let valid = result.unwrap_or_else(|error| panic!("case {index}: {error}"));
                    assert_eq!(valid.key, change, "case {index}");
                    let key_notices = valid
                        .notices
                        .iter()
                        .filter(|notice| notice.field == "key")
                        .count();
                    assert_eq!(key_notices, notice_count, "case {index}");
                }
                Err(needle) => {
                    let (field, message) = only_field(result);
                    assert_eq!(field, "key", "case {index}");
                    assert!(message.contains(needle), "case {index}: {message}");
                }
            }
        }
    }

    #[test]
    fn switching_to_no_auth_names_the_removed_key_by_hint_only() {
        let stored = provider("openrouter", "OpenRouter");
        let mut input = draft();
        input.auth = Auth::None;
        input.key = KeyChange::Keep;
        let valid = validate(&input, &[], Some(&stored)).expect("valid");
        assert_eq!(valid.key, ValidKeyChange::Remove);
        assert!(valid
            .notices
            .iter()
            .any(|notice| notice.field == "key" && notice.message.contains("sk-…9f3a")));
    }

    #[test]
    fn a_pasted_key_with_a_newline_is_trimmed_with_a_notice() {
        let mut input = draft();
        input.key = KeyChange::Set {
            value: ApiKey::new("sk-or-v1-abcdef\n"),
        };
        let valid = validate(&input, &[], None).expect("valid");
        assert_eq!(
            valid.key,
            ValidKeyChange::Set(ApiKey::new("sk-or-v1-abcdef"))
        );
        assert_eq!(
            valid.notices,
            vec![Notice::new(
                "key",
                "Removed spaces or line breaks around the pasted key."
            )]
        );
    }

    fn header(name: &str, value: Option<&str>, secret: bool) -> HeaderDraft {
        HeaderDraft {
            name: name.to_owned(),
            value: value.map(ApiKey::new),
            secret,
        }
    }

    #[test]
    fn header_names() {
        let too_long = "x".repeat(257);
        let cases: &[(&str, Option<&str>)] = &[
            ("HTTP-Referer", None),
            ("X-Title", None),
            ("CF-Access-Client-Id", None),
            ("api-key", None),
            ("x_custom.header~1!#$%&'*+^`|", None),
            (" X-Padded ", None),
            ("", Some("Enter a header name")),
            ("X Title", Some("a space")),
            ("Authorization: Bearer sk-secret", Some("':'")),
            ("X-Ünicode", Some("'Ü'")),
            ("X-(paren)", Some("'('")),
            ("X-\u{1}", Some("control")),
            ("Authorization", Some("key field")),
            ("authorization", Some("key field")),
            ("content-type", Some("Content-Type itself")),
            ("CONTENT-LENGTH", Some("Content-Length itself")),
            ("Host", Some("Host itself")),
            ("Accept", Some("Accept itself")),
            ("accept-encoding", Some("Accept-Encoding itself")),
            ("Connection", Some("Connection itself")),
            ("Transfer-Encoding", Some("Transfer-Encoding itself")),
            ("User-Agent", Some("User-Agent itself")),
            ("Cookie", Some("Cookie itself")),
            ("Upgrade", Some("Upgrade itself")),
            ("te", Some("TE itself")),
            ("Trailer", Some("Trailer itself")),
            ("Keep-Alive", Some("Keep-Alive itself")),
            ("Proxy-Authorization", Some("Proxy-*")),
            ("proxy-connection", Some("Proxy-*")),
            (too_long.as_str(), Some("256")),
        ];
        for (name, expected) in cases {
            let mut input = draft();
            input.headers = vec![header(name, Some("value"), false)];
            let result = validate(&input, &[], None);
            match expected {
                None => assert_eq!(
                    result.expect("valid").headers[0].name,
                    name.trim(),
                    "{name:?}"
                ),
                Some(needle) => {
                    let (field, message) = only_field(result);
                    assert_eq!(field, "headers[0].name", "{name:?}");
                    assert!(message.contains(needle), "{name:?}: {message}");
                    assert!(!message.contains("sk-secret"), "{name:?} leaked: {message}");
                }
            }
        }
    }

    #[test]
    fn duplicate_header_names_are_refused_ignoring_case() {
        let mut input = draft();
        input.headers = vec![
            header("X-Title", Some("a"), false),
            header("x-title", Some("b"), false),
        ];
        let (field, message) = only_field(validate(&input, &[], None));
        assert_eq!(field, "headers[1].name");
        assert!(message.contains("headers[0]"), "{message}");

        input.headers = (0..=MAX_HEADERS)
            .map(|index| header(&format!("X-H{index}"), Some("v"), false))
            .collect();
        assert_eq!(only_field(validate(&input, &[], None)).0, "headers");
    }

    #[test]
    fn header_values() {
        let long = "v".repeat(MAX_HEADER_VALUE_BYTES + 1);
        let at_limit = "v".repeat(MAX_HEADER_VALUE_BYTES);
        /// (value, secret?, Ok(stored value) or Err(words in the message), notices)
        type Case<'a> = (
            Option<&'a str>,
            bool,
            Result<Option<&'a str>, &'a str>,
            usize,
        );
        let cases: &[Case<'_>] = &[
            (
                Some("https://example.com"),
                false,
                Ok(Some("https://example.com")),
                0,
            ),
            (
                Some("  padded value \n"),
                false,
                Ok(Some("padded value")),
                1,
            ),
            (
                Some("inner  spaces ok"),
                false,
                Ok(Some("inner  spaces ok")),
                0,
            ),
            (
                Some(at_limit.as_str()),
                true,
                Ok(Some(at_limit.as_str())),
                0,
            ),
            (Some(long.as_str()), true, Err("8 KiB"), 0),
            (Some("a\r\nInjected: yes"), false, Err("single line"), 0),
            (Some("a\nb"), true, Err("single line"), 0),
            (Some("a\u{0}b"), true, Err("single line"), 0),
            (Some("a\tb"), false, Err("single line"), 0),
            (Some("café"), false, Err("ASCII"), 0),
            (None, false, Err("Enter a value"), 0),
            (Some(""), false, Err("Enter a value"), 0),
            (Some("   "), false, Err("Enter a value"), 0),
            (None, true, Err("secret header"), 0),
            (Some(""), true, Err("secret header"), 0),
        ];
        for (value, secret, expected, notice_count) in cases {
            let mut input = draft();
            input.headers = vec![header("X-Custom", *value, *secret)];
            let result = validate(&input, &[], None);
            match expected {
                Ok(stored) => {
                    let valid = result.unwrap_or_else(|error| panic!("{value:?}: {error}"));
                    assert_eq!(
                        valid.headers[0].value.as_ref().map(ApiKey::expose),
                        *stored,
                        "{value:?}"
                    );
                    assert_eq!(valid.headers[0].secret, *secret);
                    assert_eq!(valid.notices.len(), *notice_count, "{value:?}");
                    if *notice_count > 0 {
                        assert_eq!(valid.notices[0].field, "headers[0].value");
                    }
                }
                Err(needle) => {
                    let (field, message) = only_field(result);
                    assert_eq!(field, "headers[0].value", "{value:?}");
                    assert!(message.contains(needle), "{value:?}: {message}");
                    assert!(
                        !message.contains("Injected") && !message.contains("café"),
                        "value leaked: {message}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_stored_secret_header_keeps_its_value_when_none_is_given() {
        let mut stored = provider("gateway", "Gateway");
        stored.headers = vec![
            CustomHeader {
                name: "CF-Access-Client-Secret".to_owned(),
                value: None,
                secret: true,
                hint: Some("…ab12".to_owned()),
            },
            CustomHeader {
                name: "X-Plain".to_owned(),
                value: Some("v".to_owned()),
                secret: false,
                hint: None,
            },
        ];
        let mut input = draft();
        input.key = KeyChange::Keep;
        input.headers = vec![
            header("cf-access-client-secret", None, true),
            header("CF-Access-Client-Id", Some("id"), false),
        ];
        let valid = validate(&input, &[], Some(&stored)).expect("kept secret");
        assert_eq!(
            valid.headers[0],
            ValidHeader {
                name: "cf-access-client-secret".to_owned(),
                value: None,
                secret: true
            }
        );
        assert_eq!(
            valid.headers[1].value.as_ref().map(ApiKey::expose),
            Some("id")
        );

        // A stored non-secret header never supplies a value, and neither
        // does a secret one on a different provider or a new provider.
        input.headers = vec![header("X-Plain", None, true)];
        assert_eq!(
            only_field(validate(&input, &[], Some(&stored))).0,
            "headers[0].value"
        );
        input.headers = vec![header("CF-Access-Client-Secret", None, true)];
        input.key = draft().key;
        assert_eq!(
            only_field(validate(&input, &[], None)).0,
            "headers[0].value"
        );
        input.headers = vec![header("CF-Access-Client-Secret", None, false)];
        assert_eq!(
            only_field(validate(&input, &[], Some(&stored))).0,
            "headers[0].value"
        );
    }

    #[test]
    fn proxies() {
        for (raw, expected) in [
            ("", Ok(None)),
            ("   ", Ok(None)),
            ("http://proxy.corp:3128", Ok(Some("http://proxy.corp:3128"))),
            (
                "  http://proxy.corp:3128/  ",
                Ok(Some("http://proxy.corp:3128")),
            ),
            ("https://PROXY.corp", Ok(Some("https://proxy.corp"))),
            ("http://127.0.0.1:8080", Ok(Some("http://127.0.0.1:8080"))),
            ("http://[::1]:8080", Ok(Some("http://[::1]:8080"))),
            ("http://proxy.corp:80", Ok(Some("http://proxy.corp"))),
            ("socks5://proxy.corp:1080", Err("http:// or https://")),
            ("proxy.corp:3128", Err("http:// or https://")),
            ("proxy.corp", Err("scheme")),
            (
                "http://user:hunter2@proxy.corp:3128",
                Err("Credentials in proxy URLs are not supported"),
            ),
            (
                "http://user@proxy.corp:3128",
                Err("Credentials in proxy URLs are not supported"),
            ),
            ("http://proxy.corp:3128/path", Err("remove the path")),
            ("http://proxy.corp:3128/?q=1", Err("remove the path")),
            ("http://proxy.corp:99999", Err("scheme")),
            ("http://proxy\n.corp", Err("control characters")),
            ("http://proxy.corp\u{7}:3128", Err("control characters")),
        ] {
            let raw = raw.to_owned();
            let outcome = validate_proxy(&raw)
                .map(|proxy| proxy.as_ref().map(display_proxy))
                .map_err(|problem| {
                    assert_eq!(problem.field, PROXY_FIELD);
                    problem.message
                });
            match expected {
                Ok(shown) => assert_eq!(outcome, Ok(shown.map(str::to_owned)), "{raw:?}"),
                Err(fragment) => {
                    let message = outcome.expect_err(&raw);
                    assert!(message.contains(fragment), "{raw:?}: {message}");
                    assert!(!message.contains("hunter2"), "{message}");
                }
            }
        }
    }

    #[test]
    fn a_bad_proxy_is_a_field_error_and_a_good_one_is_kept() {
        let mut input = draft();
        input.proxy = Some("http://user:pw@proxy.corp:3128".to_owned());
        let (field, message) = only_field(validate(&input, &[], None));
        assert_eq!(field, "proxy");
        assert!(!message.contains("pw@"), "{message}");
        input.proxy = Some("http://proxy.corp:3128".to_owned());
        let valid = validate(&input, &[], None).expect("valid");
        assert_eq!(
            valid.proxy.as_ref().map(display_proxy).as_deref(),
            Some("http://proxy.corp:3128")
        );
        let debug = format!(
            "{:?}",
            ProviderDraft {
                proxy: Some("http://a:secretpw@p:1".to_owned()),
                ..draft()
            }
        );
        assert!(!debug.contains("secretpw"), "{debug}");
        let parsed: ProviderDraft = serde_json::from_value(serde_json::json!({
            "label": "x", "base_url": "https://api.example.com/v1", "auth": "none", "models": ["m"],
            "proxy": "http://proxy.corp:3128"
        }))
        .expect("draft with proxy");
        assert_eq!(parsed.proxy.as_deref(), Some("http://proxy.corp:3128"));
    }

    #[test]
    fn timeouts() {
        for (timeout, ok) in [
            (None, true),
            (Some(1), true),
            (Some(600), true),
            (Some(0), false),
            (Some(601), false),
            (Some(u32::MAX), false),
        ] {
            let mut input = draft();
            input.timeout_secs = timeout;
            let result = validate(&input, &[], None);
            if ok {
                assert_eq!(result.expect("valid").timeout_secs, timeout);
            } else {
                let (field, message) = only_field(result);
                assert_eq!(field, "timeout_secs");
                assert!(message.contains("1 to 600"), "{message}");
            }
        }
    }

    #[test]
    fn drafts_deserialise_from_the_documented_json() {
        let json = serde_json::json!({
            "label": "Home Ollama",
            "base_url": "http://localhost:11434/v1",
            "auth": "none",
            "models": ["llama3.2"],
            "network": "local"
        });
        let parsed: ProviderDraft = serde_json::from_value(json).expect("minimal draft");
        assert!(parsed.enabled, "enabled defaults to true");
        assert!(matches!(parsed.key, KeyChange::Keep));
        assert!(
            parsed.headers.is_empty() && parsed.preset.is_none() && parsed.timeout_secs.is_none()
        );
        assert!(validate(&parsed, &[], None).is_ok());

        let json = serde_json::json!({
            "label": "Gateway",
            "preset": "custom",
            "base_url": "https://gw.example.com/v1",
            "auth": "api_key",
            "key": {"action": "set", "value": "sk-canary-0000"},
            "models": ["m"],
            "enabled": false,
            "headers": [{"name": "X-Api-Key", "value": "hdr-canary-1111", "secret": true}, {"name": "X-Keep", "secret": true}],
            "timeout_secs": 30
        });
        let parsed: ProviderDraft = serde_json::from_value(json).expect("full draft");
        assert!(!parsed.enabled);
        assert!(
            matches!(&parsed.key, KeyChange::Set { value } if value.expose() == "sk-canary-0000")
        );
        assert!(parsed.headers[1].value.is_none());
        let printed = format!("{parsed:?}");
        assert!(
            !printed.contains("sk-canary") && !printed.contains("hdr-canary"),
            "{printed}"
        );

        let remove: KeyChange =
            serde_json::from_value(serde_json::json!({"action": "remove"})).expect("remove");
        assert!(matches!(remove, KeyChange::Remove));
        assert!(
            serde_json::from_value::<KeyChange>(serde_json::json!({"action": "steal"})).is_err()
        );
    }

    #[test]
    fn notices_serialise_as_field_and_message() {
        let notice = Notice::new(
            "base_url",
            "Removed /models: Patchbay adds the endpoint path itself.",
        );
        assert_eq!(
            serde_json::to_value(&notice).expect("serialises"),
            serde_json::json!({
                "field": "base_url",
                "message": "Removed /models: Patchbay adds the endpoint path itself."
            })
        );
    }

    #[test]
    fn debug_output_redacts_keys_header_values_and_url_credentials() {
        let mut input = draft();
        input.key = KeyChange::Set {
            value: ApiKey::new("sk-canary-2222"),
        };
        input.base_url = "https://user:pw-canary-3333@h/v1".to_owned();
        input.headers = vec![header("X-Api-Key", Some("hdr-canary-4444"), true)];
        let printed = format!("{input:?}");
        for canary in ["sk-canary", "pw-canary", "hdr-canary"] {
            assert!(!printed.contains(canary), "{canary} in {printed}");
        }
        let mut valid_input = draft();
        valid_input.key = KeyChange::Set {
            value: ApiKey::new("sk-canary-5555"),
        };
        valid_input.headers = vec![header("X-Api-Key", Some("hdr-canary-6666"), true)];
        let printed = format!("{:?}", validate(&valid_input, &[], None).expect("valid"));
        assert!(
            !printed.contains("sk-canary") && !printed.contains("hdr-canary"),
            "{printed}"
        );
        let error = validate(&input, &[], None).expect_err("userinfo refused");
        let payload = serde_json::to_string(&error.to_payload()).expect("serialises");
        assert!(!payload.contains("canary"), "{payload}");
    }
}
