//! One request whose answer is handed over as it arrives (the gateway's
//! pass-through): the connection is opened through the full policy like any
//! other, the request sent, and the response head returned with its body
//! still streaming. The connection's driver runs in its own task, which
//! ends when the returned [`Streaming`] is dropped.

use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, StatusCode};
use url::Url;

use super::exchange::{exchange_failure, Connection};
use super::Session;
use crate::error::{NetError, Resource};
use crate::openai;
use crate::stage::Stage;

/// An answer whose body is still arriving.
#[derive(Debug)]
pub(crate) struct Streaming {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Incoming,
    /// Held so the connection lives exactly as long as the body is read.
    pub(crate) _connection: AbortOnDrop,
}

/// Aborts the connection's driver task when dropped: a client that hangs up
/// closes the upstream connection with it.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Session<'_> {
    /// `method url` with `body` and the target's credentials, on a fresh
    /// connection opened through the policy (redirects are not followed:
    /// a 3xx is returned like any other answer). Waits at most `wait` for
    /// the response head.
    pub(crate) async fn start_stream(
        &mut self,
        method: &Method,
        url: &Url,
        body: Bytes,
        wait: Duration,
    ) -> Result<Streaming, NetError> {
        self.connection = None;
        self.open(url).await?;
        let Some(connection) = self.connection.take() else {
            return Err(NetError::BadResponse {
                detail: "the connection closed before the request was sent".to_owned(),
            });
        };
        let Connection {
            mut sender,
            driver,
            absolute_form,
            ..
        } = connection;
        let request = openai::build_request(
            method,
            url,
            Some(body),
            absolute_form,
            &self.client.options().user_agent,
            Some(self.target),
        )?;
        let driver = AbortOnDrop(tokio::spawn(async move {
            if let Err(error) = driver.await {
                tracing::debug!(%error, "provider connection ended with an error");
            }
        }));
        let response = tokio::time::timeout(wait, sender.send_request(request))
            .await
            .map_err(|_elapsed| NetError::Timeout {
                stage: Stage::Chat,
                after: wait,
            })?
            .map_err(|error| exchange_failure(&error, Resource::Chat))?;
        let (parts, body) = response.into_parts();
        Ok(Streaming {
            status: parts.status,
            headers: parts.headers,
            body,
            _connection: driver,
        })
    }
}
