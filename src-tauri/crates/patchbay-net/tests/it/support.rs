//! Shared helpers: the test kit's real HTTP(S) servers on loopback
//! addresses and certificates, plus what only net's tests need: scripted
//! resolvers and targets. Every socket is bound to 127.0.0.0/8; no test
//! sends a packet anywhere else.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use patchbay_core::{ApiKey, NetworkAllowance};
use patchbay_net::policy::Lookup;
use patchbay_net::probe::{StageReport, Target, TestOptions};
use patchbay_net::{ClientOptions, HttpClient};
use url::Url;

pub(crate) use patchbay_testkit::{
    ca_signed, handler, models_body, self_signed, Canned, EndlessServer, Handler, Seen, Server,
    SilentServer, TestCa, TestResult, CANARY_KEY, TEST_HOST,
};

/// A resolver that answers from a script: call N gets answer N (the last
/// answer repeats). Counts calls; never touches the real DNS.
#[derive(Debug)]
pub(crate) struct ScriptedLookup {
    answers: Mutex<VecDeque<io::Result<Vec<IpAddr>>>>,
    calls: AtomicUsize,
}

impl ScriptedLookup {
    pub(crate) fn new(answers: Vec<Vec<IpAddr>>) -> Arc<Self> {
        Arc::new(Self {
            answers: Mutex::new(answers.into_iter().map(Ok).collect()),
            calls: AtomicUsize::new(0),
        })
    }

    pub(crate) fn failing(message: &str) -> Arc<Self> {
        let error = io::Error::new(io::ErrorKind::NotFound, message.to_owned());
        Arc::new(Self {
            answers: Mutex::new(VecDeque::from([Err(error)])),
            calls: AtomicUsize::new(0),
        })
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Lookup for ScriptedLookup {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = match self.answers.lock() {
            Ok(mut answers) => {
                if answers.len() > 1 {
                    answers.pop_front().unwrap_or_else(|| Ok(Vec::new()))
                } else {
                    match answers.front() {
                        Some(Ok(addresses)) => Ok(addresses.clone()),
                        Some(Err(error)) => Err(io::Error::new(error.kind(), error.to_string())),
                        None => Ok(Vec::new()),
                    }
                }
            }
            Err(_) => Err(io::Error::other("lookup script poisoned")),
        };
        Box::pin(async move { answer })
    }
}

/// A lookup that fails the test if it is ever called (IP literals).
#[derive(Debug, Default)]
pub(crate) struct NoLookup {
    pub(crate) calls: AtomicUsize,
}

impl Lookup for NoLookup {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(io::Error::other("NoLookup was asked to resolve a name")) })
    }
}

pub(crate) fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

pub(crate) fn client() -> TestResult<HttpClient> {
    Ok(HttpClient::new(ClientOptions::default())?)
}

pub(crate) fn client_with(change: impl FnOnce(&mut ClientOptions)) -> TestResult<HttpClient> {
    let mut options = ClientOptions::default();
    change(&mut options);
    Ok(HttpClient::new(options)?)
}

/// A local (loopback-allowed) target without auth.
pub(crate) fn local_target(base_url: Url) -> Target {
    Target::new(base_url, NetworkAllowance::Local)
}

pub(crate) fn with_key(mut target: Target, key: &str) -> Target {
    target.api_key = Some(ApiKey::new(key));
    target
}

pub(crate) fn options(lookup: Arc<dyn Lookup>) -> TestOptions {
    TestOptions {
        chat_model: None,
        unlisted_model: None,
        deployments: Vec::new(),
        lookup,
        cancel: None,
    }
}

pub(crate) fn quiet(_: &StageReport) {}
