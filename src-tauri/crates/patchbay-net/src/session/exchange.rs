//! Sending requests on the session's connection: redirects (each hop through
//! the full policy again, credentials bound to the base URL's origin), one
//! kept-alive connection per origin, capped bodies and the first event of a
//! stream.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::header;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use patchbay_core::egress::display_form as display_url;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Session, Stream};
use crate::client::MAX_REDIRECTS;
use crate::error::{self, NetError, RedirectProblem, Resource};
use crate::openai;
use crate::reply::Reply;
use crate::stage::Stage;

/// A `Location` shown to the user is cut to this many characters.
const LOCATION_LIMIT: usize = 200;

pub(super) type Driver = http1::Connection<TokioIo<Box<dyn Stream>>, Full<Bytes>>;

/// An open HTTP/1.1 connection to one origin.
pub(crate) struct Connection {
    pub(super) origin: url::Origin,
    pub(super) sender: http1::SendRequest<Full<Bytes>>,
    pub(super) driver: Pin<Box<Driver>>,
    pub(super) finished: bool,
    pub(super) peer: SocketAddr,
    /// Requests go to an http proxy for an http target: absolute-form
    /// request targets (`GET http://host/v1/models`).
    pub(super) absolute_form: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Connection")
            .field("peer", &self.peer)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn usable_for(&self, origin: &url::Origin) -> bool {
        !self.finished && !self.sender.is_closed() && &self.origin == origin
    }

    /// Runs `work` while driving the connection, in this task: no spawned
    /// driver can outlive a cancelled request.
    async fn drive<F: Future>(
        driver: &mut Pin<Box<Driver>>,
        finished: &mut bool,
        work: F,
    ) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return output,
                ended = driver.as_mut(), if !*finished => {
                    *finished = true;
                    if let Err(error) = ended {
                        tracing::debug!(%error, "provider connection ended with an error");
                    }
                }
            }
        }
    }
}

/// How much of a response body to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// All of it (up to the cap).
    Whole,
    /// For a 2xx `text/event-stream`: up to the first `data:` event, then
    /// stop (the chat probe's time to first token).
    FirstEvent,
}

impl<'a> Session<'a> {
    /// `GET url`, following redirects.
    pub(crate) async fn get(&mut self, url: &Url, resource: Resource) -> Result<Reply, NetError> {
        self.send(Method::GET, url, None, resource, ReadMode::Whole)
            .await
    }

    /// One request and its redirects. Non-2xx statuses are returned as
    /// replies; the caller classifies them.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        url: &Url,
        body: Option<Bytes>,
        resource: Resource,
        mode: ReadMode,
    ) -> Result<Reply, NetError> {
        let stage = match resource {
            Resource::Models => Stage::Models,
            Resource::Chat => Stage::Chat,
        };
        let base_origin = self.target.base_url.origin();
        let mut current = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            if current.origin() != base_origin {
                self.origin_kept = false;
            }
            let reply = match self
                .send_once(&method, &current, body.clone(), stage, mode)
                .await
            {
                Ok(reply) => reply,
                Err(NetError::PolicyDenied { reason, message }) if hop > 0 => {
                    let shown = display_url(&current);
                    return Err(NetError::PolicyDenied {
                        reason,
                        message: format!(
                            "The endpoint redirected to {shown}, which Patchbay refuses: {message}"
                        ),
                    });
                }
                Err(other) => return Err(other),
            };
            if !is_redirect(reply.status) {
                return Ok(reply);
            }
            let location = reply
                .headers
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| current.join(value).ok());
            let Some(next) = location else {
                return Err(NetError::Redirect {
                    location: None,
                    problem: RedirectProblem::NoLocation,
                });
            };
            let shown = error::sanitize_text(&display_url(&next), &self.secrets, LOCATION_LIMIT);
            if method == Method::POST && matches!(reply.status.as_u16(), 301..=303) {
                return Err(NetError::Redirect {
                    location: Some(shown),
                    problem: RedirectProblem::ChangesMethod,
                });
            }
            if hop == MAX_REDIRECTS {
                return Err(NetError::Redirect {
                    location: Some(shown),
                    problem: RedirectProblem::TooMany,
                });
            }
            tracing::debug!(to = %shown, "following a redirect");
            self.redirects.push(shown);
            current = next;
        }
        Err(NetError::Redirect {
            location: None,
            problem: RedirectProblem::TooMany,
        })
    }

    async fn send_once(
        &mut self,
        method: &Method,
        url: &Url,
        body: Option<Bytes>,
        stage: Stage,
        mode: ReadMode,
    ) -> Result<Reply, NetError> {
        let origin = url.origin();
        let reused = self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.usable_for(&origin));
        if !reused {
            self.connection = None;
            self.open(url).await?;
        }
        let absolute_form = self
            .connection
            .as_ref()
            .is_some_and(|connection| connection.absolute_form);
        let request = openai::build_request(
            method,
            url,
            body,
            absolute_form,
            &self.client.options().user_agent,
            self.origin_kept.then_some(self.target),
            self.target.proxy_credentials.as_ref(),
        )?;
        match self.exchange(request, url, stage, mode).await {
            Ok(reply) if absolute_form && reply.status.as_u16() == 407 => {
                Err(self.proxy_refused_credentials(&reply.headers))
            }
            Ok(reply) => Ok(reply),
            // A kept-alive connection the server closed while idle: the
            // request was never written, so sending it on a fresh connection
            // (through the full policy again) is safe.
            Err(Attempt::NotSent(request)) if reused => {
                tracing::debug!("the kept-alive connection was closed; reconnecting");
                self.open(url).await?;
                match self.exchange(*request, url, stage, mode).await {
                    Ok(reply) => Ok(reply),
                    Err(Attempt::Failed(error)) => Err(error),
                    Err(Attempt::NotSent(_)) => Err(NetError::BadResponse {
                        detail: "the server closed the connection before the request was sent"
                            .to_owned(),
                    }),
                }
            }
            Err(Attempt::NotSent(_)) => Err(NetError::BadResponse {
                detail: "the server closed the connection before the request was sent".to_owned(),
            }),
            Err(Attempt::Failed(error)) => Err(error),
        }
    }

    /// One request on the current connection, driven to a read reply.
    async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        url: &Url,
        stage: Stage,
        mode: ReadMode,
    ) -> Result<Reply, Attempt> {
        let limit = self.client.options().body_limit;
        let (deadline, timeout, cancel) = (self.deadline, self.timeout, self.cancel.clone());
        let resource = match stage {
            Stage::Chat => Resource::Chat,
            _ => Resource::Models,
        };
        let Some(connection) = self.connection.as_mut() else {
            return Err(Attempt::NotSent(Box::new(request)));
        };
        let Connection {
            sender,
            driver,
            finished,
            ..
        } = connection;
        let exchange = Connection::drive(driver, finished, async {
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(mut failure) => {
                    return Err(match failure.take_message() {
                        Some(unsent) => Attempt::NotSent(Box::new(unsent)),
                        None => Attempt::Failed(exchange_failure(failure.error(), resource)),
                    });
                }
            };
            let headers_at = Instant::now();
            let (parts, incoming) = response.into_parts();
            let event_stream = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|kind| kind.to_ascii_lowercase().starts_with("text/event-stream"));
            let read = if mode == ReadMode::FirstEvent && parts.status.is_success() && event_stream
            {
                read_first_event(incoming, limit).await
            } else {
                read_capped(incoming, limit).await.map(|body| (body, None))
            };
            let (body, first_event_at) = read.map_err(Attempt::Failed)?;
            Ok(Reply {
                status: parts.status,
                headers: parts.headers,
                body,
                headers_at,
                first_event_at,
                url: url.clone(),
            })
        });
        let outcome = bounded_exchange(deadline, timeout, cancel.as_ref(), stage, exchange).await;
        let closing = outcome.as_ref().map_or(true, |reply| {
            reply
                .headers
                .get(header::CONNECTION)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.eq_ignore_ascii_case("close"))
        });
        // A stream read only up to its first event cannot carry another
        // request, and neither can a connection the server is closing.
        if mode == ReadMode::FirstEvent || closing {
            self.connection = None;
        }
        outcome
    }
}

