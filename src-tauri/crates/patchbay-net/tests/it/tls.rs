//! TLS: self-signed certificates fail with their fingerprint and pass once
//! that fingerprint is trusted; CA-signed ones verify; wrong names and
//! expired certificates fail as `tls`.

use patchbay_net::probe::{run_test, StageStatus, TestReport};
use patchbay_net::Stage;

use crate::support::*;

async fn test_https(
    server: &Server,
    trusted: Option<&str>,
    extra_root: Option<Vec<u8>>,
) -> TestResult<TestReport> {
    let mut target = local_target(server.named_url("/v1")?);
    target.trusted_cert_sha256 = trusted.map(str::to_owned);
    let client =
        client_with(|options| options.extra_root_certificates = extra_root.into_iter().collect())?;
    Ok(run_test(
        &client,
        &target,
        &options(ScriptedLookup::new(vec![vec![loopback()]])),
        &quiet,
    )
    .await)
}

fn tls_failure(report: &TestReport) -> Option<patchbay_net::Failure> {
    report
        .stage(Stage::Tls)
        .and_then(|stage| stage.failure.clone())
}

#[tokio::test]
async fn self_signed_fails_with_the_fingerprint_then_passes_when_trusted() -> TestResult {
    let identity = self_signed(&[TEST_HOST])?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["secure-model"]))),
        identity.server.clone(),
    )
    .await?;

    let report = test_https(&server, None, None).await?;
    let failure = tls_failure(&report).ok_or("TLS should fail")?;
    assert_eq!(failure.kind.as_str(), "tls_untrusted");
    assert_eq!(failure.reason.as_deref(), Some("self_signed"));
    assert!(
        failure
            .message
            .contains("presented a self-signed certificate"),
        "{}",
        failure.message
    );
    let certificate = report.certificate.clone().ok_or("described")?;
    assert!(certificate.self_signed);
    assert_eq!(certificate.names, vec![TEST_HOST.to_owned()]);
    assert_eq!(
        report.certificate_sha256.as_deref(),
        Some(identity.fingerprint.as_str())
    );
    assert!(
        failure.hint.contains(&identity.fingerprint),
        "{}",
        failure.hint
    );
    assert!(
        failure.hint.contains("Trust this certificate"),
        "{}",
        failure.hint
    );
    assert_eq!(
        report.stage(Stage::Models).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    assert!(
        server.seen().is_empty(),
        "no request goes over an unverified connection"
    );

    let report = test_https(&server, Some(&identity.fingerprint), None).await?;
    assert!(report.ok, "{report:#?}");
    let detail = report
        .stage(Stage::Tls)
        .map(|stage| stage.detail.clone())
        .unwrap_or_default();
    assert!(detail.contains("trusted by its fingerprint"), "{detail}");
    assert_eq!(
        report.models.first().map(|model| model.id.as_str()),
        Some("secure-model")
    );

    // Colons and upper case, as fingerprints are often shown, work too.
    let shown: Vec<String> = identity
        .fingerprint
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect();
    let report = test_https(&server, Some(&shown.join(":")), None).await?;
    assert!(report.ok);
    Ok(())
}

#[tokio::test]
async fn trusting_one_fingerprint_does_not_trust_another_certificate() -> TestResult {
    let trusted = self_signed(&[TEST_HOST])?;
    let other = self_signed(&[TEST_HOST])?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["m"]))),
        other.server.clone(),
    )
    .await?;
    let report = test_https(&server, Some(&trusted.fingerprint), None).await?;
    assert_eq!(
        tls_failure(&report)
            .map(|failure| failure.kind.as_str().to_owned())
            .as_deref(),
        Some("tls_untrusted")
    );
    assert_eq!(
        report.certificate_sha256.as_deref(),
        Some(other.fingerprint.as_str())
    );
    Ok(())
}

#[tokio::test]
async fn a_ca_signed_certificate_verifies_normally() -> TestResult {
    let identity = ca_signed(&[TEST_HOST], false)?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["m"]))),
        identity.server.clone(),
    )
    .await?;
    let report = test_https(&server, None, identity.ca_der.clone()).await?;
    assert!(report.ok, "{report:#?}");
    let detail = report
        .stage(Stage::Tls)
        .map(|stage| stage.detail.clone())
        .unwrap_or_default();
    assert!(
        detail.starts_with("TLSv1.3, certificate verified"),
        "{detail}"
    );
    Ok(())
}

#[tokio::test]
async fn a_certificate_for_another_name_fails_as_tls() -> TestResult {
    let identity = ca_signed(&["some-other-host.test"], false)?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["m"]))),
        identity.server.clone(),
    )
    .await?;
    let report = test_https(&server, None, identity.ca_der.clone()).await?;
    let failure = tls_failure(&report).ok_or("TLS should fail")?;
    assert_eq!(failure.kind.as_str(), "tls");
    assert_eq!(failure.reason.as_deref(), Some("wrong_host"));
    assert!(
        failure.message.contains(&format!(
            "is issued for some-other-host.test, not for {TEST_HOST}"
        )),
        "{}",
        failure.message
    );
    assert!(
        failure
            .hint
            .contains("host name the certificate is issued for"),
        "{}",
        failure.hint
    );
    Ok(())
}

