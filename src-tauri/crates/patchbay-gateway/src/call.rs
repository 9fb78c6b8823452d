//! How a request to an entry reaches its provider — for the gateway's routes
//! and for "Try a prompt" alike, so what works in the window works for host
//! apps: an OpenAI chat completion for a provider speaking Anthropic's
//! Messages API is translated (and its answer translated back by the
//! caller with the returned [`anthropic::Shape`]); everything goes through
//! the service's one HTTP client, the egress policy and the pinned
//! connection of [`patchbay_net::forward`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use patchbay_net::{NetError, Pool, Upstream};
use patchbay_service::{EntryTarget, Service, ServiceError};

use crate::anthropic;
use crate::reply::Failure;

/// A request on its way: the provider's answer as it arrives, and how to
/// translate it back when the request was translated.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) upstream: Upstream,
    pub(crate) shape: Option<anthropic::Shape>,
}

/// Why a request did not reach the provider.
#[derive(Debug)]
pub(crate) enum CallError {
    /// An OpenAI body the Messages API cannot express.
    NotTranslatable(String),
    /// The HTTP client could not be built.
    Unavailable(ServiceError),
    /// The egress policy, DNS, the connection, TLS or the wait for an answer.
    Net(NetError),
}

impl From<CallError> for Failure {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotTranslatable(message) => {
                Failure::new(StatusCode::BAD_REQUEST, "not_translatable", message)
            }
            CallError::Unavailable(error) => Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "network_unavailable",
                error.to_string(),
            ),
            CallError::Net(error) => Failure::upstream(&error),
        }
    }
}

impl From<CallError> for ServiceError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::NotTranslatable(message) => {
                patchbay_core::Error::invalid("prompt", message).into()
            }
            CallError::Unavailable(error) => error,
            CallError::Net(error) => error.into(),
        }
    }
}

/// Sends `body` (its `model` already the raw upstream id) to `endpoint`
/// (`chat/completions`, `messages`, …) of `entry`'s provider. `idle` bounds
/// each gap unless the provider sets its own timeout (slow local models).
pub(crate) async fn send(
    service: &Service,
    pool: &Arc<Pool>,
    entry: &EntryTarget,
    endpoint: &str,
    body: Bytes,
    idle: Duration,
) -> Result<Sent, CallError> {
    // Anthropic's Messages API: OpenAI chat completions are translated to it
    // and back; anything else (its own /v1/messages) passes through.
    let translation = if entry.target.api == patchbay_core::model::Api::Anthropic
        && endpoint.split('?').next() == Some("chat/completions")
    {
        let (translated, shape) =
            anthropic::request(&body).map_err(|refusal| CallError::NotTranslatable(refusal.0))?;
        Some((Bytes::from(translated), shape))
    } else {
        None
    };
    let (endpoint, body, shape) = match translation {
        Some((translated, shape)) => ("messages", translated, Some(shape)),
        None => (endpoint, body, None),
    };
    let (http, lookup) = service.network_parts().map_err(CallError::Unavailable)?;
    let upstream = patchbay_net::forward(
        &http,
        &entry.target,
        lookup.as_ref(),
        pool,
        endpoint,
        &entry.model_id,
        body,
        entry.target.timeout.unwrap_or(idle),
    )
    .await
    .map_err(CallError::Net)?;
    Ok(Sent { upstream, shape })
}
