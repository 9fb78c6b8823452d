//! The client's one error type. Hosts branch on [`ClientError::kind`]; the
//! messages are written for the person using the host app and never contain a
//! token or a header value.

use std::io;
use std::path::PathBuf;

/// What went wrong, for code to branch on: the one vocabulary of
/// [`patchbay_protocol::Kind`]. A client's own kinds are `NotRunning`,
/// `NoEndpoint`, `Protocol`, `Rpc` (the server's error: see
/// [`ClientError::rpc_kind`] and [`ClientError::rpc_reason`]),
/// `UnsupportedVersion`, `Disconnected`, `NoAnswer`, `ConfigInvalid` and
/// `UntrustedEndpoint`.
pub use patchbay_protocol::Kind as ErrorKind;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("Patchbay is not running (nothing is listening on {endpoint}). Open Patchbay or run `patchbay serve`.")]
    NotRunning {
        endpoint: String,
        #[source]
        source: io::Error,
    },

    #[error("Cannot tell where Patchbay's {what} is on this system (is HOME set?).")]
    NoEndpoint { what: &'static str },

    #[error("Patchbay sent an invalid frame: {detail}")]
    Protocol { detail: String },

    /// A JSON-RPC error from the server. `kind` is its `data.kind`
    /// (`unauthorized`, `pairing_denied`, `not_found`, …).
    #[error("{message}")]
    Rpc {
        code: i64,
        kind: Option<String>,
        /// `data.reason`, from servers that send it.
        reason: Option<String>,
        message: String,
    },

    #[error("This host understands Patchbay {what} version {supported}, but found version {found}. Update the host app.")]
    UnsupportedVersion {
        what: &'static str,
        found: u64,
        supported: u64,
    },

    #[error("The connection to Patchbay closed before it answered.")]
    Disconnected,

    /// Nothing was sent: see [`ErrorKind::UntrustedEndpoint`].
    #[error("Refusing to talk to {path}: {reason}. Only a socket in a directory that only you can use is trusted.")]
    UntrustedEndpoint { path: String, reason: String },

    #[error("Patchbay did not answer {method} within {seconds} s.")]
    Timeout { method: String, seconds: u64 },

    #[error("Could not {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a valid Patchbay config file: {detail}")]
    ConfigInvalid { path: PathBuf, detail: String },
}

impl ClientError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotRunning { .. } => ErrorKind::NotRunning,
            Self::NoEndpoint { .. } => ErrorKind::NoEndpoint,
            Self::Protocol { .. } => ErrorKind::Protocol,
            Self::Rpc { .. } => ErrorKind::Rpc,
            Self::UnsupportedVersion { .. } => ErrorKind::UnsupportedVersion,
            Self::Disconnected => ErrorKind::Disconnected,
            Self::UntrustedEndpoint { .. } => ErrorKind::UntrustedEndpoint,
            Self::Timeout { .. } => ErrorKind::NoAnswer,
            Self::Io { .. } => ErrorKind::Io,
            Self::ConfigInvalid { .. } => ErrorKind::ConfigInvalid,
        }
    }

    /// The JSON-RPC error code, for [`ClientError::Rpc`].
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's `data.reason` (the precise kind, e.g. `token_rejected`
    /// where `data.kind` is `unauthorized`), for [`ClientError::Rpc`].
    pub fn rpc_reason(&self) -> Option<&str> {
        match self {
            Self::Rpc { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// The server's `data.kind`, for [`ClientError::Rpc`].
    pub fn rpc_kind(&self) -> Option<&str> {
        match self {
            Self::Rpc { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn protocol(detail: impl Into<String>) -> Self {
        Self::Protocol {
            detail: detail.into(),
        }
    }
}
