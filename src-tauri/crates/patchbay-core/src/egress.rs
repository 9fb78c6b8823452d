//! The egress policy: whether Patchbay may send a request to a URL under a
//! provider's [`NetworkAllowance`]. It owns the special-purpose address table,
//! the host-name rules and the verdict type that validation (a base URL is
//! refused at save time), the form's preview, the CLI (`patchbay
//! check-url`) and the HTTP client's pinned resolver share. It does no I/O:
//! `patchbay-net` resolves names ([`resolution`] says what to look up) and
//! hands the answer back to [`judge_answer`], so every rule lives here.
//!
//! The rules:
//!
//! - `remote` (the default): https only, to globally reachable unicast
//!   addresses.
//! - `local`: additionally loopback (127.0.0.0/8, `::1`, `localhost`,
//!   `*.localhost`) over http or https.
//! - `private`: additionally the RFC 1918 ranges and `fc00::/7`, over http or
//!   https.
//! - http is only ever allowed to what the allowance grants beyond `remote`
//!   (loopback, private): a globally reachable destination needs https under
//!   every allowance, because http would carry the API key across the internet
//!   in clear.
//! - Denied under every allowance: everything else in the IANA IPv4 and IPv6
//!   special-purpose address registries that is not globally reachable
//!   (the table in `egress_ranges.rs`, one row per registry entry with its RFC), multicast,
//!   cloud metadata addresses and names, and any IPv6 address outside
//!   `2000::/3`.
//!
//! Addresses that embed an IPv4 address are decided as follows:
//!
//! - IPv4-mapped (`::ffff:0:0/96`) is unwrapped and judged exactly like the
//!   IPv4 address it carries, because a dual-stack socket connects to that IPv4
//!   address directly: `[::ffff:127.0.0.1]` is loopback, `[::ffff:a9fe:a9fe]` is
//!   the metadata address.
//! - NAT64 (`64:ff9b::/96`) is unwrapped, and passes only when the IPv4 address
//!   it carries is globally reachable: DNS64 networks synthesise these answers
//!   for every IPv4-only internet host, but a translator's loopback or LAN is not
//!   the user's, so no allowance grants it.
//! - IPv4-compatible (`::/96`, deprecated), local-use NAT64 (`64:ff9b:1::/48`),
//!   6to4 (`2002::/16`) and Teredo (`2001::/32`) are denied outright
//!   ([`Reason::EmbeddedIpv4`]): they reach the embedded address through a relay
//!   or translator Patchbay cannot see, and no provider needs them.
//!
//! Hosts are judged after WHATWG parsing (the `url` crate), so decimal, hex,
//! octal and short IPv4 forms, percent-encoding, fullwidth digits and
//! ideographic dots all arrive here as the address they mean. Names are judged
//! without their trailing dot, so `localhost.` is `localhost`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::safe_url::{SafeUrl, UrlProblem};
use serde::Serialize;
use url::{Host, Url};

use crate::model::NetworkAllowance;

#[path = "egress_ranges.rs"]
mod ranges;

use ranges::{special_range, Class, Embedding, Special, GLOBAL_UNICAST, METADATA_NAMES, NAT64};

pub use crate::safe_url::{display_form, MAX_HOST_CHARS, MAX_LABEL_CHARS, MAX_URL_CHARS};

