//! The client's one error type. Hosts branch on [`ClientError::kind`]; the
//! messages are written for the person using the host app and never contain a
//! token or a header value.

use std::io;
use std::path::PathBuf;

/// What went wrong, for code to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No Patchbay server is listening: fall back to
    /// [`crate::read_shared_config`] or ask the person to open Patchbay.
    NotRunning,
    /// The platform has no place for the socket or config (no `HOME`, …).
    NoEndpoint,
    /// The server sent something that is not valid protocol.
    Protocol,
    /// The server answered with a JSON-RPC error; see [`ClientError::Rpc`].
    Rpc,
    /// The server (or the shared config) speaks a version this client does
    /// not understand.
    UnsupportedVersion,
    /// The connection closed before the answer arrived.
    Disconnected,
    /// No answer within the client's timeout.
    Timeout,
    /// Reading or writing the socket or a file failed.
    Io,
    /// The shared config file exists but is not valid JSON of the schema.
    ConfigInvalid,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRunning => "not_running",
            Self::NoEndpoint => "no_endpoint",
            Self::Protocol => "protocol",
            Self::Rpc => "rpc",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Disconnected => "disconnected",
            Self::Timeout => "timeout",
            Self::Io => "io",
            Self::ConfigInvalid => "config_invalid",
        }
    }
}

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
            Self::Timeout { .. } => ErrorKind::Timeout,
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
