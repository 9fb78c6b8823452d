//! TLS identities for the test servers, generated per test with `rcgen`:
//! self-signed, or signed by a fresh CA (optionally expired).

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::TestResult;

/// A certificate and key for a TLS server.
#[derive(Debug)]
pub struct Identity {
    pub server: Arc<rustls::ServerConfig>,
    pub fingerprint: String,
    /// The issuing CA's certificate (DER), when CA-signed.
    pub ca_der: Option<Vec<u8>>,
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
) -> TestResult<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// A self-signed certificate for `names`.
pub fn self_signed(names: &[&str]) -> TestResult<Identity> {
    let certified = rcgen::generate_simple_self_signed(
        names
            .iter()
            .map(|name| (*name).to_owned())
            .collect::<Vec<_>>(),
    )?;
    let der = certified.cert.der().to_vec();
    let server = server_config(
        vec![CertificateDer::from(der.clone())],
        certified.key_pair.serialize_der(),
    )?;
    Ok(Identity {
        server,
        fingerprint: fingerprint(&der),
        ca_der: None,
    })
}

/// A certificate authority that issues leaves: an organisation's internal
/// CA, whose leaves rotate while the CA stays.
pub struct TestCa {
    certificate: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A fresh CA whose common name is `name`.
    pub fn new(name: &str) -> TestResult<Self> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate()?;
        let certificate = params.self_signed(&key)?;
        Ok(Self { certificate, key })
    }

    /// The CA certificate as PEM (what a person is handed).
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    pub fn der(&self) -> Vec<u8> {
        self.certificate.der().to_vec()
    }

    /// A new leaf for `names` (each call a new key and certificate).
    pub fn issue(&self, names: &[&str]) -> TestResult<Identity> {
        self.issue_valid(names, true)
    }

    /// A leaf that is valid now (`current`) or expired yesterday.
    fn issue_valid(&self, names: &[&str], current: bool) -> TestResult<Identity> {
        let mut params = rcgen::CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )?;
        if !current {
            params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
            params.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
        let leaf_key = rcgen::KeyPair::generate()?;
        let leaf = params.signed_by(&leaf_key, &self.certificate, &self.key)?;
        let der = leaf.der().to_vec();
        let server = server_config(
            vec![CertificateDer::from(der.clone())],
            leaf_key.serialize_der(),
        )?;
        Ok(Identity {
            server,
            fingerprint: fingerprint(&der),
            ca_der: Some(self.der()),
        })
    }
}

/// A leaf for `names` signed by a fresh CA; `expired` backdates it.
pub fn ca_signed(names: &[&str], expired: bool) -> TestResult<Identity> {
    TestCa::new("Patchbay Test CA")?.issue_valid(names, !expired)
}