#[tokio::test]
async fn an_expired_certificate_fails_as_tls() -> TestResult {
    let identity = ca_signed(&[TEST_HOST], true)?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["m"]))),
        identity.server.clone(),
    )
    .await?;
    let report = test_https(&server, None, identity.ca_der.clone()).await?;
    let failure = tls_failure(&report).ok_or("TLS should fail")?;
    assert_eq!(failure.kind.as_str(), "tls");
    assert_eq!(failure.reason.as_deref(), Some("expired"));
    assert!(
        failure.message.contains("expired on "),
        "{}",
        failure.message
    );
    assert!(failure.hint.contains("must be renewed"), "{}", failure.hint);
    let certificate = report.certificate.ok_or("the certificate is described")?;
    assert_eq!(certificate.issuer, "Patchbay Test CA");
    Ok(())
}

#[tokio::test]
async fn plain_http_on_a_tls_url_says_so() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["m"])))).await?;
    let target = local_target(url::Url::parse(&format!("https://{}/v1", server.address))?);
    let report = run_test(
        &client()?,
        &target,
        &options(std::sync::Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let failure = tls_failure(&report).ok_or("TLS should fail")?;
    assert_eq!(failure.kind.as_str(), "tls");
    assert!(
        failure.message.contains("does not speak TLS"),
        "{}",
        failure.message
    );
    Ok(())
}

/// A target for `server` trusting `cas` (DER) as the provider's own CAs,
/// with a client that does not read the system's trust store.
async fn test_with_provider_cas(
    server: &Server,
    cas: Vec<Vec<u8>>,
    pinned: Option<&str>,
) -> TestResult<TestReport> {
    let mut target = local_target(server.named_url("/v1")?);
    target.ca_certificates = cas;
    target.trusted_cert_sha256 = pinned.map(str::to_owned);
    let client = client_with(|options| options.system_roots = false)?;
    Ok(run_test(
        &client,
        &target,
        &options(ScriptedLookup::new(vec![vec![loopback()]])),
        &quiet,
    )
    .await)
}

#[tokio::test]
async fn a_company_ca_is_named_when_unknown_and_trusted_once_added_to_the_provider() -> TestResult {
    let company = TestCa::new("Example Corp Internal Root CA")?;
    let leaf = company.issue(&[TEST_HOST])?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["gateway-model"]))),
        leaf.server.clone(),
    )
    .await?;

    let report = test_with_provider_cas(&server, Vec::new(), None).await?;
    let failure = tls_failure(&report).ok_or("TLS should fail")?;
    assert_eq!(failure.kind.as_str(), "tls_untrusted");
    assert_eq!(failure.reason.as_deref(), Some("unknown_issuer"));
    assert!(
        failure
            .message
            .contains("is issued by “Example Corp Internal Root CA”, an authority this computer does not trust"),
        "{}",
        failure.message
    );
    assert!(
        failure.hint.contains("add its CA certificate"),
        "{}",
        failure.hint
    );
    let certificate = report.certificate.clone().ok_or("described")?;
    assert_eq!(certificate.issuer, "Example Corp Internal Root CA");
    assert!(!certificate.self_signed);
    assert!(!certificate.not_after.is_empty());

    let report = test_with_provider_cas(&server, vec![company.der()], None).await?;
    assert!(report.ok, "{report:#?}");
    let detail = report
        .stage(Stage::Tls)
        .map(|stage| stage.detail.clone())
        .unwrap_or_default();
    assert!(
        detail.contains("issued by “Example Corp Internal Root CA”"),
        "{detail}"
    );

    // Another CA's certificate does not vouch for this one.
    let other = TestCa::new("Somebody Else CA")?;
    let report = test_with_provider_cas(&server, vec![other.der()], None).await?;
    assert_eq!(
        tls_failure(&report).and_then(|failure| failure.reason),
        Some("unknown_issuer".to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn a_rotated_leaf_under_the_same_ca_still_passes_unlike_a_pin() -> TestResult {
    let company = TestCa::new("Example Corp Internal Root CA")?;
    let first = company.issue(&[TEST_HOST])?;
    let rotated = company.issue(&[TEST_HOST])?;
    assert_ne!(first.fingerprint, rotated.fingerprint);
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["m"]))),
        rotated.server.clone(),
    )
    .await?;
    let report = test_with_provider_cas(&server, vec![company.der()], None).await?;
    assert!(
        report.ok,
        "the CA still vouches for the new leaf: {report:#?}"
    );
    let report = test_with_provider_cas(&server, Vec::new(), Some(&first.fingerprint)).await?;
    assert_eq!(
        tls_failure(&report).map(|failure| failure.kind.as_str().to_owned()),
        Some("tls_untrusted".to_owned()),
        "a pin of the old leaf breaks at rotation"
    );
    Ok(())
}
