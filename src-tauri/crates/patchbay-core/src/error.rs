//! The domain's one error type. Every boundary (Tauri commands, the CLI, the
//! IPC server) sends it on as `{ "kind": "...", "message": "..." }` (plus
//! `fields` for validation), so callers branch on `kind`, never on text.
//! Messages are written for the person reading them: what is wrong and what
//! to do. No message ever contains a secret.

use std::path::PathBuf;

use serde::Serialize;

pub use patchbay_protocol::Kind;

/// One problem with one form field. `field` is the draft's field name
/// (`label`, `base_url`, `key`, `models`, `models[1]`, `headers[0].name`,
/// `network`, `timeout_secs`), so the UI can show it inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// "`field`: message", as a config-file problem is reported.
impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more fields are invalid; nothing was saved.
    #[error("{}", summarize(.0))]
    Invalid(Vec<FieldError>),

    #[error("No provider with id `{id}`. Run `patchbay provider list` to see the ids.")]
    NotFound { id: String },

    /// The provider's stored key (or a secret header value) was given for
    /// another origin than the request would go to.
    #[error("Patchbay did not send the key of `{id}`: it was given for {given_for}, and this request goes to {destination}. If the provider moved, confirm sending the key there (in the window, or `patchbay provider edit {id} --move-key`), or enter a new key.")]
    KeyWithheld {
        id: String,
        given_for: String,
        destination: String,
    },

    #[error("No keychain service is running: install and unlock GNOME Keyring or KeePassXC's Secret Service integration, then try again. Nothing was saved. ({detail})")]
    KeychainUnavailable { detail: String },

    #[error("The keychain is locked or access was refused: unlock your login keyring (for example by opening \"Passwords and Keys\") and try again. Nothing was saved.")]
    KeychainLocked,

    #[error("The keychain did not answer within {seconds} s: it may be waiting for an unlock prompt. Unlock it and try again. Nothing was saved.")]
    KeychainTimeout { seconds: u64 },

    #[error("The keychain refused the operation: {detail}")]
    Keychain { detail: String },

    #[error("Could not {action} {path}: {source}")]
    ConfigIo {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} could not be read ({detail}). It was moved aside to {moved_to} so nothing in it is lost; Patchbay started with an empty provider list.")]
    ConfigCorrupt {
        path: PathBuf,
        moved_to: PathBuf,
        detail: String,
    },

    #[error("{path} was written by a newer Patchbay (config version {found}; this one understands {supported}). Update Patchbay; the file was left untouched.")]
    ConfigVersion {
        path: PathBuf,
        found: u64,
        supported: u64,
    },

    #[error(
        "Another Patchbay process is holding the config lock on {path}; try again in a moment."
    )]
    ConfigBusy { path: PathBuf },

    /// A file to import was made by a newer Patchbay.
    #[error("This export is version {found}, made by a newer Patchbay; this one reads version {supported}. Update Patchbay to import it; nothing was imported.")]
    ImportVersion { found: u64, supported: u64 },
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Invalid(_) => Kind::InvalidInput,
            Self::NotFound { .. } => Kind::ProviderNotFound,
            Self::KeyWithheld { .. } => Kind::KeyWithheld,
            Self::KeychainUnavailable { .. } => Kind::KeychainUnavailable,
            Self::KeychainLocked => Kind::KeychainLocked,
            Self::KeychainTimeout { .. } => Kind::KeychainTimeout,
            Self::Keychain { .. } => Kind::Keychain,
            Self::ConfigIo { .. } => Kind::ConfigIo,
            Self::ConfigCorrupt { .. } => Kind::ConfigCorrupt,
            Self::ConfigVersion { .. } => Kind::ConfigVersion,
            Self::ConfigBusy { .. } => Kind::ConfigBusy,
            Self::ImportVersion { .. } => Kind::UnsupportedVersion,
        }
    }

    /// The per-field problems, for a validation error.
    pub fn fields(&self) -> &[FieldError] {
        match self {
            Self::Invalid(fields) => fields,
            _ => &[],
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    /// The wire form: `{ "kind", "reason", "message", "fields"? }`.
    pub fn to_payload(&self) -> ErrorPayload {
        ErrorPayload::new(self.kind(), self.to_string(), self.fields().to_vec())
    }
}

/// The serialisable form of an error, shared by every boundary:
/// `{ "kind", "reason", "message", "fields"? }` (see [`Kind`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorPayload {
    pub kind: &'static str,
    /// The precise kind; differs from `kind` only where the documented kind
    /// has several meanings (`not_found`, `unauthorized`, …).
    pub reason: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ErrorPayload {
    pub fn new(kind: Kind, message: String, fields: Vec<FieldError>) -> Self {
        Self {
            kind: kind.as_str(),
            reason: kind.reason(),
            message,
            fields,
        }
    }
}

fn summarize(fields: &[FieldError]) -> String {
    match fields {
        [] => "The form is invalid.".to_owned(),
        [only] => format!("{}: {}", only.field, only.message),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more)",
            first.field,
            first.message,
            rest.len()
        ),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
