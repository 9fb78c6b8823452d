//! Connections go only to checked addresses: DNS rebinding, redirects.
//!
//! The forbidden address used here is `0.0.0.0` (unspecified: denied under
//! every allowance). On Linux a connection to it lands on loopback, so if
//! the client ever connected to it, a loopback server on the same port would
//! see the connection: the tests below have such a witness server and assert
//! it saw nothing. No test sends a packet off this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use patchbay_core::ApiKey;
use patchbay_net::probe::{run_test, StageStatus};
use patchbay_net::{fetch_models, Stage};

use crate::support::*;

const UNSPECIFIED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn failure(report: &patchbay_net::TestReport, stage: Stage) -> Option<patchbay_net::Failure> {
    report.stage(stage).and_then(|stage| stage.failure.clone())
}

#[tokio::test]
async fn dns_rebinding_a_forbidden_answer_after_the_check_is_never_connected() -> TestResult {
    // The witness listens on 127.0.0.1:P; the first server on 127.0.0.2:P. The
    // lookup answers 127.0.0.2 (allowed under `local`) at check time and
    // 0.0.0.0 on every later call. The first server closes its connection
    // after /models, so the chat probe must connect again.
    let witness = Server::http(handler(|_| Canned::json(200, models_body(&["witness"])))).await?;
    let port = witness.port();
    let first = Server::http_on(
        SocketAddr::from(([127, 0, 0, 2], port)),
        handler(|_| Canned::json(200, models_body(&["m"])).header("connection", "close")),
    )
    .await?;
    let lookup = ScriptedLookup::new(vec![
        vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))],
        vec![UNSPECIFIED],
    ]);
    let target = local_target(first.named_url("/v1")?);
    let mut options = options(lookup.clone());
    options.chat_model = Some("m".into());
    let report = run_test(&client()?, &target, &options, &quiet).await;

    assert_eq!(
        report.stage(Stage::Models).map(|stage| stage.status),
        Some(StageStatus::Ok),
        "{report:#?}"
    );
    assert_eq!(
        report
            .stage(Stage::TcpConnect)
            .map(|stage| stage.detail.clone()),
        Some(format!("connected to 127.0.0.2:{port}"))
    );
    let chat = failure(&report, Stage::Chat).ok_or("the chat probe should fail")?;
    assert_eq!(chat.kind.as_str(), "policy_denied");
    assert_eq!(chat.reason.as_deref(), Some("resolved_to_forbidden"));
    assert_eq!(
        lookup.calls(),
        2,
        "the reconnect resolved again and judged the new answer"
    );
    assert_eq!(first.connections(), 1);
    assert_eq!(
        first.local_addresses(),
        vec![SocketAddr::from(([127, 0, 0, 2], port))]
    );
    assert_eq!(
        witness.connections(),
        0,
        "nothing connected to the forbidden answer"
    );
    Ok(())
}

#[tokio::test]
async fn an_answer_mixing_forbidden_and_allowed_addresses_is_denied_outright() -> TestResult {
    let witness = Server::http(handler(|_| Canned::json(200, models_body(&["m"])))).await?;
    let lookup = ScriptedLookup::new(vec![vec![UNSPECIFIED, loopback()]]);
    let target = local_target(witness.named_url("/v1")?);
    let report = run_test(&client()?, &target, &options(lookup.clone()), &quiet).await;
    let dns = failure(&report, Stage::Dns).ok_or("the DNS stage should fail")?;
    assert_eq!(dns.kind.as_str(), "policy_denied");
    assert_eq!(dns.reason.as_deref(), Some("resolved_to_forbidden"));
    assert!(dns.message.contains("0.0.0.0"), "{}", dns.message);
    assert_eq!(
        report.stage(Stage::TcpConnect).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    assert_eq!(lookup.calls(), 1);
    assert_eq!(witness.connections(), 0);
    Ok(())
}

#[tokio::test]
async fn connection_goes_to_the_checked_address_only_and_resolves_once() -> TestResult {
    let server = Server::http_on(
        SocketAddr::from(([127, 0, 0, 3], 0)),
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["m"])),
            _ => Canned::events(&[r#"{"choices":[{"delta":{"content":"O"}}]}"#]),
        }),
    )
    .await?;
    // Later answers would point elsewhere; a kept-alive connection never asks.
    let lookup = ScriptedLookup::new(vec![
        vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))],
        vec![UNSPECIFIED],
    ]);
    let target = local_target(server.named_url("/v1")?);
    let mut options = options(lookup.clone());
    options.chat_model = Some("m".into());
    let report = run_test(&client()?, &target, &options, &quiet).await;
    assert!(report.ok, "{report:#?}");
    assert_eq!(lookup.calls(), 1);
    assert_eq!(server.local_addresses(), vec![server.address]);
    let dns = report
        .stage(Stage::Dns)
        .map(|stage| stage.detail.clone())
        .unwrap_or_default();
    assert!(dns.contains("127.0.0.3"), "{dns}");
    // The Host header carries the name, not the address.
    assert_eq!(
        server.seen()[0].header("host"),
        Some(format!("{TEST_HOST}:{}", server.port()).as_str())
    );
    Ok(())
}

