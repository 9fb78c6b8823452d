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
    assert!(
        failure
            .message
            .contains(&format!("not issued for {TEST_HOST}")),
        "{}",
        failure.message
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
    assert!(failure.message.contains("expired"), "{}", failure.message);
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
