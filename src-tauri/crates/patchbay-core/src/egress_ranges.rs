//! The address table behind the egress policy: every entry of the IANA IPv4
//! and IPv6 special-purpose address registries that is not globally
//! reachable, multicast, the deprecated ranges, the cloud metadata addresses
//! and names, each row citing where it is defined. [`super`] decides what an
//! allowance grants; this file only says what an address is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// The category of a special-purpose range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Metadata,
    Loopback,
    Private,
    LinkLocal,
    Unspecified,
    Cgnat,
    Broadcast,
    Multicast,
    Reserved,
    Documentation,
    Benchmarking,
    /// A transition or translation form denied outright (see `policy`'s module docs).
    Embedded(Embedding),
}

/// Where a denied IPv6 form carries its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Embedding {
    /// RFC 3056 §2: bits 16..48.
    SixToFour,
    /// RFC 4380 §4: the client's address is the last 32 bits, inverted.
    Teredo,
    /// RFC 4291 §2.5.5.1: the last 32 bits.
    Compatible,
    /// RFC 8215: the position depends on the operator's prefix length.
    LocalTranslation,
}

/// One row of the special-purpose table.
#[derive(Debug, Clone, Copy)]
pub(super) struct Special {
    pub(super) network: IpNetwork,
    pub(super) class: Class,
    /// The registry's name for the range, used in messages.
    pub(super) name: &'static str,
    /// Where the range is defined.
    pub(super) source: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> IpNetwork {
    match Ipv4Network::new_checked(Ipv4Addr::new(a, b, c, d), prefix) {
        Some(network) => IpNetwork::V4(network),
        // Evaluated only while compiling the `const` table below.
        None => panic!("an IPv4 prefix is at most 32 bits"),
    }
}

#[allow(clippy::too_many_arguments)] // the eight segments of an address, as written in the RFCs
const fn v6(
    a: u16,
    b: u16,
    c: u16,
    d: u16,
    e: u16,
    f: u16,
    g: u16,
    h: u16,
    prefix: u8,
) -> IpNetwork {
    match Ipv6Network::new_checked(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix) {
        Some(network) => IpNetwork::V6(network),
        // Evaluated only while compiling the `const` table below.
        None => panic!("an IPv6 prefix is at most 128 bits"),
    }
}

const fn row(
    network: IpNetwork,
    class: Class,
    name: &'static str,
    source: &'static str,
) -> Special {
    Special {
        network,
        class,
        name,
        source,
    }
}

/// The IANA IPv4 and IPv6 special-purpose address registries
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry>,
/// <https://www.iana.org/assignments/iana-ipv6-special-registry>), every entry
/// that is not globally reachable, plus multicast, the deprecated ranges and
/// the cloud metadata addresses. The longest matching prefix wins, so a
/// metadata /32 inside link-local reports as metadata. Entries IANA marks
/// globally reachable (AS112 192.31.196.0/24, 192.175.48.0/24,
/// 2620:4f:8000::/48; AMT 192.52.193.0/24) are deliberately absent. The
/// globally reachable anycast and identifier entries inside 192.0.0.0/24 and
/// 2001::/23 (PCP, TURN, AMT 2001:3::/32, AS112 2001:4:112::/48, ORCHIDv2,
/// DRIP) are denied with their parent range: none of them is an API server.
/// IPv4-mapped and NAT64 are handled in code (they are unwrapped).
pub(super) const SPECIAL_RANGES: &[Special] = &[
    // --- IPv4 special-purpose registry ---
    // RFC 791 §3.2: "this network"; only valid as a source address.
    row(
        v4(0, 0, 0, 0, 8),
        Class::Reserved,
        "the \"this network\" range",
        "RFC 791",
    ),
    // RFC 1122 §3.2.1.3: "this host on this network"; Linux connects it to loopback.
    row(
        v4(0, 0, 0, 0, 32),
        Class::Unspecified,
        "the unspecified address",
        "RFC 1122",
    ),
    // RFC 1918: private-use networks.
    row(
        v4(10, 0, 0, 0, 8),
        Class::Private,
        "a private network range",
        "RFC 1918",
    ),
    // RFC 6598: shared address space for carrier-grade NAT.
    row(
        v4(100, 64, 0, 0, 10),
        Class::Cgnat,
        "the carrier-grade NAT range",
        "RFC 6598",
    ),
    // RFC 1122 §3.2.1.3: loopback.
    row(v4(127, 0, 0, 0, 8), Class::Loopback, "loopback", "RFC 1122"),
    // RFC 3927: link-local.
    row(
        v4(169, 254, 0, 0, 16),
        Class::LinkLocal,
        "link-local",
        "RFC 3927",
    ),
    // RFC 1918: private-use networks.
    row(
        v4(172, 16, 0, 0, 12),
        Class::Private,
        "a private network range",
        "RFC 1918",
    ),
    // RFC 6890 §2.2.2: IETF protocol assignments (DS-Lite RFC 7335, dummy RFC 7600,
    // PCP/TURN anycast RFC 7723/8155, NAT64 discovery RFC 7050/8880).
    row(
        v4(192, 0, 0, 0, 24),
        Class::Reserved,
        "the IETF protocol assignments range",
        "RFC 6890",
    ),
    // RFC 5737: TEST-NET-1.
    row(
        v4(192, 0, 2, 0, 24),
        Class::Documentation,
        "TEST-NET-1",
        "RFC 5737",
    ),
    // RFC 7526: the deprecated 6to4 relay anycast prefix.
    row(
        v4(192, 88, 99, 0, 24),
        Class::Reserved,
        "the deprecated 6to4 relay anycast range",
        "RFC 7526",
    ),
    // RFC 1918: private-use networks.
    row(
        v4(192, 168, 0, 0, 16),
        Class::Private,
        "a private network range",
        "RFC 1918",
    ),
    // RFC 2544: benchmarking.
    row(
        v4(198, 18, 0, 0, 15),
        Class::Benchmarking,
        "the benchmarking range",
        "RFC 2544",
    ),
    // RFC 5737: TEST-NET-2.
    row(
        v4(198, 51, 100, 0, 24),
        Class::Documentation,
        "TEST-NET-2",
        "RFC 5737",
    ),
    // RFC 5737: TEST-NET-3.
    row(
        v4(203, 0, 113, 0, 24),
        Class::Documentation,
        "TEST-NET-3",
        "RFC 5737",
    ),
    // RFC 5771: multicast (the IPv4 multicast registry, not the special-purpose one).
    row(
        v4(224, 0, 0, 0, 4),
        Class::Multicast,
        "multicast",
        "RFC 5771",
    ),
    // RFC 1112 §4: reserved for future use.
    row(
        v4(240, 0, 0, 0, 4),
        Class::Reserved,
        "the reserved range 240.0.0.0/4",
        "RFC 1112",
    ),
    // RFC 8190, RFC 919 §7: limited broadcast.
    row(
        v4(255, 255, 255, 255, 32),
        Class::Broadcast,
        "limited broadcast",
        "RFC 919",
    ),
    // --- IPv4 cloud metadata services (not in the registry; providers' documentation) ---
    // AWS EC2, Google Cloud, Azure IMDS, Oracle Cloud, DigitalOcean, OpenStack, …
    row(
        v4(169, 254, 169, 254, 32),
        Class::Metadata,
        "the instance metadata service",
        "cloud providers",
    ),
    // AWS ECS task metadata and credentials.
    row(
        v4(169, 254, 170, 2, 32),
        Class::Metadata,
        "the ECS task metadata service",
        "AWS",
    ),
    // AWS EKS Pod Identity agent.
    row(
        v4(169, 254, 170, 23, 32),
        Class::Metadata,
        "the EKS Pod Identity agent",
        "AWS",
    ),
    // Tencent Cloud metadata (metadata.tencentyun.com).
    row(
        v4(169, 254, 0, 23, 32),
        Class::Metadata,
        "the Tencent Cloud metadata service",
        "Tencent Cloud",
    ),
    // Alibaba Cloud ECS metadata.
    row(
        v4(100, 100, 100, 200, 32),
        Class::Metadata,
        "the Alibaba Cloud metadata service",
        "Alibaba Cloud",
    ),
    // Oracle Cloud's legacy metadata address.
    row(
        v4(192, 0, 0, 192, 32),
        Class::Metadata,
        "the Oracle Cloud metadata service",
        "Oracle Cloud",
    ),
    // Azure WireServer: a public address that, inside Azure, answers with platform secrets.
    row(
        v4(168, 63, 129, 16, 32),
        Class::Metadata,
        "the Azure WireServer",
        "Microsoft Azure",
    ),
    // --- IPv6 special-purpose registry ---
    // RFC 4291 §2.5.2: unspecified.
    row(
        v6(0, 0, 0, 0, 0, 0, 0, 0, 128),
        Class::Unspecified,
        "the unspecified address",
        "RFC 4291",
    ),
    // RFC 4291 §2.5.3: loopback.
    row(
        v6(0, 0, 0, 0, 0, 0, 0, 1, 128),
        Class::Loopback,
        "loopback",
        "RFC 4291",
    ),
    // RFC 4291 §2.5.5.1: IPv4-compatible, deprecated.
    row(
        v6(0, 0, 0, 0, 0, 0, 0, 0, 96),
        Class::Embedded(Embedding::Compatible),
        "a deprecated IPv4-compatible address",
        "RFC 4291",
    ),
    // RFC 8215: local-use IPv4/IPv6 translation.
    row(
        v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48),
        Class::Embedded(Embedding::LocalTranslation),
        "the local-use IPv4/IPv6 translation range",
        "RFC 8215",
    ),
    // RFC 6666: discard-only.
    row(
        v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64),
        Class::Reserved,
        "the discard-only range",
        "RFC 6666",
    ),
    // RFC 9780: dummy IPv6 prefix.
    row(
        v6(0x100, 0, 0, 1, 0, 0, 0, 0, 64),
        Class::Reserved,
        "the dummy IPv6 prefix",
        "RFC 9780",
    ),
    // RFC 2928: IETF protocol assignments.
    row(
        v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23),
        Class::Reserved,
        "the IETF protocol assignments range",
        "RFC 2928",
    ),
    // RFC 4380: Teredo.
    row(
        v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 32),
        Class::Embedded(Embedding::Teredo),
        "a Teredo tunnel address",
        "RFC 4380",
    ),
    // RFC 5180: benchmarking.
    row(
        v6(0x2001, 2, 0, 0, 0, 0, 0, 0, 48),
        Class::Benchmarking,
        "the benchmarking range",
        "RFC 5180",
    ),
    // RFC 4843: ORCHID, deprecated.
    row(
        v6(0x2001, 0x10, 0, 0, 0, 0, 0, 0, 28),
        Class::Reserved,
        "the deprecated ORCHID range",
        "RFC 4843",
    ),
    // RFC 7343: ORCHIDv2 (identifiers, not locators).
    row(
        v6(0x2001, 0x20, 0, 0, 0, 0, 0, 0, 28),
        Class::Reserved,
        "the ORCHIDv2 range",
        "RFC 7343",
    ),
    // RFC 3849: documentation.
    row(
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32),
        Class::Documentation,
        "the documentation range",
        "RFC 3849",
    ),
    // RFC 3056: 6to4.
    row(
        v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16),
        Class::Embedded(Embedding::SixToFour),
        "a 6to4 tunnel address",
        "RFC 3056",
    ),
    // RFC 9637: documentation.
    row(
        v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20),
        Class::Documentation,
        "the documentation range",
        "RFC 9637",
    ),
    // RFC 9602: segment routing SIDs.
    row(
        v6(0x5f00, 0, 0, 0, 0, 0, 0, 0, 16),
        Class::Reserved,
        "the segment routing range",
        "RFC 9602",
    ),
    // RFC 4193: unique local addresses.
    row(
        v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7),
        Class::Private,
        "a unique local range",
        "RFC 4193",
    ),
    // RFC 4291 §2.5.6: link-local unicast.
    row(
        v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10),
        Class::LinkLocal,
        "link-local",
        "RFC 4291",
    ),
    // RFC 3879: site-local, deprecated.
    row(
        v6(0xfec0, 0, 0, 0, 0, 0, 0, 0, 10),
        Class::Reserved,
        "the deprecated site-local range",
        "RFC 3879",
    ),
    // RFC 4291 §2.7: multicast.
    row(
        v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8),
        Class::Multicast,
        "multicast",
        "RFC 4291",
    ),
    // --- IPv6 cloud metadata services ---
    // AWS EC2 instance metadata over IPv6.
    row(
        v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254, 128),
        Class::Metadata,
        "the instance metadata service",
        "AWS",
    ),
    // AWS EKS Pod Identity agent over IPv6.
    row(
        v6(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23, 128),
        Class::Metadata,
        "the EKS Pod Identity agent",
        "AWS",
    ),
];

/// Host names of cloud metadata services (and names under them). `metadata` and
/// `instance-data` are single labels that a search domain completes.
pub(super) const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
    "metadata.azure.internal",
];

/// IPv6 global unicast (RFC 4291 §2.4): everything outside it is not
/// reachable on the internet.
pub(super) const GLOBAL_UNICAST: IpNetwork = v6(0x2000, 0, 0, 0, 0, 0, 0, 0, 3);
/// NAT64 well-known prefix (RFC 6052 §2.1): unwrapped, see the module docs.
pub(super) const NAT64: IpNetwork = v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96);

/// The longest-prefix special range containing `ip`.
pub(super) fn special_range(ip: IpAddr) -> Option<&'static Special> {
    SPECIAL_RANGES
        .iter()
        .filter(|special| special.network.contains(ip))
        .max_by_key(|special| special.network.prefix())
}