/// Why a URL or address was allowed or denied. Serialised in snake_case;
/// callers branch on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    Allowed,
    InvalidUrl,
    TooLong,
    ControlCharacters,
    Scheme,
    Userinfo,
    NoHost,
    HostTooLong,
    LabelTooLong,
    NotHttps,
    LoopbackNotAllowed,
    PrivateNotAllowed,
    Metadata,
    LinkLocal,
    Unspecified,
    Cgnat,
    Broadcast,
    Multicast,
    Reserved,
    Documentation,
    Benchmarking,
    EmbeddedIpv4,
    NotGlobal,
    DnsFailed,
    ResolvedToForbidden,
    NoAddresses,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::InvalidUrl => "invalid_url",
            Self::TooLong => "too_long",
            Self::ControlCharacters => "control_characters",
            Self::Scheme => "scheme",
            Self::Userinfo => "userinfo",
            Self::NoHost => "no_host",
            Self::HostTooLong => "host_too_long",
            Self::LabelTooLong => "label_too_long",
            Self::NotHttps => "not_https",
            Self::LoopbackNotAllowed => "loopback_not_allowed",
            Self::PrivateNotAllowed => "private_not_allowed",
            Self::Metadata => "metadata",
            Self::LinkLocal => "link_local",
            Self::Unspecified => "unspecified",
            Self::Cgnat => "cgnat",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::Reserved => "reserved",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::EmbeddedIpv4 => "embedded_ipv4",
            Self::NotGlobal => "not_global",
            Self::DnsFailed => "dns_failed",
            Self::ResolvedToForbidden => "resolved_to_forbidden",
            Self::NoAddresses => "no_addresses",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The policy's answer for one URL.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub reason: Reason,
    /// A sentence a person understands; never contains userinfo or a query.
    pub message: String,
    /// The URL as Patchbay understood it (WHATWG-normalised), for display.
    /// Userinfo, query and fragment are dropped so a secret pasted into them
    /// is never echoed. `None` when the input could not be parsed.
    pub normalized: Option<String>,
    /// Every address judged: the IP literal, or the whole DNS answer.
    pub addresses: Vec<IpAddr>,
    /// Whether `addresses` is the complete set a connection may use (an IP
    /// literal, or a DNS answer). `false` when a name was judged without DNS:
    /// it passed every other check, and its addresses are judged at connect time.
    pub resolved: bool,
}

impl Verdict {
    /// The denial, when the verdict is one.
    pub fn denial(&self) -> Option<Denial> {
        (!self.allowed).then(|| Denial {
            reason: self.reason,
            message: self.message.clone(),
        })
    }

    fn denied(
        denial: Denial,
        normalized: Option<String>,
        addresses: Vec<IpAddr>,
        resolved: bool,
    ) -> Self {
        Self {
            allowed: false,
            reason: denial.reason,
            message: denial.message,
            normalized,
            addresses,
            resolved,
        }
    }
}

/// Why one host or address may not be contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: Reason,
    pub message: String,
}

impl Denial {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for Denial {}

/// What an allowed destination is; decides whether plain http may reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Internet,
    Loopback,
    Private,
}

const NEVER: &str = "Patchbay never sends requests there.";

/// Applies the allowance to an address in a special-purpose range.
fn admit_special(ip: IpAddr, special: &Special, network: NetworkAllowance) -> Result<Zone, Denial> {
    match special.class {
        Class::Loopback if network.allows_loopback() => Ok(Zone::Loopback),
        Class::Loopback => Err(Denial::new(
            Reason::LoopbackNotAllowed,
            format!("{ip} is a loopback address on this computer; allow Local network access for this provider to use it."),
        )),
        Class::Private if network.allows_private() => Ok(Zone::Private),
        Class::Private => Err(Denial::new(
            Reason::PrivateNotAllowed,
            format!("{ip} is on your local network; allow Private network access for this provider to use it."),
        )),
        Class::Metadata => Err(Denial::new(
            Reason::Metadata,
            format!("{ip} is a cloud metadata address; {NEVER}"),
        )),
        Class::LinkLocal => Err(Denial::new(
            Reason::LinkLocal,
            format!("{ip} is a link-local address, which only reaches the local network segment; {NEVER}"),
        )),
        Class::Unspecified => Err(Denial::new(
            Reason::Unspecified,
            format!("{ip} is the unspecified address, which names no server; {NEVER}"),
        )),
        // Tailscale and other tailnets hand out addresses here: the person's
        // own machines, so the Private allowance reaches them. It is also
        // carrier-grade NAT space inside an internet provider's network,
        // which is why it needs that explicit allowance.
        Class::Cgnat if network.allows_private() => Ok(Zone::Private),
        Class::Cgnat => Err(Denial::new(
            Reason::Cgnat,
            format!("{ip} is in 100.64.0.0/10, the shared address space of tailnets (Tailscale) and carrier-grade NAT; allow Private network access for this provider if it is one of your machines."),
        )),
        Class::Broadcast => Err(Denial::new(
            Reason::Broadcast,
            format!("{ip} is the broadcast address, not a server; {NEVER}"),
        )),
        Class::Multicast => Err(Denial::new(
            Reason::Multicast,
            format!("{ip} is a multicast address, not a single server; {NEVER}"),
        )),
        Class::Documentation => Err(Denial::new(
            Reason::Documentation,
            format!("{ip} is reserved for documentation and examples ({}); no real server uses it.", special.source),
        )),
        Class::Benchmarking => Err(Denial::new(
            Reason::Benchmarking,
            format!("{ip} is reserved for network benchmarking ({}); {NEVER}", special.source),
        )),
        Class::Reserved => Err(Denial::new(
            Reason::Reserved,
            format!("{ip} is in {} ({}, {}), which is not reachable on the internet; {NEVER}", special.name, special.network, special.source),
        )),
        Class::Embedded(embedding) => Err(embedded_denial(ip, embedding, special)),
    }
}

