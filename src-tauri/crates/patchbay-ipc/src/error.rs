//! The IPC crate's one error type: start-up failures (another instance, an
//! unsafe socket directory), pairing and host-registry failures, and the
//! failures of each method. [`IpcError::to_error_object`] is the single place
//! that turns them into JSON-RPC errors; no message contains a token, a key
//! or a header value.

use std::io;
use std::path::PathBuf;

use patchbay_protocol::rpc::{codes, ErrorObject};
use patchbay_protocol::Kind;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpcError {
    #[error("Patchbay is already serving on {endpoint}{}", describe_pid(*.pid))]
    AlreadyRunning { endpoint: String, pid: Option<u32> },

    #[error("{path} exists and is not a socket; Patchbay will not remove it. Move it away or set PATCHBAY_RUNTIME_DIR.")]
    NotASocket { path: PathBuf },

    #[error("Refusing to use {path}: {reason}")]
    UnsafeDirectory { path: PathBuf, reason: String },

    #[error("Cannot tell where the {what} is on this system (is HOME or XDG_RUNTIME_DIR set?)")]
    NoEndpoint { what: &'static str },

    #[error("Could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{path} is not a valid hosts file ({detail}); it was left untouched. Fix or remove it to pair again.")]
    HostsCorrupt { path: PathBuf, detail: String },

    #[error("Another Patchbay process is holding the lock on {path}; try again in a moment.")]
    HostsBusy { path: PathBuf },

    #[error("Invalid params: {detail}")]
    InvalidParams { detail: String },

    #[error("The token is unknown or was revoked. Pair again with host.pair.")]
    Unauthorized,

    #[error("The pairing request was denied.")]
    PairingDenied,

    #[error("Nobody answered the pairing request within {seconds} s.")]
    PairingTimeout { seconds: u64 },

    #[error("A pairing request from `{app_id}` is already waiting for a decision.")]
    PairingInProgress { app_id: String },

    #[error("Too many pairing requests are waiting; decide on them first.")]
    TooManyPending,

    #[error("No pairing request `{request_id}` is waiting (it was decided, expired, or never existed). See `patchbay hosts pending`.")]
    NotPending { request_id: String },

    #[error("The app that asked to pair (`{app_id}`) stopped waiting; ask it to pair again.")]
    RequesterGone { app_id: String },

    #[error("No enabled entry `{entry_id}`. List entries with entries.list.")]
    EntryNotFound { entry_id: String },

    #[error("Provider `{provider_id}` needs an API key but none is stored. Add one in Patchbay.")]
    KeyMissing { provider_id: String },

    #[error("{0}")]
    Store(#[from] patchbay_core::Error),

    #[error("The connection test could not run: {detail}")]
    TestFailed { detail: String },

    #[error("{0}")]
    Client(#[from] patchbay_client::ClientError),

    #[error("Patchbay is busy ({detail}); try again in a moment.")]
    Busy { detail: String },

    #[error("Patchbay failed: {detail}")]
    Internal { detail: String },
}

fn describe_pid(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

impl IpcError {
    /// What went wrong, in the one vocabulary (`data.kind`, `data.reason`
    /// and the JSON-RPC code on the wire).
    pub fn kind(&self) -> Kind {
        match self {
            Self::AlreadyRunning { .. } => Kind::AlreadyRunning,
            Self::NotASocket { .. } => Kind::NotASocket,
            Self::UnsafeDirectory { .. } => Kind::UnsafeDirectory,
            Self::NoEndpoint { .. } => Kind::NoEndpoint,
            Self::Io { .. } => Kind::Io,
            Self::HostsCorrupt { .. } => Kind::HostsCorrupt,
            Self::HostsBusy { .. } => Kind::HostsBusy,
            Self::InvalidParams { .. } => Kind::InvalidParams,
            Self::Unauthorized => Kind::TokenRejected,
            Self::PairingDenied => Kind::PairingDenied,
            Self::PairingTimeout { .. } => Kind::PairingTimeout,
            Self::PairingInProgress { .. } => Kind::PairingInProgress,
            Self::TooManyPending => Kind::TooManyPending,
            Self::NotPending { .. } => Kind::NotPending,
            Self::RequesterGone { .. } => Kind::RequesterGone,
            Self::EntryNotFound { .. } => Kind::EntryNotFound,
            Self::KeyMissing { .. } => Kind::KeyMissing,
            Self::Store(error) => error.kind(),
            Self::TestFailed { .. } => Kind::TestFailed,
            Self::Client(error) => error.kind(),
            Self::Busy { .. } => Kind::Busy,
            Self::Internal { .. } => Kind::Internal,
        }
    }

    /// The JSON-RPC error code for this error.
    pub fn rpc_code(&self) -> i64 {
        self.kind().rpc_code().unwrap_or(codes::INTERNAL_ERROR)
    }

    /// The JSON-RPC error sent to a client.
    pub fn to_error_object(&self) -> ErrorObject {
        ErrorObject::of(self.kind(), self.to_string())
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = IpcError> = std::result::Result<T, E>;

impl From<patchbay_service::ServiceError> for IpcError {
    fn from(error: patchbay_service::ServiceError) -> Self {
        use patchbay_service::ServiceError;
        match error {
            ServiceError::Domain(error) => Self::Store(error),
            ServiceError::Interrupted => Self::Internal {
                detail: error.to_string(),
            },
            // A test reports network failures per stage; what is left (no
            // HTTP client, cancellation) means the test could not run.
            other => Self::TestFailed {
                detail: other.to_string(),
            },
        }
    }
}