#[tokio::test]
async fn ip_literal_hosts_never_reach_the_resolver() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["m"])))).await?;
    let lookup = Arc::new(NoLookup::default());
    let target = local_target(server.url("/v1")?);
    let report = run_test(&client()?, &target, &options(lookup.clone()), &quiet).await;
    assert!(report.ok);
    assert_eq!(lookup.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        report.stage(Stage::Dns).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    Ok(())
}

#[tokio::test]
async fn a_redirect_to_a_forbidden_address_is_refused() -> TestResult {
    let witness = Server::http(handler(|_| Canned::json(200, models_body(&["witness"])))).await?;
    let port = witness.port();
    let redirecting = Server::http(handler(move |_| {
        Canned::json(302, "{}").header("location", &format!("http://0.0.0.0:{port}/v1/models"))
    }))
    .await?;
    let target = local_target(redirecting.url("/v1")?);
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let models = failure(&report, Stage::Models).ok_or("models should fail")?;
    assert_eq!(models.kind.as_str(), "policy_denied");
    assert!(
        models.message.starts_with(&format!(
            "The endpoint redirected to http://0.0.0.0:{port}/v1/models"
        )),
        "{}",
        models.message
    );
    assert_eq!(witness.connections(), 0);

    // The metadata address is refused by the policy before any connection;
    // 169.254.169.254 is never contacted.
    let metadata = Server::http(handler(|_| {
        Canned::json(307, "{}").header("location", "http://169.254.169.254/latest/meta-data/")
    }))
    .await?;
    let report = run_test(
        &client()?,
        &local_target(metadata.url("/v1")?),
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let models = failure(&report, Stage::Models).ok_or("models should fail")?;
    assert_eq!(
        (models.kind.as_str(), models.reason.as_deref()),
        ("policy_denied", Some("metadata"))
    );
    Ok(())
}

#[tokio::test]
async fn a_cross_origin_redirect_carries_neither_authorization_nor_custom_headers() -> TestResult {
    let destination = Server::http(handler(|_| {
        Canned::json(200, models_body(&["from-second-origin"]))
    }))
    .await?;
    let location = destination.url("/v1/models")?.to_string();
    let origin = Server::http(handler(move |_| {
        Canned::json(301, "{}").header("location", &location)
    }))
    .await?;
    let mut target = with_key(local_target(origin.url("/v1")?), CANARY_KEY);
    target.headers = vec![
        ("X-Api-Key".into(), ApiKey::new("custom-secret-value-0042")),
        ("HTTP-Referer".into(), ApiKey::new("https://app.example")),
    ];
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    assert!(report.ok, "{report:#?}");
    assert_eq!(
        report.models.first().map(|model| model.id.as_str()),
        Some("from-second-origin")
    );
    assert_eq!(
        report.redirects,
        vec![format!("http://{}/v1/models", destination.address)]
    );

    let first = origin.seen();
    assert_eq!(
        first[0].header("authorization"),
        Some(format!("Bearer {CANARY_KEY}").as_str())
    );
    assert_eq!(
        first[0].header("x-api-key"),
        Some("custom-secret-value-0042")
    );
    let second = destination.seen();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].header("authorization"), None);
    assert_eq!(second[0].header("x-api-key"), None);
    assert_eq!(second[0].header("http-referer"), None);
    Ok(())
}