/// The denial for a tunnel or translation form, naming the IPv4 address it
/// carries when there is one, so the person sees what it really points at.
fn embedded_denial(ip: IpAddr, embedding: Embedding, special: &Special) -> Denial {
    let bits = match ip {
        IpAddr::V6(v6) => u128::from(v6),
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
    };
    // The masks keep 32 bits, so the narrowing casts are exact.
    let carried = match embedding {
        Embedding::SixToFour => Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32)),
        Embedding::Teredo => Some(Ipv4Addr::from(!((bits & 0xffff_ffff) as u32))),
        Embedding::Compatible => Some(Ipv4Addr::from((bits & 0xffff_ffff) as u32)),
        Embedding::LocalTranslation => None,
    };
    let message = match carried {
        Some(carried) => format!(
            "{ip} is {} ({}) carrying the IPv4 address {carried}; Patchbay does not send requests through IPv6 tunnels or translators.",
            special.name, special.source
        ),
        None => format!(
            "{ip} is in {} ({}, {}), which reaches addresses inside a private network; {NEVER}",
            special.name, special.network, special.source
        ),
    };
    Denial::new(Reason::EmbeddedIpv4, message)
}

/// Judges one address and says what kind of destination it is.
fn admit_ip(ip: IpAddr, network: NetworkAllowance) -> Result<Zone, Denial> {
    if let IpAddr::V6(v6) = ip {
        if let Some(mapped) = v6.to_ipv4_mapped() {
            // A dual-stack socket connects to the IPv4 address itself.
            return admit_ip(IpAddr::V4(mapped), network).map_err(|denial| Denial {
                reason: denial.reason,
                message: format!(
                    "{ip} is the IPv4 address {mapped} written as IPv6; {}",
                    denial.message
                ),
            });
        }
        if NAT64.contains(ip) {
            return admit_nat64(v6);
        }
    }
    if let Some(special) = special_range(ip) {
        return admit_special(ip, special, network);
    }
    if ip.is_ipv6() && !GLOBAL_UNICAST.contains(ip) {
        return Err(Denial::new(
            Reason::NotGlobal,
            format!("{ip} is outside the IPv6 global unicast range 2000::/3, so it is not reachable on the internet; {NEVER}"),
        ));
    }
    Ok(Zone::Internet)
}

fn admit_nat64(v6: Ipv6Addr) -> Result<Zone, Denial> {
    let carried = Ipv4Addr::from((u128::from(v6) & 0xffff_ffff) as u32);
    match admit_ip(IpAddr::V4(carried), NetworkAllowance::Remote) {
        Ok(zone) => Ok(zone),
        Err(denial) => {
            let reason = match denial.reason {
                // Allowing Local or Private would not help: the translator's
                // loopback or LAN is not the user's.
                Reason::LoopbackNotAllowed | Reason::PrivateNotAllowed => Reason::EmbeddedIpv4,
                other => other,
            };
            Err(Denial::new(
                reason,
                format!(
                    "{v6} is the IPv4 address {carried} reached through a NAT64 translator (RFC 6052); only internet addresses may be reached that way, and {carried} is not one."
                ),
            ))
        }
    }
}

