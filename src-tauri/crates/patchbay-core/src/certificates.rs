//! Certificates a person hands Patchbay: a provider's CA certificate (an
//! organisation's root, or the CA of a proxy that inspects TLS), read from
//! a PEM or DER file, checked and stored in the config as PEM — the
//! certificate itself, not a path that can vanish. Also the summary of a
//! certificate a server presented (subject, issuer, validity, names), for a
//! connection test that fails on it.
//!
//! Rules for a provider's CA certificate (`ca_certificate` in the config):
//!
//! - One or more `CERTIFICATE` blocks (a bundle: root and intermediates),
//!   at most [`MAX_CA_CERTIFICATES`] of them and [`MAX_CA_PEM_BYTES`] bytes.
//! - A file holding a private key is refused as a whole: a key must never
//!   end up in the plain-text config.
//! - Each must be a CA certificate (`basicConstraints CA:TRUE`) or
//!   self-signed (a server's own self-signed certificate works as its own
//!   trust anchor); a server certificate issued by someone else is refused
//!   with the name of the CA to ask for instead.
//! - An expired certificate is refused: it could never verify anything.
//! - What is stored is re-encoded: only the certificate blocks, in order,
//!   64-column base64, so comments and other blocks of the file are dropped.

use std::fmt;
use std::io::BufReader;

use rustls_pki_types::pem::SectionKind;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// Most certificates one provider's CA bundle may hold.
pub const MAX_CA_CERTIFICATES: usize = 16;
/// Longest CA bundle accepted, in bytes.
pub const MAX_CA_PEM_BYTES: usize = 64 * 1024;

/// What a person sees of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// The subject's common name, or the whole subject when it has none.
    pub subject: String,
    /// The issuer's common name, or the whole issuer.
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub not_after: String,
    /// DNS names and IP addresses of the subject alternative names.
    pub names: Vec<String>,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
    /// `basicConstraints CA:TRUE`.
    pub is_ca: bool,
    /// SHA-256 of the DER, 64 lowercase hex digits.
    pub sha256: String,
}

impl CertificateSummary {
    /// Reads a DER certificate; `None` when it is not one.
    pub fn of_der(der: &[u8]) -> Option<Self> {
        let (_rest, certificate) = X509Certificate::from_der(der).ok()?;
        Some(summarize(&certificate, der))
    }

    /// Whether `now` is past the end of validity.
    pub fn expired_at(&self, now: OffsetDateTime) -> bool {
        OffsetDateTime::parse(&self.not_after, &Rfc3339)
            .map(|end| end < now)
            .unwrap_or(false)
    }

    /// `2031-01-01` of `not_after`, for sentences.
    pub fn valid_until(&self) -> &str {
        self.not_after.get(..10).unwrap_or(&self.not_after)
    }
}

impl fmt::Display for CertificateSummary {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "“{}”, issued by “{}”, valid {} to {}",
            self.subject,
            self.issuer,
            self.not_before.get(..10).unwrap_or(&self.not_before),
            self.valid_until()
        )
    }
}

fn summarize(certificate: &X509Certificate<'_>, der: &[u8]) -> CertificateSummary {
    let validity = certificate.validity();
    let names = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|extension| {
            extension
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => ip_text(bytes),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    CertificateSummary {
        subject: short_name(certificate.subject()),
        issuer: short_name(certificate.issuer()),
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        names,
        self_signed: certificate.subject().as_raw() == certificate.issuer().as_raw(),
        is_ca: certificate.is_ca(),
        sha256: hex::encode(Sha256::digest(der)),
    }
}

fn short_name(name: &X509Name<'_>) -> String {
    name.iter_common_name()
        .next()
        .and_then(|common| common.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| name.to_string())
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(octets).to_string())
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

fn rfc3339(timestamp: i64) -> String {
    OffsetDateTime::from_unix_timestamp(timestamp)
        .ok()
        .and_then(|moment| moment.format(&Rfc3339).ok())
        .unwrap_or_else(|| timestamp.to_string())
}

/// A checked CA bundle: the PEM to store and each certificate's DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    pub pem: String,
    pub der: Vec<Vec<u8>>,
    pub summaries: Vec<CertificateSummary>,
}

