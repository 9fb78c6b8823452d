//! Judging a URL with DNS: the rules are `patchbay-core`'s egress policy
//! (re-exported here); this module resolves the names it asks about,
//! through an injected [`Lookup`] so tests (and the pinned resolver)
//! control the answers, and hands every answer back to be judged.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

pub use patchbay_core::egress::{
    judge_answer, judge_host_name, judge_ip, judge_url, resolution, Denial, PendingLookup, Reason,
    Resolution, Verdict, MAX_HOST_CHARS, MAX_LABEL_CHARS, MAX_URL_CHARS,
};
use patchbay_core::NetworkAllowance;

/// A system resolver can hang (a dead DNS server); the lookup is abandoned
/// after this long and reported as a DNS failure.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Name resolution, injected so tests (and the pinned resolver) control it.
pub trait Lookup: Send + Sync + fmt::Debug {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The system resolver (`getaddrinfo` through `tokio::net::lookup_host`),
/// bounded by [`LOOKUP_TIMEOUT`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let answer =
                tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port)))
                    .await
                    .map_err(|_elapsed| {
                        io::Error::new(io::ErrorKind::TimedOut, "the DNS lookup timed out")
                    })??;
            Ok(answer.map(|socket| socket.ip()).collect())
        })
    }
}

/// Answers from a fixed table, name by name; any other name fails like an
/// unknown name. For tests of what is judged at use (nothing here touches
/// the network), and for a set-up that must not ask a DNS server.
#[derive(Debug, Default, Clone)]
pub struct StaticLookup {
    answers: std::collections::HashMap<String, Vec<IpAddr>>,
}

impl StaticLookup {
    /// The table with `host` answering `addresses` added.
    pub fn with(mut self, host: &str, addresses: &[IpAddr]) -> Self {
        self.answers
            .insert(host.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

impl Lookup for StaticLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        let answer = self
            .answers
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no address is known for this name")
            });
        Box::pin(async move { answer })
    }
}

/// Judges a URL and, for a host name, resolves it and judges **every**
/// address: one forbidden address denies the URL. Used when testing a
/// provider, by the pinned resolver and by `patchbay check-url` without
/// `--no-dns`.
pub async fn judge_url_resolved(
    raw: &str,
    network: NetworkAllowance,
    lookup: &dyn Lookup,
) -> Verdict {
    match resolution(raw, network) {
        Resolution::Decided(verdict) => verdict,
        Resolution::Lookup(pending) => {
            let answer = lookup
                .lookup(&pending.host, pending.port)
                .await
                .map_err(|error| error.to_string());
            judge_answer(&pending, answer, network)
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