/// The per-address rule, used for IP-literal hosts and for every address a
/// DNS answer contains (the pinned resolver calls this).
pub fn judge_ip(ip: IpAddr, network: NetworkAllowance) -> Result<(), Denial> {
    admit_ip(ip, network).map(|_zone| ())
}

/// Judges a host name (no DNS). Returns the zone when the name alone decides
/// it (`localhost`), `None` when only DNS can tell.
fn admit_host_name(host: &str, network: NetworkAllowance) -> Result<Option<Zone>, Denial> {
    // A bracketed or bare IP literal handed in as a "name" is judged as an address.
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return admit_ip(ip, network).map(Some);
    }
    // The trailing dot only makes a name absolute; it must not change the verdict.
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if name.is_empty() {
        return Err(Denial::new(Reason::NoHost, "The URL has no host name."));
    }
    if name.chars().count() > MAX_HOST_CHARS {
        return Err(Denial::new(
            Reason::HostTooLong,
            format!(
                "The host name is {} characters long; DNS allows at most {MAX_HOST_CHARS}.",
                name.chars().count()
            ),
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(Denial::new(
                Reason::InvalidUrl,
                "The host name has an empty label (two dots in a row); check the address.",
            ));
        }
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(Denial::new(
                Reason::LabelTooLong,
                format!(
                    "A part of the host name is {} characters long; DNS allows at most {MAX_LABEL_CHARS} between dots.",
                    label.chars().count()
                ),
            ));
        }
    }
    if METADATA_NAMES
        .iter()
        .any(|metadata| name == *metadata || name.ends_with(&format!(".{metadata}")))
    {
        return Err(Denial::new(
            Reason::Metadata,
            format!("{name} is a cloud metadata service; {NEVER}"),
        ));
    }
    // RFC 6761 §6.3: localhost names are loopback.
    if name == "localhost" || name.ends_with(".localhost") {
        return if network.allows_loopback() {
            Ok(Some(Zone::Loopback))
        } else {
            Err(Denial::new(
                Reason::LoopbackNotAllowed,
                format!("{name} is this computer; allow Local network access for this provider to use it."),
            ))
        };
    }
    Ok(None)
}

/// Judges a host name without DNS: `localhost` and `*.localhost`, metadata
/// names, and the DNS length rules. An IP literal is judged as an address.
pub fn judge_host_name(host: &str, network: NetworkAllowance) -> Result<(), Denial> {
    admit_host_name(host, network).map(|_zone| ())
}

fn http_to_internet(shown: &str) -> Denial {
    Denial::new(
        Reason::NotHttps,
        format!("{shown} is on the internet, so the URL must start with https://; http:// is only for this computer or your local network."),
    )
}

/// What parsing and the address-free checks produced.
struct Parsed {
    url: Url,
    normalized: String,
}

/// The checks that need no host decision: the rules every URL shares
/// ([`SafeUrl::parse`]).
fn parse(raw: &str) -> Result<Parsed, Verdict> {
    match SafeUrl::parse(raw) {
        Ok(safe) => {
            let normalized = safe.display();
            Ok(Parsed {
                url: safe.into_url(),
                normalized,
            })
        }
        Err(problem) => {
            // What the URL would have been, for problems found in a parsed
            // URL (display_form never shows the userinfo); none for input
            // that did not parse as it stands.
            let after_parsing = matches!(
                problem,
                UrlProblem::Userinfo
                    | UrlProblem::PortZero
                    | UrlProblem::HostTooLong
                    | UrlProblem::LabelTooLong
            );
            let normalized = Url::parse(raw.trim())
                .ok()
                .filter(|_| after_parsing)
                .map(|url| display_form(&url));
            Err(Verdict::denied(
                Denial::new(problem.reason(), problem.to_string()),
                normalized,
                Vec::new(),
                false,
            ))
        }
    }
}

