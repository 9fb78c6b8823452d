//! The CLI's one error type and how every failure leaves the process: a
//! sentence on stderr, or `{"error": {"kind", "message", "fields"?}}` on
//! stdout with `--json`, and exit status 1. Usage errors never get here:
//! clap reports them itself with exit status 2.
//!
//! Validation problems name both the draft field and the flag that sets it
//! (`--base-url (base_url): …`), because a person at a terminal knows the
//! flags, and a script may want the field.

use std::io;

use patchbay_core::error::FieldError;
use patchbay_core::Kind;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    #[error(transparent)]
    Domain(#[from] patchbay_core::Error),

    /// `--api-key-stdin`, `--api-key-env` or `--secret-header` given, but
    /// stdin or the environment could not supply the values.
    #[error("{message}")]
    SecretInput {
        field: &'static str,
        message: String,
    },

    /// A request to an endpoint failed (discovery); the message is
    /// `patchbay-net`'s, already free of secrets and raw bodies.
    #[error("{}", .0)]
    Net(patchbay_net::NetError),

    /// The IPC server or the pairing registry failed.
    #[error("{}", .0)]
    Ipc(patchbay_ipc::IpcError),

    #[error("No paired app with id `{0}`. Run `patchbay hosts list` to see them.")]
    UnknownHost(String),

    #[error("Could not start the async runtime: {0}")]
    Runtime(#[source] io::Error),

    #[error("Could not write the output: {0}")]
    Output(#[source] io::Error),

    #[error("No preset named `{0}`. Run `patchbay presets` to see them.")]
    UnknownPreset(String),

    /// A use case could not run at all (no HTTP client, an interrupted
    /// task); refusals and network failures arrive as `Domain` and `Net`.
    #[error(transparent)]
    Service(patchbay_service::ServiceError),

    /// Start at login or the systemd unit could not be changed.
    #[error("{0}")]
    Desktop(#[from] patchbay_desktop::DesktopError),
}

impl From<patchbay_service::ServiceError> for CliError {
    fn from(error: patchbay_service::ServiceError) -> Self {
        use patchbay_service::ServiceError;
        match error {
            ServiceError::Domain(error) => Self::Domain(error),
            ServiceError::Net(error) => Self::Net(error),
            other => Self::Service(other),
        }
    }
}

impl CliError {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Domain(error) => error.kind(),
            Self::SecretInput { .. } | Self::UnknownPreset(_) => Kind::InvalidInput,
            Self::Net(error) => error.kind(),
            Self::Ipc(error) => error.kind(),
            Self::UnknownHost(_) => Kind::HostNotFound,
            Self::Runtime(_) => Kind::Runtime,
            Self::Output(_) => Kind::Output,
            Self::Service(error) => error.kind(),
            Self::Desktop(_) => Kind::Io,
        }
    }

    /// The per-field problems, each with the flag that sets the field.
    pub(crate) fn fields(&self) -> Vec<FlagProblem> {
        match self {
            Self::Domain(error) => error.fields().iter().map(FlagProblem::from_field).collect(),
            Self::SecretInput { field, message } => {
                vec![FlagProblem::from_field(&FieldError::new(
                    *field,
                    message.clone(),
                ))]
            }
            Self::UnknownPreset(_) => {
                vec![FlagProblem::from_field(&FieldError::new(
                    "preset",
                    self.to_string(),
                ))]
            }
            Self::Net(_)
            | Self::Ipc(_)
            | Self::UnknownHost(_)
            | Self::Runtime(_)
            | Self::Output(_)
            | Self::Service(_)
            | Self::Desktop(_) => Vec::new(),
        }
    }

    pub(crate) fn payload(&self) -> ErrorPayload {
        ErrorPayload {
            kind: self.kind().as_str(),
            reason: self.kind().reason(),
            message: self.to_string(),
            hint: self.hint(),
            fields: self.fields(),
        }
    }

    /// What to do about a network failure.
    fn hint(&self) -> Option<String> {
        match self {
            Self::Net(error) => Some(error.hint()),
            _ => None,
        }
    }

    /// What a person reads on stderr: one line per invalid field, naming
    /// the flag, or the message.
    pub(crate) fn human(&self) -> String {
        let fields = self.fields();
        if fields.is_empty() {
            return match self.hint() {
                Some(hint) => format!("error: {self}\nhint: {hint}"),
                None => format!("error: {self}"),
            };
        }
        let mut text = String::from("error: invalid input (nothing was changed):");
        for problem in &fields {
            text.push_str(&format!(
                "\n  {} ({}): {}",
                problem.flag, problem.field, problem.message
            ));
        }
        text
    }
}

/// `{"error": {…}}`, the `--json` failure shape.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorEnvelope<'a> {
    pub(crate) error: &'a ErrorPayload,
}

#[derive(Debug, Serialize)]
pub(crate) struct ErrorPayload {
    pub(crate) kind: &'static str,
    /// The precise kind (see `patchbay_protocol::Kind`).
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) fields: Vec<FlagProblem>,
}

/// A [`FieldError`] plus the command-line flag that sets that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FlagProblem {
    pub(crate) field: String,
    pub(crate) flag: &'static str,
    pub(crate) message: String,
}

impl FlagProblem {
    fn from_field(error: &FieldError) -> Self {
        Self {
            field: error.field.clone(),
            flag: flag_for(&error.field),
            message: error.message.clone(),
        }
    }
}

/// The flag that sets a draft field. Indexed fields (`models[1]`,
/// `headers[0].name`) map by their stem.
pub(crate) fn flag_for(field: &str) -> &'static str {
    let stem = field.split(['[', '.']).next().unwrap_or(field);
    match stem {
        "label" => "--label",
        "base_url" => "--base-url",
        "api_key" | "key" => "--api-key-stdin",
        "auth" => "--no-auth/--api-key-stdin",
        "models" => "--model",
        "model" => "MODEL",
        "display_name" => "--name/NAME",
        "position" => "--before/--to",
        "entry" => "PROVIDER/MODEL",
        "yes" => "--yes",
        "file" => "FILE",
        "output" => "--output",
        "prompt" => "PROMPT",
        "network" => "--allow-local/--allow-private",
        "headers" | "header" => "--header/--secret-header",
        "timeout_secs" | "timeout" => "--timeout",
        "preset" => "--preset",
        "enabled" => "--enabled/--disabled",
        "proxy" => "--proxy/--no-proxy",
        "proxy_username" => "--proxy-user",
        "proxy_password" => "--proxy-password-stdin",
        "ca_certificate" => "--ca-cert",
        "api_version" => "--api-version",
        "move_key" => "--move-key",
        _ => "(no flag)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_fields_map_to_their_flag() {
        assert_eq!(flag_for("models[2]"), "--model");
        assert_eq!(flag_for("headers[0].name"), "--header/--secret-header");
        assert_eq!(flag_for("base_url"), "--base-url");
        assert_eq!(flag_for("api_key"), "--api-key-stdin");
    }

    #[test]
    fn human_message_names_flag_and_field() {
        let error = CliError::Domain(patchbay_core::Error::invalid("base_url", "use https"));
        assert_eq!(
            error.human(),
            "error: invalid input (nothing was changed):\n  --base-url (base_url): use https"
        );
        assert_eq!(error.kind(), Kind::InvalidInput);
    }
}
