//! TLS for provider connections: the verifier that also accepts a
//! provider's trusted self-signed certificate, and what a failed handshake
//! means for a person.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::NetError;

/// Verifies normally, except that a leaf whose SHA-256 equals the provider's
/// trusted fingerprint is accepted as is (the user compared and chose to
/// trust exactly that certificate, for that provider only). Records the
/// presented leaf's fingerprint either way.
#[derive(Debug)]
pub(crate) struct FingerprintVerifier {
    inner: Arc<WebPkiServerVerifier>,
    trusted: Option<[u8; 32]>,
    presented: Arc<Mutex<Option<String>>>,
}

impl FingerprintVerifier {
    pub(crate) fn new(
        inner: Arc<WebPkiServerVerifier>,
        trusted: Option<[u8; 32]>,
        presented: Arc<Mutex<Option<String>>>,
    ) -> Self {
        Self {
            inner,
            trusted,
            presented,
        }
    }
}

impl ServerCertVerifier for FingerprintVerifier {
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
            Ok(mut slot) => *slot = Some(hex::encode(fingerprint)),
            Err(_poisoned) => {
                tracing::warn!("certificate fingerprint slot poisoned; the report will lack it")
            }
        }
        if self.trusted == Some(fingerprint) {
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
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

/// Maps a failed handshake to `tls` or `tls_untrusted`.
pub(crate) fn tls_failure(
    host: &str,
    error: &std::io::Error,
    certificate_sha256: Option<String>,
) -> NetError {
    let inner = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let host = host.to_owned();
    let detail = match inner {
        Some(rustls::Error::InvalidCertificate(problem)) => match problem {
            CertificateError::UnknownIssuer => {
                return NetError::TlsUntrusted {
                    host,
                    detail: "self-signed or signed by an unknown authority".to_owned(),
                    certificate_sha256,
                };
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the certificate is not valid yet (check this computer's clock)".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("the certificate is not issued for {host}")
            }
            CertificateError::Revoked => "the certificate was revoked".to_owned(),
            CertificateError::BadSignature => "the certificate's signature is invalid".to_owned(),
            other => format!("the certificate is not valid ({other:?})"),
        },
        Some(rustls::Error::InvalidMessage(_))
        | Some(rustls::Error::InappropriateMessage { .. }) => {
            "the server does not speak TLS on this port (is it plain http?)".to_owned()
        }
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server refused the handshake ({alert:?})")
        }
        Some(rustls::Error::NoCertificatesPresented) => {
            "the server presented no certificate".to_owned()
        }
        Some(other) => format!("{other}"),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_owned()
        }
        None => error.to_string(),
    };
    NetError::Tls {
        host,
        detail,
        certificate_sha256,
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
