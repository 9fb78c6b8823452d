//! Tests of the egress policy: the URL table in `policy_cases.rs` under every
//! allowance, the per-address and per-name rules, and resolution through an
//! injected [`Lookup`] (no test resolves a real name except `localhost`).

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Mutex;

use patchbay_core::NetworkAllowance;

use super::cases::cases;
use super::ranges::SPECIAL_RANGES;
use super::*;

const ALLOWANCES: [NetworkAllowance; 3] = [
    NetworkAllowance::Remote,
    NetworkAllowance::Local,
    NetworkAllowance::Private,
];

fn ip(text: &str) -> IpAddr {
    match text.parse() {
        Ok(ip) => ip,
        Err(error) => panic!("test address {text:?} does not parse: {error}"),
    }
}

#[test]
fn policy_table_has_at_least_150_cases_covering_every_url_reason() {
    let table = cases();
    assert!(table.len() >= 150, "only {} cases", table.len());
    let seen: HashSet<Reason> = table
        .iter()
        .flat_map(|case| [case.remote, case.local, case.private])
        .collect();
    let url_reasons = [
        Reason::Allowed,
        Reason::InvalidUrl,
        Reason::TooLong,
        Reason::ControlCharacters,
        Reason::Scheme,
        Reason::Userinfo,
        Reason::HostTooLong,
        Reason::LabelTooLong,
        Reason::NotHttps,
        Reason::LoopbackNotAllowed,
        Reason::PrivateNotAllowed,
        Reason::Metadata,
        Reason::LinkLocal,
        Reason::Unspecified,
        Reason::Cgnat,
        Reason::Broadcast,
        Reason::Multicast,
        Reason::Reserved,
        Reason::Documentation,
        Reason::Benchmarking,
        Reason::EmbeddedIpv4,
        Reason::NotGlobal,
    ];
    for reason in url_reasons {
        assert!(seen.contains(&reason), "no case expects {reason}");
    }
}

