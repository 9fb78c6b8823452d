//! The app's one error type at the IPC boundary. Every command returns
//! `Result<T, AppError>`, and the webview receives `{kind, message, fields?}`
//! so the UI branches on `kind` and shows `fields` inline, never parsing text.
//! Messages come from the service and domain crates, which never put a secret in one.

use patchbay_core::error::{ErrorPayload, FieldError};
use patchbay_core::id::InvalidId;
use patchbay_core::Kind;
use patchbay_service::ServiceError;
use serde::{Serialize, Serializer};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Anything a use case refused or failed at (validation, keychain,
    /// config, a request to a provider, cancellation).
    #[error(transparent)]
    Service(#[from] ServiceError),

    /// The webview sent an id that cannot be a provider id.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),

    /// Pairing and connected apps (`hosts.json`, the IPC server's admin API).
    #[error(transparent)]
    Ipc(#[from] patchbay_ipc::IpcError),
}

impl From<patchbay_core::Error> for AppError {
    fn from(error: patchbay_core::Error) -> Self {
        Self::Service(error.into())
    }
}

impl AppError {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Service(error) => error.kind(),
            Self::InvalidId(_) => Kind::InvalidInput,
            Self::Ipc(error) => error.kind(),
        }
    }

    /// The wire form shared with the CLI and the IPC server.
    pub fn to_payload(&self) -> ErrorPayload {
        match self {
            Self::Service(error) => error.to_payload(),
            Self::InvalidId(error) => ErrorPayload::new(
                self.kind(),
                error.to_string(),
                vec![FieldError::new("id", error.to_string())],
            ),
            Self::Ipc(_) => ErrorPayload::new(self.kind(), self.to_string(), Vec::new()),
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
        let value =
            serde_json::to_value(AppError::from(ServiceError::Interrupted)).unwrap_or_default();
        assert_eq!(value["kind"], "interrupted");
        assert!(value.get("fields").is_none());
    }
}
