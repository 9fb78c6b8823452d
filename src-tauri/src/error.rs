//! The app's one error type at the IPC boundary. Every command returns
//! `Result<T, AppError>`, and the webview receives `{kind, message, fields?}`
//! so the UI branches on `kind` and shows `fields` inline, never parsing text.
//! Messages come from the domain crates, which never put a secret in one.

use patchbay_core::error::{ErrorPayload, FieldError};
use patchbay_core::id::InvalidId;
use serde::{Serialize, Serializer};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Anything the domain refused or failed at (validation, keychain, config).
    #[error(transparent)]
    Domain(#[from] patchbay_core::Error),

    /// The webview sent an id that cannot be a provider id.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),

    /// A request to a provider failed (discovery); tests report failures
    /// per stage instead.
    #[error(transparent)]
    Net(#[from] patchbay_net::NetError),

    /// Pairing and connected apps (`hosts.json`, the IPC server's admin API).
    #[error(transparent)]
    Ipc(#[from] patchbay_ipc::IpcError),

    /// The HTTP client could not be built at start.
    #[error("Patchbay could not set up its HTTP client ({0}); testing connections is unavailable until it restarts.")]
    NetworkUnavailable(String),

    /// The blocking task running a domain call panicked or was cancelled.
    #[error("Patchbay stopped the operation unexpectedly; nothing else was changed. Try again.")]
    Interrupted,
}

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Domain(error) => error.kind().as_str(),
            Self::InvalidId(_) => "invalid_input",
            Self::Net(error) => error.kind().as_str(),
            Self::Ipc(error) => error.kind(),
            Self::NetworkUnavailable(_) => "network_unavailable",
            Self::Interrupted => "interrupted",
        }
    }

    /// The wire form shared with the CLI and the IPC server.
    pub fn to_payload(&self) -> ErrorPayload {
        match self {
            Self::Domain(error) => error.to_payload(),
            Self::InvalidId(error) => ErrorPayload {
                kind: self.kind().to_owned(),
                message: error.to_string(),
                fields: vec![FieldError::new("id", error.to_string())],
            },
            Self::Net(error) => {
                let hint = error.hint();
                let message = if hint.is_empty() {
                    error.to_string()
                } else {
                    format!("{error} {hint}")
                };
                ErrorPayload {
                    kind: self.kind().to_owned(),
                    message,
                    fields: Vec::new(),
                }
            }
            Self::NetworkUnavailable(_) | Self::Interrupted | Self::Ipc(_) => ErrorPayload {
                kind: self.kind().to_owned(),
                message: self.to_string(),
                fields: Vec::new(),
            },
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_payload().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kind_message_and_fields() {
        let error = AppError::from(patchbay_core::Error::invalid("base_url", "Add a host."));
        let value = serde_json::to_value(&error).unwrap_or_default();
        assert_eq!(value["kind"], "invalid_input");
        assert_eq!(value["fields"][0]["field"], "base_url");
        assert_eq!(value["fields"][0]["message"], "Add a host.");
        assert!(value["message"]
            .as_str()
            .is_some_and(|message| message.contains("Add a host.")));
    }

    #[test]
    fn fields_are_absent_when_there_are_none() {
        let value = serde_json::to_value(AppError::Interrupted).unwrap_or_default();
        assert_eq!(value["kind"], "interrupted");
        assert!(value.get("fields").is_none());
    }
}
