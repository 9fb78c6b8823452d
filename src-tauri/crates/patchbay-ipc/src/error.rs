//! The IPC crate's one error type: start-up failures (another instance, an
//! unsafe socket directory), the failures of each method, and those of the
//! service's use cases it calls (providers, tests, pairing, resolve). [`IpcError::to_error_object`] is the single place
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

    #[error("Invalid params: {detail}")]
    InvalidParams { detail: String },

    #[error("{0}")]
    Store(#[from] patchbay_core::Error),

    /// Pairing, the host registry, resolve (`patchbay-service`'s host use cases).
    #[error("{0}")]
    Hosts(#[from] patchbay_service::HostsError),

    #[error("The connection test could not run: {detail}")]
    TestFailed { detail: String },

    #[error("{0}")]
    Client(#[from] patchbay_client::ClientError),

    #[error("Patchbay is busy ({detail}); try again in a moment.")]
    Busy { detail: String },

    /// An admin method without the admin secret.
    #[error("Only Patchbay's own window and `patchbay hosts` can approve, deny or revoke: the request did not carry Patchbay's admin secret.")]
    AdminRequired,

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
            Self::InvalidParams { .. } => Kind::InvalidParams,
            Self::Store(error) => error.kind(),
            Self::Hosts(error) => error.kind(),
            Self::TestFailed { .. } => Kind::TestFailed,
            Self::Client(error) => error.kind(),
            Self::Busy { .. } => Kind::Busy,
            Self::AdminRequired => Kind::AdminRequired,
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
            ServiceError::Busy => Self::Busy {
                detail: format!(
                    "{} connection tests and model requests at once",
                    patchbay_service::MAX_NETWORK_USES
                ),
            },
            // A test reports network failures per stage; what is left (no
            // HTTP client, cancellation) means the test could not run.
            other => Self::TestFailed {
                detail: other.to_string(),
            },
        }
    }
}