#[test]
fn policy_table_every_case_under_every_allowance() {
    let mut failures = Vec::new();
    for case in cases() {
        for (network, expected) in
            ALLOWANCES
                .into_iter()
                .zip([case.remote, case.local, case.private])
        {
            let verdict = judge_url(&case.url, network);
            if verdict.reason != expected || verdict.allowed != (expected == Reason::Allowed) {
                let shown: String = case.url.chars().take(80).collect();
                failures.push(format!(
                    "{shown:?} under {}: expected {expected}, got {} ({})",
                    network.as_str(),
                    verdict.reason,
                    verdict.message
                ));
            }
            assert!(
                verdict.message.ends_with('.'),
                "not a sentence: {:?}",
                verdict.message
            );
            assert!(
                verdict.message.len() < 400,
                "message too long: {:?}",
                verdict.message
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn policy_special_ranges_are_written_as_network_addresses() {
    // A row like 169.254.169.254/16 would silently mean something else.
    for special in SPECIAL_RANGES {
        assert_eq!(
            special.network.ip(),
            special.network.network(),
            "{} has host bits set",
            special.network
        );
        assert!(!special.source.is_empty() && !special.name.is_empty());
    }
}

#[test]
fn policy_every_table_row_is_denied_somewhere_inside() {
    // The first address of every row must be refused under `remote`, and
    // under `private` unless it is loopback or private.
    for special in SPECIAL_RANGES {
        let first = special.network.network();
        let remote = judge_ip(first, NetworkAllowance::Remote);
        assert!(
            remote.is_err(),
            "{first} ({}) allowed under remote",
            special.name
        );
        let private = judge_ip(first, NetworkAllowance::Private);
        let granted = matches!(special.class, Class::Loopback | Class::Private);
        assert_eq!(
            private.is_ok(),
            granted,
            "{first} ({}) under private",
            special.name
        );
    }
}

#[test]
fn policy_messages_say_what_to_do() {
    let metadata = judge_url("http://169.254.169.254/", NetworkAllowance::Private);
    assert_eq!(
        metadata.message,
        "169.254.169.254 is a cloud metadata address; Patchbay never sends requests there."
    );
    let lan = judge_url("http://192.168.1.20:8000/v1", NetworkAllowance::Local);
    assert_eq!(
        lan.message,
        "192.168.1.20 is on your local network; allow Private network access for this provider to use it."
    );
    let loopback = judge_url("http://localhost:11434/v1", NetworkAllowance::Remote);
    assert!(
        loopback.message.contains("allow Local network access"),
        "{}",
        loopback.message
    );
    let teredo = judge_url(
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        NetworkAllowance::Remote,
    );
    // RFC 4380 §4's example: the client's address is 192.0.2.45, obfuscated.
    assert!(teredo.message.contains("192.0.2.45"), "{}", teredo.message);
    let six_to_four = judge_url("https://[2002:a9fe:a9fe::1]/", NetworkAllowance::Remote);
    assert!(
        six_to_four.message.contains("169.254.169.254"),
        "{}",
        six_to_four.message
    );
    let nat64 = judge_url("http://[64:ff9b::7f00:1]/", NetworkAllowance::Private);
    assert!(
        nat64.message.contains("127.0.0.1") && nat64.message.contains("NAT64"),
        "{}",
        nat64.message
    );
    let mapped = judge_url("http://[::ffff:a9fe:a9fe]/", NetworkAllowance::Private);
    assert!(
        mapped.message.contains("169.254.169.254 written as IPv6"),
        "{}",
        mapped.message
    );
}

#[test]
fn policy_normalized_shows_the_host_that_was_judged() {
    let decimal = judge_url("http://2130706433:11434/v1", NetworkAllowance::Local);
    assert_eq!(
        decimal.normalized.as_deref(),
        Some("http://127.0.0.1:11434/v1")
    );
    assert_eq!(decimal.addresses, vec![ip("127.0.0.1")]);
    assert!(decimal.resolved);
    let ideographic = judge_url("http://１２７。０。０。１/", NetworkAllowance::Remote);
    assert_eq!(ideographic.normalized.as_deref(), Some("http://127.0.0.1/"));
    let backslash = judge_url(
        "https://api.openai.com\\@169.254.169.254/",
        NetworkAllowance::Remote,
    );
    assert_eq!(
        backslash.normalized.as_deref(),
        Some("https://api.openai.com/@169.254.169.254/")
    );
    let mapped = judge_url("http://[::ffff:127.0.0.1]/", NetworkAllowance::Local);
    assert_eq!(
        mapped.normalized.as_deref(),
        Some("http://[::ffff:7f00:1]/")
    );
    let name = judge_url("https://API.OpenAI.com./v1", NetworkAllowance::Remote);
    assert!(name.allowed);
    assert!(!name.resolved, "a name judged without DNS is not resolved");
    assert!(name.addresses.is_empty());
    assert_eq!(
        name.normalized.as_deref(),
        Some("https://api.openai.com./v1")
    );
}

#[test]
fn policy_no_secret_in_normalized_or_message() {
    let canary = "sk-canary-4f1a9c";
    for raw in [
        format!("https://user:{canary}@api.openai.com/v1"),
        format!("https://{canary}@api.openai.com/v1"),
        format!("https://api.openai.com/v1?api_key={canary}"),
        format!("https://api.openai.com/v1#{canary}"),
        format!("https://{canary}:x@169.254.169.254/"),
        format!("ftp://{canary}@example.com/"),
        format!("https://api.openai.com:bad{canary}/"),
        format!("https://api.openai.com/{}\n{canary}", "a"),
    ] {
        for network in ALLOWANCES {
            let verdict = judge_url(&raw, network);
            let json = serde_json::to_string(&verdict).unwrap_or_default();
            assert!(!json.contains(canary), "{raw:?} leaked: {json}");
            assert!(!json.is_empty());
        }
    }
}

#[test]
fn policy_judge_ip_unwraps_ipv4_mapped_and_nat64() {
    let remote = NetworkAllowance::Remote;
    let local = NetworkAllowance::Local;
    assert_eq!(judge_ip(ip("::ffff:8.8.8.8"), remote), Ok(()));
    assert_eq!(judge_ip(ip("::ffff:127.0.0.1"), local), Ok(()));
    let denied = judge_ip(ip("::ffff:127.0.0.1"), remote)
        .err()
        .map(|denial| denial.reason);
    assert_eq!(denied, Some(Reason::LoopbackNotAllowed));
    assert_eq!(judge_ip(ip("64:ff9b::1.1.1.1"), remote), Ok(()));
    for network in ALLOWANCES {
        let nat64_lan = judge_ip(ip("64:ff9b::10.0.0.1"), network)
            .err()
            .map(|denial| denial.reason);
        assert_eq!(
            nat64_lan,
            Some(Reason::EmbeddedIpv4),
            "under {}",
            network.as_str()
        );
    }
    let nat64_cgnat = judge_ip(ip("64:ff9b::100.64.0.1"), NetworkAllowance::Private);
    assert_eq!(
        nat64_cgnat.err().map(|denial| denial.reason),
        Some(Reason::Cgnat)
    );
}

#[test]
fn policy_judge_ip_matches_std_for_the_stable_predicates() {
    // Cross-check the table against the standard library where it has stable
    // answers: its loopback/private/link-local/multicast/unspecified addresses
    // must never pass under `remote`.
    let samples: Vec<IpAddr> = (0u32..=255)
        .flat_map(|first| {
            [0u32, 1, 64, 127, 128, 168, 254, 255]
                .map(move |second| (first << 24) | (second << 16) | 0x0101)
        })
        .map(|bits| IpAddr::V4(Ipv4Addr::from(bits)))
        .collect();
    for address in samples {
        let IpAddr::V4(v4) = address else { continue };
        let std_special = v4.is_loopback()
            || v4.is_private()
            || v4.is_link_local()
            || v4.is_multicast()
            || v4.is_unspecified()
            || v4.is_broadcast()
            || v4.is_documentation();
        if std_special {
            assert!(
                judge_ip(address, NetworkAllowance::Remote).is_err(),
                "{address} allowed under remote"
            );
        }
    }
    for v6 in [
        Ipv6Addr::LOCALHOST,
        Ipv6Addr::UNSPECIFIED,
        ip_v6("ff02::1"),
        ip_v6("fe80::1"),
        ip_v6("fd00::1"),
    ] {
        assert!(
            judge_ip(IpAddr::V6(v6), NetworkAllowance::Remote).is_err(),
            "{v6} allowed under remote"
        );
    }
}

fn ip_v6(text: &str) -> Ipv6Addr {
    match ip(text) {
        IpAddr::V6(v6) => v6,
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
    }
}

#[test]
fn policy_judge_host_name_rules() {
    let remote = NetworkAllowance::Remote;
    let local = NetworkAllowance::Local;
    let reason = |host: &str, network| {
        judge_host_name(host, network)
            .err()
            .map(|denial| denial.reason)
    };
    assert_eq!(reason("api.openai.com", remote), None);
    assert_eq!(
        reason("localhost", remote),
        Some(Reason::LoopbackNotAllowed)
    );
    assert_eq!(
        reason("localhost.", remote),
        Some(Reason::LoopbackNotAllowed)
    );
    assert_eq!(
        reason("LOCALHOST", remote),
        Some(Reason::LoopbackNotAllowed)
    );
    assert_eq!(reason("x.localhost", local), None);
    assert_eq!(
        reason("metadata.google.internal.", local),
        Some(Reason::Metadata)
    );
    assert_eq!(
        reason("Metadata.Google.Internal", NetworkAllowance::Private),
        Some(Reason::Metadata)
    );
    assert_eq!(
        reason("[fd00:ec2::254]", NetworkAllowance::Private),
        Some(Reason::Metadata)
    );
    assert_eq!(
        reason("169.254.169.254", NetworkAllowance::Private),
        Some(Reason::Metadata)
    );
    assert_eq!(reason("127.0.0.1", local), None);
    assert_eq!(reason("", remote), Some(Reason::NoHost));
    assert_eq!(reason(".", remote), Some(Reason::NoHost));
    assert_eq!(reason("a..b", remote), Some(Reason::InvalidUrl));
    assert_eq!(reason(&"a".repeat(64), remote), Some(Reason::LabelTooLong));
    assert_eq!(reason(&"a".repeat(63), remote), None);
    let long_name = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(62),
    ]
    .join(".");
    assert_eq!(long_name.len(), 254);
    assert_eq!(reason(&long_name, remote), Some(Reason::HostTooLong));
    assert_eq!(reason(&format!("{}.", &long_name[..253]), remote), None);
}

#[test]
fn policy_reason_serializes_as_its_str() {
    let reasons = [
        Reason::Allowed,
        Reason::InvalidUrl,
        Reason::TooLong,
        Reason::ControlCharacters,
        Reason::Scheme,
        Reason::Userinfo,
        Reason::NoHost,
        Reason::HostTooLong,
        Reason::LabelTooLong,
        Reason::NotHttps,
        Reason::LoopbackNotAllowed,
        Reason::PrivateNotAllowed,
        Reason::Metadata,
        Reason::LinkLocal,
        Reason::Unspecified,
        Reason::Cgnat,
        Reason::Broadcast,
        Reason::Multicast,
        Reason::Reserved,
        Reason::Documentation,
        Reason::Benchmarking,
        Reason::EmbeddedIpv4,
        Reason::NotGlobal,
        Reason::DnsFailed,
        Reason::ResolvedToForbidden,
        Reason::NoAddresses,
    ];
    for reason in reasons {
        let json = serde_json::to_value(reason).unwrap_or_default();
        assert_eq!(json, serde_json::Value::String(reason.as_str().to_owned()));
    }
    let verdict = judge_url("http://169.254.169.254/", NetworkAllowance::Remote);
    let json = serde_json::to_value(&verdict).unwrap_or_default();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["reason"], "metadata");
    assert_eq!(json["addresses"][0], "169.254.169.254");
    assert_eq!(json["normalized"], "http://169.254.169.254/");
    assert_eq!(json["resolved"], true);
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

#[test]
fn check_for_save_refuses_a_metadata_base_url_on_the_base_url_field() {
    let refused = check_for_save("http://169.254.169.254/v1", NetworkAllowance::Private);
    let error = match refused {
        Err(error) => error,
        Ok(()) => panic!("a metadata base URL was accepted for saving"),
    };
    assert_eq!(error.kind(), patchbay_core::ErrorKind::InvalidInput);
    let payload = error.to_payload();
    assert_eq!(payload.fields.len(), 1);
    assert_eq!(payload.fields[0].field, "base_url");
    assert!(
        payload.fields[0].message.contains("metadata"),
        "{}",
        payload.fields[0].message
    );
}

#[test]
fn check_for_save_accepts_allowed_urls_and_leaves_malformed_ones_to_validation() {
    assert!(check_for_save("https://api.openai.com/v1", NetworkAllowance::Remote).is_ok());
    assert!(check_for_save("http://127.0.0.1:11434/v1", NetworkAllowance::Local).is_ok());
    // Does not normalise: the domain validation reports it with the other fields.
    assert!(check_for_save("not a url", NetworkAllowance::Remote).is_ok());
}

#[test]
fn check_for_save_refuses_a_lan_address_without_the_private_allowance() {
    let refused = check_for_save("https://10.0.0.5/v1", NetworkAllowance::Remote);
    assert!(
        refused.is_err_and(|error| error.fields().iter().any(|field| field.field == "base_url"))
    );
    assert!(check_for_save("https://10.0.0.5/v1", NetworkAllowance::Private).is_ok());
}