impl CaBundle {
    /// "Corp Root CA (valid until 2031-01-01)", and "+ N more".
    pub fn describe(&self) -> String {
        let Some(first) = self.summaries.first() else {
            return "no certificate".to_owned();
        };
        let more = self.summaries.len() - 1;
        let head = format!("{} (valid until {})", first.subject, first.valid_until());
        if more == 0 {
            head
        } else {
            format!("{head} and {more} more")
        }
    }
}

/// Checks a CA certificate file as the form or `--ca-cert` gives it: PEM
/// text, or a DER (`.cer`) certificate. The error says what is wrong and
/// what to pick instead.
pub fn read_ca_bundle(bytes: &[u8]) -> Result<CaBundle, String> {
    read_ca_bundle_at(bytes, OffsetDateTime::now_utc())
}

/// [`read_ca_bundle`] as of `now`.
pub fn read_ca_bundle_at(bytes: &[u8], now: OffsetDateTime) -> Result<CaBundle, String> {
    if bytes.len() > MAX_CA_PEM_BYTES {
        return Err(format!(
            "the file is larger than {} KiB; pick the CA's certificate file (.pem, .crt or .cer), not a whole trust store",
            MAX_CA_PEM_BYTES / 1024
        ));
    }
    let ders = if looks_like_pem(bytes) {
        certificate_blocks(bytes)?
    } else if X509Certificate::from_der(bytes).is_ok() {
        vec![bytes.to_vec()]
    } else {
        return Err(
            "this is not a certificate: pick a PEM file (-----BEGIN CERTIFICATE-----) or a DER .cer file"
                .to_owned(),
        );
    };
    if ders.len() > MAX_CA_CERTIFICATES {
        return Err(format!(
            "the file holds {} certificates; at most {MAX_CA_CERTIFICATES} are accepted for one provider",
            ders.len()
        ));
    }
    let mut summaries = Vec::with_capacity(ders.len());
    for (index, der) in ders.iter().enumerate() {
        let ordinal = if ders.len() > 1 {
            format!("certificate {} of {}", index + 1, ders.len())
        } else {
            "the certificate".to_owned()
        };
        let (_rest, certificate) = X509Certificate::from_der(der)
            .map_err(|error| format!("{ordinal} cannot be read ({error})"))?;
        let summary = summarize(&certificate, der);
        if !summary.is_ca && !summary.self_signed {
            return Err(format!(
                "{ordinal} (“{}”) is a server's certificate issued by “{}”, not a CA certificate: add the certificate of “{}” instead, or trust this server's certificate by its fingerprint",
                summary.subject, summary.issuer, summary.issuer
            ));
        }
        if summary.expired_at(now) {
            return Err(format!(
                "{ordinal} (“{}”) expired on {}: ask for the current CA certificate",
                summary.subject,
                summary.valid_until()
            ));
        }
        summaries.push(summary);
    }
    Ok(CaBundle {
        pem: ders.iter().map(|der| pem_block(der)).collect(),
        der: ders,
        summaries,
    })
}

/// The DER of a stored `ca_certificate` (written by [`read_ca_bundle`]).
/// Only readability is checked: a CA that expired since it was added makes
/// the connection test say so, it does not make the provider unreadable.
pub fn stored_ca_der(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    let ders = certificate_blocks(pem.as_bytes())?;
    for der in &ders {
        X509Certificate::from_der(der)
            .map_err(|error| format!("a certificate cannot be read ({error})"))?;
    }
    Ok(ders)
}

/// The DER of a stored `ca_certificate`, decoded only (loading the config
/// already checked it): what every request of the provider uses.
pub fn stored_ca_blocks(pem: &str) -> Vec<Vec<u8>> {
    certificate_blocks(pem.as_bytes()).unwrap_or_default()
}

/// Summaries of a stored `ca_certificate`, for display (empty when it does
/// not read).
pub fn stored_ca_summaries(pem: &str) -> Vec<CertificateSummary> {
    stored_ca_der(pem)
        .map(|ders| {
            ders.iter()
                .filter_map(|der| CertificateSummary::of_der(der))
                .collect()
        })
        .unwrap_or_default()
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|window| window == b"-----BEGIN ")
}

