//! Tests of judging a URL with DNS: every answer's addresses, through an
//! injected [`Lookup`] (no test resolves a real name except `localhost`).
//! The rules without DNS are tested in `patchbay-core`'s `egress`.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;

use patchbay_core::NetworkAllowance;

use super::*;

fn ip(text: &str) -> IpAddr {
    match text.parse() {
        Ok(ip) => ip,
        Err(error) => panic!("test address {text:?} does not parse: {error}"),
    }
}

/// A resolver with a fixed answer per host that records what it was asked.
#[derive(Debug)]
struct FakeLookup {
    answer: io::Result<Vec<IpAddr>>,
    asked: Mutex<Vec<(String, u16)>>,
}

impl FakeLookup {
    fn answering(addresses: &[&str]) -> Self {
        Self {
            answer: Ok(addresses.iter().map(|text| ip(text)).collect()),
            asked: Mutex::new(Vec::new()),
        }
    }
    fn failing(kind: io::ErrorKind) -> Self {
        Self {
            answer: Err(io::Error::new(kind, "no such host")),
            asked: Mutex::new(Vec::new()),
        }
    }
    fn asked(&self) -> Vec<(String, u16)> {
        self.asked
            .lock()
            .map(|asked| asked.clone())
            .unwrap_or_default()
    }
}

impl Lookup for FakeLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push((host.to_owned(), port));
        }
        let answer = match &self.answer {
            Ok(addresses) => Ok(addresses.clone()),
            Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
        };
        Box::pin(async move { answer })
    }
}

#[tokio::test]
async fn policy_resolved_public_addresses_pass() {
    let lookup = FakeLookup::answering(&["104.18.6.192", "2606:4700::6812:6c0"]);
    let verdict = judge_url_resolved(
        "https://api.example.com/v1",
        NetworkAllowance::Remote,
        &lookup,
    )
    .await;
    assert!(verdict.allowed, "{}", verdict.message);
    assert_eq!(verdict.reason, Reason::Allowed);
    assert!(verdict.resolved);
    assert_eq!(
        verdict.addresses,
        vec![ip("104.18.6.192"), ip("2606:4700::6812:6c0")]
    );
    assert_eq!(lookup.asked(), vec![("api.example.com".to_owned(), 443)]);
}

#[tokio::test]
async fn policy_resolved_any_forbidden_address_denies() {
    for forbidden in [
        "169.254.169.254",
        "10.0.0.5",
        "127.0.0.1",
        "::ffff:169.254.169.254",
        "fe80::1",
        "100.64.1.1",
        "0.0.0.0",
    ] {
        let lookup = FakeLookup::answering(&["104.18.6.192", forbidden]);
        let verdict = judge_url_resolved(
            "https://rebind.example.com/v1",
            NetworkAllowance::Remote,
            &lookup,
        )
        .await;
        assert!(!verdict.allowed, "{forbidden} passed");
        assert_eq!(verdict.reason, Reason::ResolvedToForbidden, "{forbidden}");
        assert!(
            verdict.message.contains("rebind.example.com resolves to"),
            "{}",
            verdict.message
        );
        let shown = ip(forbidden).to_string();
        assert!(
            verdict.message.contains(&shown),
            "{forbidden} not named: {}",
            verdict.message
        );
        assert_eq!(verdict.addresses.len(), 2, "every address is reported");
    }
}

