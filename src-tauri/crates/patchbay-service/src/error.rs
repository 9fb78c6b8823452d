//! The service's one error type: what a use case refused or failed at.
//! Adapters map it to their wire (`{kind, message, fields?}` for the window
//! and the CLI, JSON-RPC errors for host apps) through [`ServiceError::kind`]
//! and [`ServiceError::to_payload`], never by reading the message.

use patchbay_core::error::ErrorPayload;
use patchbay_core::Kind;
use patchbay_net::NetError;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The domain refused or failed (validation, a missing provider, the
    /// keychain, the config file).
    #[error(transparent)]
    Domain(#[from] patchbay_core::Error),

    /// A request to a provider failed (discovery, a refresh). Connection
    /// tests report failures per stage instead, except cancellation.
    #[error(transparent)]
    Net(#[from] NetError),

    /// The HTTP client could not be built when the service started.
    #[error("Patchbay could not set up its HTTP client ({0}); testing connections is unavailable until it restarts.")]
    NetworkUnavailable(String),

    /// Too many requests to providers are running at once.
    #[error("Patchbay is already running {} connection tests and model requests; wait for one to finish and try again.", crate::MAX_NETWORK_USES)]
    Busy,

    /// The blocking task running a domain call panicked or was cancelled.
    #[error("Patchbay stopped the operation unexpectedly; nothing else was changed. Try again.")]
    Interrupted,
}

impl ServiceError {
    /// What went wrong, in the one vocabulary.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Domain(error) => error.kind(),
            Self::Net(error) => error.kind(),
            Self::NetworkUnavailable(_) => Kind::NetworkUnavailable,
            Self::Interrupted => Kind::Interrupted,
            Self::Busy => Kind::Busy,
        }
    }

    /// `{kind, reason, message, fields?}`. A network error's message
    /// carries its hint ("… Check the key on the provider's key page.").
    pub fn to_payload(&self) -> ErrorPayload {
        match self {
            Self::Domain(error) => error.to_payload(),
            Self::Net(error) => {
                let hint = error.hint();
                let message = if hint.is_empty() {
                    error.to_string()
                } else {
                    format!("{error} {hint}")
                };
                ErrorPayload::new(self.kind(), message, Vec::new())
            }
            Self::NetworkUnavailable(_) | Self::Interrupted | Self::Busy => {
                ErrorPayload::new(self.kind(), self.to_string(), Vec::new())
            }
        }
    }

    /// Whether the use case ended because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Net(NetError::Cancelled))
    }
}