/// The DER of every `CERTIFICATE` block; a private key anywhere refuses the
/// whole file.
fn certificate_blocks(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes
        .windows(16)
        .any(|window| window == b"PRIVATE KEY-----")
    {
        return Err(
            "the file holds a private key; never share a key: pick the CA's certificate file only"
                .to_owned(),
        );
    }
    let mut reader = BufReader::new(bytes);
    let mut ders = Vec::new();
    loop {
        match rustls_pki_types::pem::from_buf(&mut reader) {
            Ok(Some((SectionKind::Certificate, der))) => ders.push(der),
            Ok(Some(_other)) => {}
            Ok(None) => break,
            Err(error) => return Err(format!("the PEM text is damaged ({error})")),
        }
    }
    if ders.is_empty() {
        return Err(
            "the file holds no certificate (no -----BEGIN CERTIFICATE----- block)".to_owned(),
        );
    }
    Ok(ders)
}

fn pem_block(der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("self-signed");
        (certificate, key)
    }

    #[test]
    fn a_pem_bundle_is_read_reencoded_and_described() {
        let (root, _) = ca("Corp Root CA");
        let (other, _) = ca("Corp Proxy CA");
        let text = format!(
            "# exported from the company portal\n{}\n{}",
            root.pem(),
            other.pem()
        );
        let bundle = read_ca_bundle(text.as_bytes()).expect("a bundle");
        assert_eq!(bundle.der.len(), 2);
        assert_eq!(bundle.der[0], root.der().to_vec());
        assert!(!bundle.pem.contains('#'), "comments are dropped");
        assert_eq!(
            read_ca_bundle(bundle.pem.as_bytes()).expect("stored form reads back"),
            bundle
        );
        assert!(bundle.describe().starts_with("Corp Root CA (valid until "));
        assert!(bundle.describe().ends_with("and 1 more"));
        assert!(bundle.summaries[0].is_ca);
    }

    #[test]
    fn a_der_file_is_accepted_as_pem() {
        let (root, _) = ca("Corp Root CA");
        let bundle = read_ca_bundle(root.der()).expect("DER reads");
        assert_eq!(bundle.pem, root.pem().replace("\r\n", "\n"));
    }

    #[test]
    fn keys_leaves_expired_and_garbage_are_refused_with_the_reason() {
        let (root, root_key) = ca("Corp Root CA");
        let with_key = format!("{}{}", root.pem(), root_key.serialize_pem());
        let refused = read_ca_bundle(with_key.as_bytes()).expect_err("a key is refused");
        assert!(refused.contains("private key"), "{refused}");

        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["gateway.corp".to_owned()])
            .expect("params")
            .signed_by(&leaf_key, &root, &root_key)
            .expect("leaf");
        let refused = read_ca_bundle(leaf.pem().as_bytes()).expect_err("a leaf is refused");
        assert!(
            refused.contains("add the certificate of “Corp Root CA”"),
            "{refused}"
        );

        let mut short = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        short.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        short.not_after = OffsetDateTime::now_utc() + time::Duration::days(1);
        let short = short
            .self_signed(&rcgen::KeyPair::generate().expect("key"))
            .expect("short-lived CA");
        let later = OffsetDateTime::now_utc() + time::Duration::days(2);
        assert!(
            read_ca_bundle(short.pem().as_bytes()).is_ok(),
            "valid today"
        );
        let refused = read_ca_bundle_at(short.pem().as_bytes(), later).expect_err("expired");
        assert!(refused.contains("expired on"), "{refused}");

        for garbage in [
            &b"hello"[..],
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert!(read_ca_bundle(garbage).is_err());
        }
    }

    #[test]
    fn a_self_signed_server_certificate_is_its_own_anchor() {
        let certified =
            rcgen::generate_simple_self_signed(vec!["gpu.local".to_owned()]).expect("cert");
        let bundle = read_ca_bundle(certified.cert.pem().as_bytes()).expect("accepted");
        assert!(bundle.summaries[0].self_signed);
        assert_eq!(bundle.summaries[0].names, vec!["gpu.local".to_owned()]);
    }
}
