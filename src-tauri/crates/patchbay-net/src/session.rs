//! Requests to one [`Target`]: a [`Session`] checks every URL against the
//! egress policy, connects only to the addresses it checked, follows
//! redirects, keeps one connection per origin and bounds everything by the
//! request's deadline. `connect.rs` holds the steps up to an open HTTP
//! connection (policy, DNS, TCP, proxy, TLS); `exchange.rs` sends requests
//! on it and reads the answers.

mod connect;
mod exchange;
mod stream;

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use patchbay_core::ApiKey;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::client::HttpClient;
use crate::error::{NetError, Secrets};
use crate::policy::Lookup;
use crate::stage::Stage;
use crate::target::Target;

use exchange::Connection;
pub(crate) use exchange::ReadMode;
pub(crate) use stream::{Live, Streaming};

/// The byte stream under HTTP: plain TCP or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

/// Requests to one [`Target`]: the policy, the pinned connection, redirects,
/// redaction and the per-request deadline.
pub(crate) struct Session<'a> {
    client: &'a HttpClient,
    target: &'a Target,
    lookup: &'a dyn Lookup,
    cancel: Option<CancellationToken>,
    secrets: Secrets<'a>,
    timeout: Duration,
    deadline: Instant,
    connection: Option<Connection>,
    presented: Option<crate::tls::Presented>,
    /// False once a redirect left the base URL's origin: credentials are
    /// not sent again in this session.
    origin_kept: bool,
    /// Where redirects went, for the report.
    redirects: Vec<String>,
}

impl fmt::Debug for Session<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Session")
            .field("target", &self.target.base_url.as_str())
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    /// A session for requests to one target. `cancel` ends it early with a
    /// `cancelled` failure.
    pub(crate) fn new(
        client: &'a HttpClient,
        target: &'a Target,
        lookup: &'a dyn Lookup,
        cancel: Option<CancellationToken>,
    ) -> Self {
        let timeout = target.timeout.unwrap_or(client.options().overall_timeout);
        let mut secrets: Vec<&ApiKey> = Vec::new();
        if let Some(key) = &target.api_key {
            secrets.push(key);
        }
        secrets.extend(target.headers.iter().map(|(_name, value)| value));
        secrets.extend(
            target
                .proxy_credentials
                .iter()
                .map(|(_name, password)| password),
        );
        Self {
            client,
            target,
            lookup,
            cancel,
            secrets: Secrets::new(secrets),
            timeout,
            deadline: Instant::now() + timeout,
            connection: None,
            presented: None,
            origin_kept: true,
            redirects: Vec::new(),
        }
    }

    pub(crate) fn target(&self) -> &'a Target {
        self.target
    }

    pub(crate) fn secrets(&self) -> &Secrets<'a> {
        &self.secrets
    }

    pub(crate) fn certificate_sha256(&self) -> Option<&str> {
        self.presented
            .as_ref()
            .map(|presented| presented.sha256.as_str())
    }

    /// What the last certificate the target presented is.
    pub(crate) fn certificate(&self) -> Option<patchbay_core::certificates::CertificateSummary> {
        self.presented
            .as_ref()
            .map(|presented| *presented.summary())
    }

    pub(crate) fn redirects(&self) -> &[String] {
        &self.redirects
    }

    /// Starts the clock for a new request (the chat probe gets its own).
    pub(crate) fn restart_deadline(&mut self) {
        self.deadline = Instant::now() + self.timeout;
    }

    /// Runs one step under the session's deadline (and `cap`, if shorter)
    /// and its cancellation token. A timeout names `stage`.
    async fn bounded<T>(
        &self,
        stage: Stage,
        cap: Option<Duration>,
        work: impl Future<Output = Result<T, NetError>>,
    ) -> Result<T, NetError> {
        let now = Instant::now();
        let (deadline, limit) = match cap {
            Some(cap) if now + cap < self.deadline => (now + cap, cap),
            _ => (self.deadline, self.timeout),
        };
        let timed = tokio::time::timeout_at(deadline.into(), work);
        let outcome = match &self.cancel {
            Some(token) => tokio::select! {
                biased;
                () = token.cancelled() => return Err(NetError::Cancelled),
                outcome = timed => outcome,
            },
            None => timed.await,
        };
        match outcome {
            Ok(result) => result,
            Err(_elapsed) => Err(NetError::Timeout {
                stage,
                after: limit,
            }),
        }
    }
}
