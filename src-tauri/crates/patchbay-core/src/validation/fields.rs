//! The rules of each field of a draft (label, preset, models, key, headers,
//! proxy), used by [`super::validate`] and, for one field at a time, by the
//! CLI and the window.

use url::Url;

use super::*;
use crate::error::FieldError;
use crate::model::{Auth, Provider};
use crate::presets;
use crate::safe_url::{SafeUrl, UrlProblem};
use crate::secret::ApiKey;

/// The field name of the proxy in errors and notices.
pub const PROXY_FIELD: &str = "proxy";
/// The draft field of the API key ([`ProviderDraft::key`]).
pub const KEY_FIELD: &str = "key";
/// The field [`validate_model_id`] reports on its own; a draft's models are
/// reported as `models[<index>]`.
pub const MODEL_FIELD: &str = "model";

/// The field of the proxy's user name.
pub const PROXY_USERNAME_FIELD: &str = "proxy_username";
/// The field of the proxy's password.
pub const PROXY_PASSWORD_FIELD: &str = "proxy_password";
/// The field of the provider's CA certificate.
pub const CA_CERTIFICATE_FIELD: &str = "ca_certificate";
/// Longest proxy user name or password accepted, in bytes.
pub const MAX_PROXY_CREDENTIAL_BYTES: usize = 1024;

/// Longest proxy URL accepted, in characters.
pub const MAX_PROXY_CHARS: usize = crate::safe_url::MAX_URL_CHARS;

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
    // The rules every URL shares, except that a proxy's credentials get
    // their own answer: a proxy that asks for a password cannot be used yet.
    let url = match SafeUrl::parse(trimmed) {
        Ok(safe) => safe.into_url(),
        Err(UrlProblem::Userinfo) => {
            return Err(invalid("Remove the `user:password@` part from the proxy URL and enter the user name and password in their own fields (the password is kept in the keychain, not in the config file).".to_owned()))
        }
        Err(problem) => return Err(invalid(problem.to_string())),
    };
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("A proxy URL is only a scheme, a host and a port (http://proxy.example:3128): remove the path, query or fragment.".to_owned()));
    }
    Ok(Some(url))
}

/// Checks a proxy user name: HTTP Basic puts it before a `:`, so it cannot
/// hold one; no control characters. Returns it trimmed.
pub fn validate_proxy_username(raw: &str) -> Result<String, FieldError> {
    let invalid = |message: &str| FieldError::new(PROXY_USERNAME_FIELD, message.to_owned());
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(invalid(
            "Enter the proxy's user name, or clear the password too if the proxy needs none.",
        ));
    }
    if trimmed.len() > MAX_PROXY_CREDENTIAL_BYTES {
        return Err(invalid(
            "The user name is longer than 1 KiB; check what you pasted.",
        ));
    }
    if trimmed.contains(':') {
        return Err(invalid("A proxy user name cannot contain `:` (HTTP Basic authentication separates the user name from the password with it)."));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "The user name contains a control character or line break; type it again.",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Checks a proxy password as typed: not empty, no line breaks or other
/// control characters. Not trimmed: spaces may be part of it.
pub fn validate_proxy_password(raw: &str) -> Result<ApiKey, FieldError> {
    let invalid = |message: &str| FieldError::new(PROXY_PASSWORD_FIELD, message.to_owned());
    if raw.is_empty() {
        return Err(invalid("Enter the proxy's password."));
    }
    if raw.len() > MAX_PROXY_CREDENTIAL_BYTES {
        return Err(invalid(
            "The password is longer than 1 KiB; check what you pasted.",
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(invalid(
            "The password contains a line break or another control character; type it again.",
        ));
    }
    Ok(ApiKey::new(raw))
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

pub(super) fn check_label(
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

pub(super) fn check_preset(raw: Option<&str>, problems: &mut Vec<FieldError>) -> Option<String> {
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

pub(super) fn check_models(raw: &[String], problems: &mut Vec<FieldError>) -> Vec<String> {
    problems.extend(model_list_problems(raw));
    raw.to_vec()
}

/// What is wrong with a list of chosen model ids: the form's, or the
/// stored list after discovery changed it.
pub(crate) fn model_list_problems(raw: &[String]) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if raw.is_empty() {
        problems.push(FieldError::new(
            "models",
            "Add at least one model ID; the first one is the default (for example gpt-4o-mini).",
        ));
        return problems;
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
    problems
}

/// `None` when the key is invalid (the problem has been recorded).
pub(super) fn check_key(
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
                "The stored key is set to be removed, but API key authentication needs one: enter a new key, or choose \"No authentication\".",
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

pub(super) fn check_headers(
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
                format!(
                    "Header {} already has this name; remove one of them.",
                    first + 1
                ),
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
