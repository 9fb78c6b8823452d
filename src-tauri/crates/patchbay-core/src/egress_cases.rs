//! The URL table the policy is tested against: every category of the IANA
//! IPv4 and IPv6 special-purpose registries (with boundaries on both sides),
//! every encoding a WHATWG parser folds into an address, and the expected
//! reason under each allowance (remote, local, private).

use super::Reason::{self, *};

#[derive(Debug)]
pub(super) struct Case {
    pub(super) url: String,
    pub(super) remote: Reason,
    pub(super) local: Reason,
    pub(super) private: Reason,
}

fn case(url: impl Into<String>, remote: Reason, local: Reason, private: Reason) -> Case {
    Case {
        url: url.into(),
        remote,
        local,
        private,
    }
}

/// The same reason under every allowance.
fn all(url: impl Into<String>, reason: Reason) -> Case {
    case(url, reason, reason, reason)
}

/// Loopback: needs `local` (or `private`, which includes it).
fn loopback(url: impl Into<String>) -> Case {
    case(url, LoopbackNotAllowed, Allowed, Allowed)
}

/// A LAN address: needs `private`.
fn private(url: impl Into<String>) -> Case {
    case(url, PrivateNotAllowed, PrivateNotAllowed, Allowed)
}

/// A host name over plain http: refused under `remote` before DNS; under the
/// other allowances it waits for DNS (which then requires non-internet addresses).
fn http_name(url: impl Into<String>) -> Case {
    case(url, NotHttps, Allowed, Allowed)
}