/// Judges a URL without DNS: the form calls this as the user types, and the
/// CLI with `--no-dns`. A host name passes if everything else passes
/// (`resolved: false`); an IP literal is judged completely.
pub fn judge_url(raw: &str, network: NetworkAllowance) -> Verdict {
    judge_parsed(raw, network).0
}

/// [`judge_url`], also handing back the parsed URL so resolution does not
/// parse the input a second time.
fn judge_parsed(raw: &str, network: NetworkAllowance) -> (Verdict, Option<Url>) {
    let Parsed { url, normalized } = match parse(raw) {
        Ok(parsed) => parsed,
        Err(verdict) => return (verdict, None),
    };
    let verdict = judge_host(&url, network, normalized);
    (verdict, Some(url))
}

fn judge_host(url: &Url, network: NetworkAllowance, normalized: String) -> Verdict {
    let plain_http = url.scheme() == "http";
    match url.host() {
        None => Verdict::denied(
            Denial::new(Reason::NoHost, "The URL has no host; add one, such as https://api.openai.com/v1."),
            Some(normalized),
            Vec::new(),
            false,
        ),
        Some(Host::Domain(name)) => match admit_host_name(name, network) {
            Err(denial) => Verdict::denied(denial, Some(normalized), Vec::new(), false),
            Ok(Some(zone)) => allowed_literal_or_local(url, name, zone, normalized, Vec::new(), false),
            Ok(None) if plain_http && !network.allows_http() => {
                Verdict::denied(remote_needs_https(), Some(normalized), Vec::new(), false)
            }
            Ok(None) => Verdict {
                allowed: true,
                reason: Reason::Allowed,
                message: format!(
                    "{} passes every check that needs no DNS; its addresses are checked when Patchbay connects.",
                    name.strip_suffix('.').unwrap_or(name)
                ),
                normalized: Some(normalized),
                addresses: Vec::new(),
                resolved: false,
            },
        },
        Some(Host::Ipv4(v4)) => judge_literal(url, IpAddr::V4(v4), network, normalized),
        Some(Host::Ipv6(v6)) => judge_literal(url, IpAddr::V6(v6), network, normalized),
    }
}

fn remote_needs_https() -> Denial {
    Denial::new(
        Reason::NotHttps,
        "Providers on the internet must use https://; http:// is allowed only with Local or Private network access, for a server on this computer or your local network.",
    )
}

fn judge_literal(url: &Url, ip: IpAddr, network: NetworkAllowance, normalized: String) -> Verdict {
    match admit_ip(ip, network) {
        Err(denial) => Verdict::denied(denial, Some(normalized), vec![ip], true),
        Ok(zone) => {
            allowed_literal_or_local(url, &ip.to_string(), zone, normalized, vec![ip], true)
        }
    }
}

/// The verdict for a destination whose zone is known without DNS.
fn allowed_literal_or_local(
    url: &Url,
    shown: &str,
    zone: Zone,
    normalized: String,
    addresses: Vec<IpAddr>,
    resolved: bool,
) -> Verdict {
    let shown = shown.strip_suffix('.').unwrap_or(shown);
    if zone == Zone::Internet && url.scheme() == "http" {
        return Verdict::denied(
            http_to_internet(shown),
            Some(normalized),
            addresses,
            resolved,
        );
    }
    Verdict {
        allowed: true,
        reason: Reason::Allowed,
        message: zone_message(shown, zone),
        normalized: Some(normalized),
        addresses,
        resolved,
    }
}

fn zone_message(shown: &str, zone: Zone) -> String {
    match zone {
        Zone::Internet => format!("{shown} is an internet address; requests are allowed."),
        Zone::Loopback => format!("{shown} is this computer; Local network access allows it."),
        Zone::Private => {
            format!("{shown} is on your local network; Private network access allows it.")
        }
    }
}