/// The exchange of one request under the request's deadline and the
/// session's cancellation token (a free function: the exchange borrows the
/// session's connection mutably).
async fn bounded_exchange<F: Future<Output = Result<Reply, Attempt>>>(
    deadline: Instant,
    timeout: Duration,
    cancel: Option<&CancellationToken>,
    stage: Stage,
    exchange: F,
) -> Result<Reply, Attempt> {
    let timed = tokio::time::timeout_at(deadline.into(), exchange);
    let outcome = match cancel {
        Some(token) => tokio::select! {
            biased;
            () = token.cancelled() => return Err(Attempt::Failed(NetError::Cancelled)),
            outcome = timed => outcome,
        },
        None => timed.await,
    };
    outcome.unwrap_or(Err(Attempt::Failed(NetError::Timeout {
        stage,
        after: timeout,
    })))
}

/// How one exchange ended when it produced no reply.
enum Attempt {
    Failed(NetError),
    /// The connection was gone before the request was written; it comes
    /// back for a retry.
    NotSent(Box<Request<Full<Bytes>>>),
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

pub(super) fn exchange_failure(error: &hyper::Error, resource: Resource) -> NetError {
    if error.is_incomplete_message() || error.is_canceled() || error.is_closed() {
        NetError::BadResponse {
            detail: "the server closed the connection without a complete answer".to_owned(),
        }
    } else if error.is_parse() || error.is_parse_status() {
        NetError::NotJson {
            resource,
            content_type: None,
            web_page: false,
        }
    } else {
        NetError::BadResponse {
            detail: format!("the HTTP exchange failed ({error})"),
        }
    }
}

/// Reads a body, stopping as soon as it passes `limit` bytes.
async fn read_capped(mut body: Incoming, limit: u64) -> Result<Bytes, NetError> {
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_failure(&error))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > limit {
                return Err(NetError::TooLarge { limit });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

fn body_failure(error: &hyper::Error) -> NetError {
    NetError::BadResponse {
        detail: format!("the answer broke off while being read ({error})"),
    }
}

/// Reads a server-sent event stream up to its first `data:` line that is
/// not `[DONE]`; returns that line's payload and when it arrived.
async fn read_first_event(
    mut body: Incoming,
    limit: u64,
) -> Result<(Bytes, Option<Instant>), NetError> {
    let mut buffer = BytesMut::new();
    let mut scanned = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_failure(&error))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if (buffer.len() + data.len()) as u64 > limit {
            return Err(NetError::TooLarge { limit });
        }
        buffer.extend_from_slice(&data);
        while let Some(offset) = buffer[scanned..].iter().position(|byte| *byte == b'\n') {
            let line = &buffer[scanned..scanned + offset];
            scanned += offset + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(payload) = line.strip_prefix(b"data:") {
                let payload = payload.strip_prefix(b" ").unwrap_or(payload);
                if !payload.is_empty() && payload != b"[DONE]" {
                    return Ok((Bytes::copy_from_slice(payload), Some(Instant::now())));
                }
            }
        }
    }
    Ok((buffer.freeze(), None))
}