pub(super) fn cases() -> Vec<Case> {
    let long_label = "a".repeat(63);
    let too_long_label = "a".repeat(64);
    // 4 labels of 63 plus 3 dots = 255; trimmed to exactly 253 and 254.
    let name_of = |length: usize| {
        let mut name = [long_label.as_str(); 4].join(".");
        name.truncate(length);
        name
    };
    let path_to = |length: usize| {
        let prefix = "https://api.openai.com/";
        format!("{prefix}{}", "p".repeat(length - prefix.len()))
    };
    vec![
        // --- globally reachable unicast: allowed over https everywhere ---
        all("https://api.openai.com/v1", Allowed),
        all("https://openrouter.ai/api/v1", Allowed),
        all("https://8.8.8.8/", Allowed),
        all("https://1.1.1.1:8443/v1", Allowed),
        all("https://[2606:4700:4700::1111]/", Allowed),
        all("https://[2001:4860:4860::8888]/v1", Allowed),
        all("https://[2000::1]/", Allowed),
        all("https://[2001:200::1]/", Allowed),
        all("https://[3fff:1000::1]/", Allowed),
        all("https://[3fff:ffff::1]/", Allowed),
        all("https://192.31.196.1/", Allowed),
        all("https://192.52.193.1/", Allowed),
        all("https://192.175.48.1/", Allowed),
        all("https://[2620:4f:8000::1]/", Allowed),
        all("HTTPS://API.OPENAI.COM/V1", Allowed),
        all("   https://api.openai.com/v1   ", Allowed),
        all("https://bücher.example/v1", Allowed),
        all("https://xn--bcher-kva.example/v1", Allowed),
        all("https://@api.openai.com/v1", Allowed),
        // A backslash is a path separator in special URLs: the host is api.openai.com.
        all("https://api.openai.com\\@169.254.169.254/", Allowed),
        all("https://localhost.example.com/", Allowed),
        all("https://notlocalhost/", Allowed),
        all("https://metadata.google.internal.example.com/", Allowed),
        all("https://[::ffff:8.8.8.8]/", Allowed),
        all("https://[64:ff9b::808:808]/", Allowed),
        all("https://[64:ff9b::8.8.8.8]/", Allowed),
        // --- plain http to the internet ---
        all("http://8.8.8.8/", NotHttps),
        all("http://[2606:4700:4700::1111]/", NotHttps),
        all("http://[::ffff:8.8.8.8]/", NotHttps),
        http_name("http://api.openai.com/v1"),
        http_name("http://localhost.localdomain/"),
        http_name("http://llm.lan:8000/v1"),
        // --- loopback (RFC 1122, RFC 4291, RFC 6761 names) ---
        loopback("http://127.0.0.1:11434/v1"),
        loopback("https://127.0.0.1/"),
        loopback("http://127.255.255.254/"),
        loopback("http://127.1/"),
        loopback("http://127.0.1/"),
        loopback("http://0x7f.1/"),
        loopback("http://0x7f000001/"),
        loopback("http://0X7F.0X00.0X00.0X01/"),
        loopback("http://2130706433/"),
        loopback("http://0177.0.0.1/"),
        loopback("http://0177.0.0.01/"),
        loopback("http://017700000001/"),
        loopback("http://%31%32%37.0.0.1/"),
        loopback("http://１２７。０。０。１/"),
        loopback("http://127。0。0。1/"),
        loopback("http://１２７.０.０.１/"),
        loopback("http://127．0．0．1/"),
        loopback("http://127｡0｡0｡1/"),
        loopback("http://127.0.0.1./"),
        loopback("http://[::1]:8080/"),
        loopback("http://[0:0:0:0:0:0:0:1]/"),
        loopback("http://[::ffff:127.0.0.1]/"),
        loopback("http://[::ffff:7f00:1]/"),
        loopback("http://localhost:1234/v1"),
        loopback("http://LOCALHOST/"),
        loopback("http://LocalHost:11434"),
        loopback("http://localhost./"),
        loopback("http://ollama.localhost/"),
        loopback("http://a.b.localhost./"),
        loopback("https://localhost/"),
        loopback("http://local%68ost/"),
        loopback("http://ｌｏｃａｌｈｏｓｔ/"),
        loopback("http://localhost。/"),
        // --- private networks (RFC 1918, RFC 4193) ---
        private("http://10.0.0.1/"),
        private("http://10.255.255.255/"),
        private("http://10.1/"),
        private("http://172.16.0.1/"),
        private("http://172.31.255.254/"),
        private("http://192.168.1.20:8000/v1"),
        private("http://192.168.0.123:8000/v1"),
        private("https://192.168.0.123/v1"),
        private("http://0xc0a80114/"),
        private("http://3232235796/"),
        private("http://0300.0250.1.24/"),
        private("http://%31%39%32.168.1.1/"),
        private("http://[fd12:3456:789a::1]/"),
        private("http://[fc00::1]/"),
        private("http://[fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]/"),
        private("http://[::ffff:192.168.1.20]/"),
        private("http://[::ffff:10.0.0.1]/"),
        all("https://172.15.255.255/", Allowed),
        all("https://172.32.0.1/", Allowed),
        all("https://11.0.0.1/", Allowed),
        all("https://192.169.0.1/", Allowed),
        all("https://[fe00::1]/", NotGlobal),
        // --- cloud metadata addresses and names ---
        all("http://169.254.169.254/latest/meta-data/", Metadata),
        all("https://169.254.169.254/", Metadata),
        all("http://169.254.170.2/v2/credentials", Metadata),
        all("http://169.254.170.23/", Metadata),
        all("http://169.254.0.23/", Metadata),
        all("http://100.100.100.200/latest/meta-data", Metadata),
        all("http://168.63.129.16/", Metadata),
        all("http://192.0.0.192/", Metadata),
        all("http://[fd00:ec2::254]/latest/meta-data", Metadata),
        all("http://[fd00:ec2::23]/", Metadata),
        all("http://[::ffff:169.254.169.254]/", Metadata),
        all("http://[::ffff:a9fe:a9fe]/", Metadata),
        all("http://2852039166/", Metadata),
        all("http://0xa9fea9fe/", Metadata),
        all("http://0xa9.0xfe.0xa9.0xfe/", Metadata),
        all("http://0251.0376.0251.0376/", Metadata),
        all("http://169.254.43518/", Metadata),
        all("http://１６９。２５４。１６９。２５４/", Metadata),
        all("http://%31%36%39.254.169.254/", Metadata),
        all(
            "http://metadata.google.internal/computeMetadata/v1/",
            Metadata,
        ),
        all("http://metadata.google.internal./", Metadata),
        all("http://METADATA.GOOGLE.INTERNAL/", Metadata),
        all("https://ｍｅｔａｄａｔａ.google.internal/", Metadata),
        all("http://metadata%2Egoogle%2Einternal/", Metadata),
        all("http://foo.metadata.google.internal/", Metadata),
        all("http://metadata/", Metadata),
        all("http://metadata./", Metadata),
        all("http://metadata.goog/", Metadata),
        all("http://instance-data/", Metadata),
        all("http://instance-data.ec2.internal/", Metadata),
        all("http://metadata.tencentyun.com/", Metadata),
        all("https://[64:ff9b::a9fe:a9fe]/", Metadata),
        // --- link-local (RFC 3927, RFC 4291) ---
        all("http://169.254.1.1/", LinkLocal),
        all("http://169.254.255.255/", LinkLocal),
        all("http://0xa9fe0101/", LinkLocal),
        all("http://[fe80::1]/", LinkLocal),
        all("http://[febf:ffff::1]/", LinkLocal),
        all("http://[::ffff:169.254.1.1]/", LinkLocal),
        all("https://[64:ff9b::a9fe:101]/", LinkLocal),
        // --- unspecified and "this network" (RFC 791, RFC 1122, RFC 4291) ---
        all("http://0.0.0.0/", Unspecified),
        all("http://0.0.0.0:11434/", Unspecified),
        all("http://0/", Unspecified),
        all("http://0x0/", Unspecified),
        all("http://[::]/", Unspecified),
        all("http://[0:0:0:0:0:0:0:0]:11434/", Unspecified),
        all("http://[::ffff:0.0.0.0]/", Unspecified),
        all("http://0.0.0.1/", Reserved),
        all("http://0.1.2.3/", Reserved),
        all("http://0.255.255.255/", Reserved),
        // --- shared address space (RFC 6598): tailnets and carrier-grade
        // NAT; reachable only under `private`, never its metadata address ---
        case("http://100.64.0.1/", Cgnat, Cgnat, Allowed),
        case("http://100.127.255.254/", Cgnat, Cgnat, Allowed),
        case("http://100.100.100.199/", Cgnat, Cgnat, Allowed),
        case("https://100.101.102.103:8443/", Cgnat, Cgnat, Allowed),
        case("http://[::ffff:100.64.0.1]/", Cgnat, Cgnat, Allowed),
        all("http://100.100.100.200/", Metadata),
        all("http://100.100.100.200/latest/meta-data/", Metadata),
        all("http://[::ffff:100.100.100.200]/", Metadata),
        all("http://[64:ff9b::100.64.0.1]/", Cgnat),
        all("https://100.63.255.255/", Allowed),
        all("https://100.128.0.1/", Allowed),
        // --- broadcast (RFC 919) ---
        all("http://255.255.255.255/", Broadcast),
        all("http://4294967295/", Broadcast),
        all("http://0xffffffff/", Broadcast),
        all("http://[::ffff:255.255.255.255]/", Broadcast),
        // --- multicast (RFC 5771, RFC 4291) ---
        all("http://224.0.0.1/", Multicast),
        all("http://239.255.255.250/", Multicast),
        all("http://233.252.0.1/", Multicast),
        all("http://[ff02::1]/", Multicast),
        all("http://[ff05::1:3]/", Multicast),
        all("http://[ff0e::1]/", Multicast),
        // --- reserved for future use (RFC 1112) ---
        all("http://240.0.0.1/", Reserved),
        all("http://250.1.2.3/", Reserved),
        all("http://255.255.255.254/", Reserved),
        // --- benchmarking (RFC 2544, RFC 5180) ---
        all("http://198.18.0.1/", Benchmarking),
        all("http://198.19.255.255/", Benchmarking),
        all("https://[2001:2::1]/", Benchmarking),
        all("https://198.17.255.255/", Allowed),
        all("https://198.20.0.1/", Allowed),
        // --- documentation (RFC 5737, RFC 3849, RFC 9637) ---
        all("https://192.0.2.1/", Documentation),
        all("https://198.51.100.7/", Documentation),
        all("https://203.0.113.9/", Documentation),
        all("https://[2001:db8::1]/", Documentation),
        all("https://[2001:db8:ffff::1]/", Documentation),
        all("https://[3fff::1]/", Documentation),
        all("https://[3fff:fff::1]/", Documentation),
        all("https://[64:ff9b::c000:201]/", Documentation),
        // --- IETF protocol assignments and other reserved ranges ---
        all("http://192.0.0.1/", Reserved),
        all("http://192.0.0.8/", Reserved),
        all("http://192.0.0.9/", Reserved),
        all("http://192.0.0.170/", Reserved),
        all("https://192.88.99.1/", Reserved),
        all("https://[2001:1::1]/", Reserved),
        all("https://[2001:3::1]/", Reserved),
        all("https://[2001:4:112::1]/", Reserved),
        all("https://[2001:1ff::1]/", Reserved),
        all("https://[2001:10::1]/", Reserved),
        all("https://[2001:20::1]/", Reserved),
        all("https://[100::1]/", Reserved),
        all("https://[100::1:0:0:1]/", Reserved),
        all("https://[100:0:0:1::1]/", Reserved),
        all("https://[5f00::1]/", Reserved),
        all("https://[fec0::1]/", Reserved),
        all("https://[feff::1]/", Reserved),
        // --- IPv4 embedded in IPv6: tunnels and translators ---
        all("https://[2002:a9fe:a9fe::1]/", EmbeddedIpv4),
        all("https://[2002:808:808::1]/", EmbeddedIpv4),
        all("http://[2002:7f00:1::]/", EmbeddedIpv4),
        all("https://[2001::1]/", EmbeddedIpv4),
        all(
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            EmbeddedIpv4,
        ),
        all("http://[64:ff9b::7f00:1]/", EmbeddedIpv4),
        all("http://[64:ff9b::127.0.0.1]/", EmbeddedIpv4),
        all("https://[64:ff9b::c0a8:114]/", EmbeddedIpv4),
        all("https://[64:ff9b:1::a9fe:a9fe]/", EmbeddedIpv4),
        all("https://[64:ff9b:1:ffff::1]/", EmbeddedIpv4),
        all("http://[::127.0.0.1]/", EmbeddedIpv4),
        all("http://[::a9fe:a9fe]/", EmbeddedIpv4),
        all("https://[::8.8.8.8]/", EmbeddedIpv4),
        all("https://[::2]/", EmbeddedIpv4),
        // --- outside IPv6 global unicast 2000::/3 ---
        all("https://[4000::1]/", NotGlobal),
        all("https://[1::1]/", NotGlobal),
        all("https://[8000::1]/", NotGlobal),
        all("https://[e000::1]/", NotGlobal),
        all("https://[100:0:0:2::1]/", NotGlobal),
        all("https://[::ffff:0:808:808]/", NotGlobal),
        // --- userinfo ---
        all("https://api.openai.com@169.254.169.254/", Userinfo),
        all("https://user:pass@api.openai.com/v1", Userinfo),
        all("https://:sk-canary-0001@api.openai.com/v1", Userinfo),
        all("http://user@localhost:11434/", Userinfo),
        all("https://api.openai.com:@evil.example/", Userinfo),
        all("https://api.openai.com%40169.254.169.254/", InvalidUrl),
        // --- scheme ---
        all("ftp://example.com/", Scheme),
        all("file:///etc/passwd", Scheme),
        all("javascript:alert(1)", Scheme),
        all("gopher://127.0.0.1:6379/_", Scheme),
        all("data:text/plain,hello", Scheme),
        all("ws://localhost/", Scheme),
        all("wss://api.openai.com/", Scheme),
        // --- not a URL ---
        all("", InvalidUrl),
        all("    ", InvalidUrl),
        all("api.openai.com/v1", InvalidUrl),
        all("https://", NoHost),
        all("https://exa mple.com/", InvalidUrl),
        all("https://[::1/", InvalidUrl),
        all("https://256.0.0.1/", InvalidUrl),
        all("https://1.2.3.4.5/", InvalidUrl),
        all("https://0x100000000/", InvalidUrl),
        all("https://api.openai.com:99999/", InvalidUrl),
        all("https://api.openai.com:0/", InvalidUrl),
        all("http://[fe80::1%25eth0]/", InvalidUrl),
        all("https://a..b/", InvalidUrl),
        // --- control characters and length, refused before parsing ---
        // (a line break around a pasted URL is trimmed, as everywhere;
        // inside it, it is refused)
        all("https://api.openai.com/v1\n", Allowed),
        all("https://api.openai.com/v\n1", ControlCharacters),
        all("https://api.openai.com/\tv1", ControlCharacters),
        all("https://api.openai.com/v1\r", Allowed),
        all("https://api.open\rai.com/v1", ControlCharacters),
        all("https://api.\u{0}openai.com/", ControlCharacters),
        all("https://api.openai.com/\u{7f}", ControlCharacters),
        all("https://api.openai.com/\u{85}v1", ControlCharacters),
        all("http://127.0.0.1\u{1b}/", ControlCharacters),
        all(path_to(2048), Allowed),
        all(path_to(2049), TooLong),
        all(format!("https://{}/", "a".repeat(5000)), TooLong),
        // --- DNS name and label limits (RFC 1035), measured on the ASCII form ---
        all(format!("https://{long_label}.example/"), Allowed),
        all(format!("https://{too_long_label}.example/"), LabelTooLong),
        all(format!("https://{}.example/", "ü".repeat(60)), LabelTooLong),
        all(format!("https://{}/", name_of(253)), Allowed),
        all(format!("https://{}./", name_of(253)), Allowed),
        all(format!("https://{}/", name_of(254)), HostTooLong),
        loopback(format!("http://{}.localhost./", name_of(230))),
    ]
}
