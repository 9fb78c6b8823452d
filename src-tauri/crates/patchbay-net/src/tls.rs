//! TLS for provider connections: the verifier that also accepts a
//! provider's own CA certificates and its trusted self-signed certificate,
//! and what a failed handshake means for a person.

use std::sync::{Arc, Mutex};

use patchbay_core::certificates::CertificateSummary;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{NetError, TlsProblem};

/// The certificate a server presented: its SHA-256 and DER, kept for a
/// failure report (parsed only then).
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    pub(crate) sha256: String,
    pub(crate) der: Vec<u8>,
}

impl Presented {
    pub(crate) fn summary(&self) -> Box<CertificateSummary> {
        Box::new(
            CertificateSummary::of_der(&self.der).unwrap_or_else(|| CertificateSummary {
                subject: "(unreadable certificate)".to_owned(),
                issuer: "(unknown)".to_owned(),
                not_before: String::new(),
                not_after: String::new(),
                names: Vec::new(),
                self_signed: false,
                is_ca: false,
                sha256: self.sha256.clone(),
            }),
        )
    }
}

/// Where a verifier records the presented certificate.
pub(crate) type PresentedSlot = Arc<Mutex<Option<Presented>>>;

/// Verifies with the shared roots (the system's trust store and the bundled
/// Mozilla roots); a chain they do not know is tried again against the
/// provider's own CA certificates, when it has some; a leaf whose SHA-256
/// equals the provider's trusted fingerprint is accepted as is (the person
/// compared and chose to trust exactly that certificate, for that provider
/// only). Records the presented leaf either way.
#[derive(Debug)]
pub(crate) struct ProviderVerifier {
    inner: Arc<WebPkiServerVerifier>,
    provider_roots: Option<Arc<WebPkiServerVerifier>>,
    trusted: Option<[u8; 32]>,
    presented: PresentedSlot,
}

impl ProviderVerifier {
    pub(crate) fn new(
        inner: Arc<WebPkiServerVerifier>,
        provider_roots: Option<Arc<WebPkiServerVerifier>>,
        trusted: Option<[u8; 32]>,
        presented: PresentedSlot,
    ) -> Self {
        Self {
            inner,
            provider_roots,
            trusted,
            presented,
        }
    }
}

impl ServerCertVerifier for ProviderVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        match self.presented.lock() {
            Ok(mut slot) => {
                *slot = Some(Presented {
                    sha256: hex::encode(fingerprint),
                    der: end_entity.as_ref().to_vec(),
                })
            }
            Err(_poisoned) => {
                tracing::warn!("presented-certificate slot poisoned; the report will lack it")
            }
        }
        if self.trusted == Some(fingerprint) {
            return Ok(ServerCertVerified::assertion());
        }
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match (&verdict, &self.provider_roots) {
            (
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
                Some(provider_roots),
            ) => provider_roots.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            _ => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Parses a stored fingerprint: 64 hex digits, separators (`:`, spaces) and
/// case ignored.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
    if digits.len() != 64
        || text.chars().any(|character| {
            !(character.is_ascii_hexdigit() || character == ':' || character.is_whitespace())
        })
    {
        return None;
    }
    let bytes = hex::decode(digits.to_ascii_lowercase()).ok()?;
    bytes.try_into().ok()
}

/// Maps a failed handshake to `tls` or `tls_untrusted`, naming the
/// certificate problem and describing the presented certificate.
pub(crate) fn tls_failure(
    host: &str,
    error: &std::io::Error,
    presented: Option<&Presented>,
) -> NetError {
    let inner = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let host = host.trim_end_matches('.').to_owned();
    let certificate = presented.map(Presented::summary);
    let (problem, detail) = match inner {
        Some(rustls::Error::InvalidCertificate(problem)) => match problem {
            CertificateError::UnknownIssuer => {
                let self_signed = certificate.as_ref().is_some_and(|c| c.self_signed);
                return NetError::TlsUntrusted {
                    host,
                    problem: if self_signed {
                        TlsProblem::SelfSigned
                    } else {
                        TlsProblem::UnknownIssuer
                    },
                    certificate,
                };
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                TlsProblem::Expired,
                match &certificate {
                    Some(c) => format!("its certificate (“{}”) expired on {}", c.subject, c.valid_until()),
                    None => "its certificate has expired".to_owned(),
                },
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                TlsProblem::NotYetValid,
                match &certificate {
                    Some(c) => format!(
                        "its certificate (“{}”) is not valid before {} (check this computer's clock)",
                        c.subject,
                        c.not_before.get(..10).unwrap_or(&c.not_before)
                    ),
                    None => "its certificate is not valid yet (check this computer's clock)".to_owned(),
                },
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
                TlsProblem::WrongHost,
                match certificate.as_ref().filter(|c| !c.names.is_empty()) {
                    Some(c) => format!(
                        "its certificate is issued for {}, not for {host}",
                        c.names.join(", ")
                    ),
                    None => format!("its certificate is not issued for {host}"),
                },
            ),
            CertificateError::Revoked => (TlsProblem::Revoked, "its certificate was revoked".to_owned()),
            CertificateError::BadSignature => (
                TlsProblem::BadSignature,
                "its certificate's signature is invalid".to_owned(),
            ),
            other => (TlsProblem::Other, format!("its certificate is not valid ({other:?})")),
        },
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => (
            TlsProblem::NotTls,
            "the server does not speak TLS on this port (is it plain http?)".to_owned(),
        ),
        Some(rustls::Error::AlertReceived(alert)) => (
            TlsProblem::Other,
            format!("the server refused the handshake ({alert:?})"),
        ),
        Some(rustls::Error::NoCertificatesPresented) => (
            TlsProblem::Other,
            "the server presented no certificate".to_owned(),
        ),
        Some(other) => (TlsProblem::Other, format!("{other}")),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => (
            TlsProblem::Other,
            "the server closed the connection during the handshake".to_owned(),
        ),
        None => (TlsProblem::Other, error.to_string()),
    };
    NetError::Tls {
        host,
        problem,
        detail,
        certificate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_forms_people_paste() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&plain), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&colons), Some([0xab; 32]));
        assert_eq!(parse_fingerprint(&"ab".repeat(31)), None, "too short");
        assert_eq!(parse_fingerprint(&format!("{plain}zz")), None, "not hex");
        assert_eq!(parse_fingerprint(""), None);
    }
}