/// What judging a URL with DNS takes after the checks that need none.
#[derive(Debug)]
pub enum Resolution {
    /// Decided without DNS: denied, or an IP literal (judged completely).
    Decided(Verdict),
    /// A host name that passed every other check: look it up, then call
    /// [`judge_answer`].
    Lookup(PendingLookup),
}

/// A host name to resolve, as written (a trailing dot kept), with the port
/// the connection would use.
#[derive(Debug)]
pub struct PendingLookup {
    url: Url,
    pub host: String,
    pub port: u16,
}

/// Judges `raw` without DNS and says whether a lookup must follow.
pub fn resolution(raw: &str, network: NetworkAllowance) -> Resolution {
    let (verdict, url) = judge_parsed(raw, network);
    // Denied, or an IP literal (already judged completely): nothing to resolve.
    if !verdict.allowed || verdict.resolved {
        return Resolution::Decided(verdict);
    }
    let Some(url) = url else {
        return Resolution::Decided(verdict);
    };
    let Some(Host::Domain(host)) = url.host() else {
        return Resolution::Decided(verdict);
    };
    let host = host.to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    Resolution::Lookup(PendingLookup { url, host, port })
}

/// Judges **every** address of a DNS answer (`Err`: why the lookup failed):
/// one forbidden address denies the URL (`resolved_to_forbidden`, naming
/// it), because a connection may use any of them.
pub fn judge_answer(
    pending: &PendingLookup,
    answer: Result<Vec<IpAddr>, String>,
    network: NetworkAllowance,
) -> Verdict {
    let url = &pending.url;
    let normalized = display_form(url);
    let shown = pending.host.strip_suffix('.').unwrap_or(&pending.host);
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            return Verdict::denied(
                Denial::new(
                    Reason::DnsFailed,
                    format!("Patchbay could not look up {shown} ({error}); check the host name and your network connection."),
                ),
                Some(normalized),
                Vec::new(),
                false,
            )
        }
    };
    let mut addresses: Vec<IpAddr> = Vec::with_capacity(answer.len());
    for address in answer {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.is_empty() {
        return Verdict::denied(
            Denial::new(
                Reason::NoAddresses,
                format!("{shown} has no addresses in DNS; check the host name."),
            ),
            Some(normalized),
            addresses,
            true,
        );
    }
    // Every address is judged before the scheme, so a forbidden address is
    // what the person hears about even when http was also wrong.
    let mut zones = Vec::with_capacity(addresses.len());
    for &address in &addresses {
        match admit_ip(address, network) {
            Ok(zone) => zones.push((address, zone)),
            Err(denial) => {
                let denial = Denial::new(
                    Reason::ResolvedToForbidden,
                    format!("{shown} resolves to {address}: {}", denial.message),
                );
                return Verdict::denied(denial, Some(normalized), addresses, true);
            }
        }
    }
    let internet = zones
        .iter()
        .find(|(_, zone)| *zone == Zone::Internet)
        .map(|(address, _)| *address);
    if let (Some(address), "http") = (internet, url.scheme()) {
        let denial = Denial::new(
            Reason::NotHttps,
            format!("{shown} resolves to {address}, an internet address, so the URL must start with https://; http:// is only for this computer or your local network."),
        );
        return Verdict::denied(denial, Some(normalized), addresses, true);
    }
    let listed = addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let message = if zones.iter().all(|(_, zone)| *zone == Zone::Internet) {
        format!("{shown} resolves to {listed}; every address is on the internet, so requests are allowed.")
    } else {
        format!("{shown} resolves to {listed}; every address is allowed for this provider.")
    };
    Verdict {
        allowed: true,
        reason: Reason::Allowed,
        message,
        normalized: Some(normalized),
        addresses,
        resolved: true,
    }
}

#[cfg(test)]
#[path = "egress_cases.rs"]
mod cases;

#[cfg(test)]
#[path = "egress_tests.rs"]
mod tests;