#[tokio::test]
async fn policy_resolved_metadata_behind_a_name_is_denied_even_under_private() {
    let lookup = FakeLookup::answering(&["169.254.169.254"]);
    let verdict = judge_url_resolved(
        "http://innocent.example/",
        NetworkAllowance::Private,
        &lookup,
    )
    .await;
    assert_eq!(verdict.reason, Reason::ResolvedToForbidden);
    assert!(
        verdict.message.contains("cloud metadata address"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn policy_resolved_allowance_grants_lan_and_loopback_names() {
    let lan = FakeLookup::answering(&["192.168.1.20"]);
    let verdict =
        judge_url_resolved("http://llm.lan:8000/v1", NetworkAllowance::Private, &lan).await;
    assert!(verdict.allowed, "{}", verdict.message);
    assert_eq!(lan.asked(), vec![("llm.lan".to_owned(), 8000)]);
    let denied = judge_url_resolved("http://llm.lan:8000/v1", NetworkAllowance::Local, &lan).await;
    assert_eq!(denied.reason, Reason::ResolvedToForbidden);
    assert!(
        denied.message.contains("allow Private network access"),
        "{}",
        denied.message
    );

    let loopback = FakeLookup::answering(&["127.0.0.1", "::1"]);
    let verdict = judge_url_resolved(
        "http://localhost:11434/v1",
        NetworkAllowance::Local,
        &loopback,
    )
    .await;
    assert!(verdict.allowed, "{}", verdict.message);
    assert_eq!(verdict.addresses, vec![ip("127.0.0.1"), ip("::1")]);
}

#[tokio::test]
async fn policy_resolved_localhost_name_pointing_elsewhere_is_denied() {
    // A hostile resolver (or hosts file) must not turn `localhost` into a LAN host.
    let lookup = FakeLookup::answering(&["10.0.0.7"]);
    let verdict =
        judge_url_resolved("http://ollama.localhost/", NetworkAllowance::Local, &lookup).await;
    assert_eq!(verdict.reason, Reason::ResolvedToForbidden);
}

#[tokio::test]
async fn policy_resolved_plain_http_to_an_internet_address_is_denied() {
    let lookup = FakeLookup::answering(&["104.18.6.192"]);
    let verdict = judge_url_resolved(
        "http://llm.example.com/v1",
        NetworkAllowance::Private,
        &lookup,
    )
    .await;
    assert_eq!(verdict.reason, Reason::NotHttps);
    assert!(verdict.message.contains("https://"), "{}", verdict.message);
    let https = judge_url_resolved(
        "https://llm.example.com/v1",
        NetworkAllowance::Private,
        &lookup,
    )
    .await;
    assert!(https.allowed, "{}", https.message);
}

#[tokio::test]
async fn policy_resolved_forbidden_address_outranks_plain_http() {
    // Regression: the http check once returned before the metadata address was judged.
    let lookup = FakeLookup::answering(&["104.18.6.192", "169.254.169.254"]);
    let verdict = judge_url_resolved(
        "http://llm.example.com/v1",
        NetworkAllowance::Local,
        &lookup,
    )
    .await;
    assert_eq!(verdict.reason, Reason::ResolvedToForbidden);
    assert!(
        verdict.message.contains("169.254.169.254"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn policy_resolved_lookup_error_is_dns_failed() {
    let lookup = FakeLookup::failing(io::ErrorKind::NotFound);
    let verdict = judge_url_resolved(
        "https://no-such-host.example/v1",
        NetworkAllowance::Remote,
        &lookup,
    )
    .await;
    assert!(!verdict.allowed);
    assert_eq!(verdict.reason, Reason::DnsFailed);
    assert!(
        verdict
            .message
            .contains("could not look up no-such-host.example"),
        "{}",
        verdict.message
    );
    assert!(!verdict.resolved);
}

#[tokio::test]
async fn policy_resolved_empty_answer_is_no_addresses() {
    let lookup = FakeLookup::answering(&[]);
    let verdict = judge_url_resolved(
        "https://empty.example/v1",
        NetworkAllowance::Remote,
        &lookup,
    )
    .await;
    assert!(!verdict.allowed);
    assert_eq!(verdict.reason, Reason::NoAddresses);
}

#[tokio::test]
async fn policy_resolved_duplicate_addresses_are_reported_once() {
    let lookup = FakeLookup::answering(&["104.18.6.192", "104.18.6.192", "104.18.7.192"]);
    let verdict = judge_url_resolved(
        "https://api.example.com/",
        NetworkAllowance::Remote,
        &lookup,
    )
    .await;
    assert_eq!(
        verdict.addresses,
        vec![ip("104.18.6.192"), ip("104.18.7.192")]
    );
}

#[tokio::test]
async fn policy_resolved_skips_dns_for_literals_and_denied_urls() {
    let lookup = FakeLookup::answering(&["104.18.6.192"]);
    for (raw, reason) in [
        ("https://8.8.8.8/", Reason::Allowed),
        ("http://127.0.0.1:11434/", Reason::LoopbackNotAllowed),
        ("http://metadata.google.internal/", Reason::Metadata),
        ("https://user@api.example.com/", Reason::Userinfo),
        ("http://api.example.com/", Reason::NotHttps),
        ("https://[::ffff:a9fe:a9fe]/", Reason::Metadata),
    ] {
        let verdict = judge_url_resolved(raw, NetworkAllowance::Remote, &lookup).await;
        assert_eq!(verdict.reason, reason, "{raw}");
    }
    assert!(
        lookup.asked().is_empty(),
        "asked the resolver: {:?}",
        lookup.asked()
    );
}

#[tokio::test]
async fn policy_resolved_trailing_dot_name_is_looked_up_as_written() {
    let lookup = FakeLookup::answering(&["169.254.169.254"]);
    let verdict = judge_url_resolved(
        "https://api.example.com.:8443/",
        NetworkAllowance::Remote,
        &lookup,
    )
    .await;
    assert_eq!(verdict.reason, Reason::ResolvedToForbidden);
    assert_eq!(lookup.asked(), vec![("api.example.com.".to_owned(), 8443)]);
    assert!(
        verdict
            .message
            .starts_with("api.example.com resolves to 169.254.169.254"),
        "{}",
        verdict.message
    );
}

#[tokio::test]
async fn policy_system_lookup_resolves_localhost_to_loopback() {
    // `localhost` comes from the hosts file; no packet leaves the machine.
    let answer = SystemLookup.lookup("localhost", 80).await;
    let addresses = match answer {
        Ok(addresses) => addresses,
        Err(error) => panic!("localhost did not resolve: {error}"),
    };
    assert!(!addresses.is_empty());
    assert!(addresses.iter().all(IpAddr::is_loopback), "{addresses:?}");
    let verdict = judge_url_resolved(
        "http://localhost:11434/v1",
        NetworkAllowance::Local,
        &SystemLookup,
    )
    .await;
    assert!(verdict.allowed, "{}", verdict.message);
    assert!(verdict.resolved);
}
