//! Tests of the egress rules without DNS: the URL table in
//! `egress_cases.rs` under every allowance, and the per-address and
//! per-name rules. Judging DNS answers is tested in `patchbay-net`, through
//! the resolver that produces them.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    // under `private` unless it is loopback, private or the shared (tailnet)
    // space.
    for special in SPECIAL_RANGES {
        let first = special.network.network();
        let remote = judge_ip(first, NetworkAllowance::Remote);
        assert!(
            remote.is_err(),
            "{first} ({}) allowed under remote",
            special.name
        );
        let private = judge_ip(first, NetworkAllowance::Private);
        let granted = matches!(
            special.class,
            Class::Loopback | Class::Private | Class::Cgnat
        );
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