#[tokio::test]
async fn a_same_origin_redirect_keeps_the_credentials() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(308, "{}").header("location", "/v1/models/"),
        _ => Canned::json(200, models_body(&["m"])),
    }))
    .await?;
    let target = with_key(local_target(server.url("/v1")?), CANARY_KEY);
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    assert!(report.ok, "{report:#?}");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path, "/v1/models/");
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {CANARY_KEY}").as_str())
    );
    Ok(())
}

#[tokio::test]
async fn redirect_loops_stop_after_three_hops() -> TestResult {
    let server = Server::http(handler(|seen| {
        let hop: u32 = seen.path.trim_start_matches("/hop").parse().unwrap_or(0);
        Canned::json(302, "{}").header("location", &format!("/hop{}", hop + 1))
    }))
    .await?;
    let target = local_target(server.url("/v1")?);
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let models = failure(&report, Stage::Models).ok_or("models should fail")?;
    assert_eq!(models.kind.as_str(), "redirect");
    assert!(models.message.contains("too many"), "{}", models.message);
    assert_eq!(
        server.seen().len(),
        4,
        "the first request and three followed hops"
    );
    Ok(())
}

#[tokio::test]
async fn a_post_redirect_that_would_change_the_method_is_reported() -> TestResult {
    let server = Server::http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["m"])),
        _ => Canned::json(302, "{}").header("location", "/elsewhere?token=secret-in-query"),
    }))
    .await?;
    let target = local_target(server.url("/v1")?);
    let mut options = options(Arc::new(NoLookup::default()));
    options.chat_model = Some("m".into());
    let report = run_test(&client()?, &target, &options, &quiet).await;
    let chat = failure(&report, Stage::Chat).ok_or("chat should fail")?;
    assert_eq!(chat.kind.as_str(), "redirect");
    assert!(
        chat.message
            .contains(&format!("http://{}/elsewhere", server.address)),
        "{}",
        chat.message
    );
    assert!(
        !chat.message.contains("secret-in-query"),
        "queries are not shown"
    );
    Ok(())
}

#[tokio::test]
async fn fetch_models_goes_through_the_same_policy() -> TestResult {
    let witness = Server::http(handler(|_| Canned::json(200, models_body(&["m"])))).await?;
    let lookup = ScriptedLookup::new(vec![vec![UNSPECIFIED]]);
    let target = local_target(witness.named_url("/v1")?);
    let outcome = fetch_models(&client()?, &target, lookup.as_ref()).await;
    let error = outcome.err().ok_or("fetch should be refused")?;
    assert_eq!(error.kind().as_str(), "policy_denied");
    assert_eq!(witness.connections(), 0);

    let lookup = ScriptedLookup::new(vec![vec![loopback()]]);
    let models = fetch_models(&client()?, &target, lookup.as_ref()).await?;
    assert_eq!(models.len(), 1);
    Ok(())
}

#[tokio::test]
async fn ipv6_loopback_literals_connect_without_a_lookup() -> TestResult {
    let server = Server::http_on(
        "[::1]:0".parse()?,
        handler(|_| Canned::json(200, models_body(&["v6"]))),
    )
    .await?;
    let lookup = Arc::new(NoLookup::default());
    let target = local_target(url::Url::parse(&format!(
        "http://[::1]:{}/v1",
        server.port()
    ))?);
    let report = run_test(&client()?, &target, &options(lookup.clone()), &quiet).await;
    assert!(report.ok, "{report:#?}");
    assert_eq!(
        server.seen()[0].header("host"),
        Some(format!("[::1]:{}", server.port()).as_str())
    );
    assert_eq!(lookup.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    Ok(())
}

#[tokio::test]
async fn custom_headers_cannot_replace_the_ones_patchbay_sets() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["m"])))).await?;
    let mut target = local_target(server.url("/v1")?);
    target.headers = vec![("Host".into(), ApiKey::new("evil.example"))];
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let models = failure(&report, Stage::Models).ok_or("models should fail")?;
    assert_eq!(models.kind.as_str(), "invalid_request");
    assert!(server.seen().is_empty());
    Ok(())
}
