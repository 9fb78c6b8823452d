//! One request whose answer is handed over as it arrives (the gateway's
//! pass-through): on a kept-alive connection from the pool when one is
//! there and still open, otherwise on a new connection opened through the
//! full policy like any other. The connection's driver runs in its own
//! task; it ends when the connection is dropped, and with it the request
//! to the provider.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::{HeaderMap, Method, Request, StatusCode};
use url::Url;

use super::exchange::{exchange_failure, Connection};
use super::Session;
use crate::error::{NetError, Resource};
use crate::openai;
use crate::stage::Stage;

/// An open HTTP/1.1 connection whose driver runs in its own task.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) sender: http1::SendRequest<Full<Bytes>>,
    /// Held so the connection lives exactly as long as this value.
    pub(crate) _driver: AbortOnDrop,
    pub(crate) peer: SocketAddr,
    pub(crate) absolute_form: bool,
}

/// An answer whose body is still arriving, and the connection it arrives
/// on (to be put back in the pool once the body has been read).
#[derive(Debug)]
pub(crate) struct Streaming {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Incoming,
    pub(crate) connection: Live,
    /// The connection was taken from the pool.
    pub(crate) reused: bool,
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
    /// `method url` with `body` and the target's credentials, on `pooled`
    /// if it is still open, else on a fresh connection opened through the
    /// policy (redirects are not followed: a 3xx is returned like any other
    /// answer). Waits at most `wait` for the response head.
    pub(crate) async fn start_stream(
        &mut self,
        method: &Method,
        url: &Url,
        body: Bytes,
        wait: Duration,
        pooled: Option<Live>,
    ) -> Result<Streaming, NetError> {
        if let Some(mut live) = pooled {
            let request = self.request(method, url, body.clone(), live.absolute_form)?;
            match tokio::time::timeout(wait, live.sender.try_send_request(request)).await {
                Err(_elapsed) => {
                    return Err(NetError::Timeout {
                        stage: Stage::Chat,
                        after: wait,
                    })
                }
                Ok(Ok(response)) => return Ok(streaming(response, live, true)),
                Ok(Err(mut failure)) => {
                    // Closed while idle, before the request was written: a
                    // new connection (through the policy again) is safe.
                    if failure.take_message().is_none() {
                        return Err(exchange_failure(failure.error(), Resource::Chat));
                    }
                    tracing::debug!("a pooled provider connection was closed; opening a new one");
                }
            }
        }
        let mut live = self.open_live(url).await?;
        let request = self.request(method, url, body, live.absolute_form)?;
        let response = tokio::time::timeout(wait, live.sender.send_request(request))
            .await
            .map_err(|_elapsed| NetError::Timeout {
                stage: Stage::Chat,
                after: wait,
            })?
            .map_err(|error| exchange_failure(&error, Resource::Chat))?;
        Ok(streaming(response, live, false))
    }

    /// A new connection to `url`'s origin through the full policy, its
    /// driver spawned.
    async fn open_live(&mut self, url: &Url) -> Result<Live, NetError> {
        self.connection = None;
        self.open(url).await?;
        let Some(connection) = self.connection.take() else {
            return Err(NetError::BadResponse {
                detail: "the connection closed before the request was sent".to_owned(),
            });
        };
        let Connection {
            sender,
            driver,
            absolute_form,
            peer,
            ..
        } = connection;
        let driver = AbortOnDrop(tokio::spawn(async move {
            if let Err(error) = driver.await {
                tracing::debug!(%error, "provider connection ended with an error");
            }
        }));
        Ok(Live {
            sender,
            _driver: driver,
            peer,
            absolute_form,
        })
    }

    fn request(
        &self,
        method: &Method,
        url: &Url,
        body: Bytes,
        absolute_form: bool,
    ) -> Result<Request<Full<Bytes>>, NetError> {
        openai::build_request(
            method,
            url,
            Some(body),
            absolute_form,
            &self.client.options().user_agent,
            Some(self.target),
            self.target.proxy_credentials.as_ref(),
        )
    }
}

fn streaming(response: hyper::Response<Incoming>, connection: Live, reused: bool) -> Streaming {
    let (parts, body) = response.into_parts();
    Streaming {
        status: parts.status,
        headers: parts.headers,
        body,
        connection,
        reused,
    }
}
