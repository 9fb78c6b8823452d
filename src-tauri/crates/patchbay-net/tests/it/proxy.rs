//! Per-provider proxies: the test kit's recording proxy on 127.0.0.1 tunnels
//! `CONNECT` to a local TLS server and forwards absolute-form http requests.
//! The target's name is never resolved by the client (the proxy does that);
//! the proxy's own address is judged like any destination; loopback
//! destinations bypass the proxy; a 407 or a refused connection is a
//! `proxy` failure; system proxy variables are ignored.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use patchbay_core::NetworkAllowance;
use patchbay_net::policy::Lookup;
use patchbay_net::probe::{run_test, StageStatus, Target, TestReport};
use patchbay_net::{fetch_models, Stage};
use patchbay_testkit::{Proxy, ProxyMode};
use tokio::net::TcpListener;
use url::Url;

use crate::support::*;

const PROXIED_HOST: &str = "api.proxied.test";

/// A resolver with a fixed table that records every name it is asked for.
#[derive(Debug, Default)]
struct NamedLookup {
    table: HashMap<String, Vec<IpAddr>>,
    asked: Mutex<Vec<String>>,
}

impl NamedLookup {
    fn new(entries: &[(&str, IpAddr)]) -> Arc<Self> {
        Arc::new(Self {
            table: entries
                .iter()
                .map(|(name, address)| ((*name).to_owned(), vec![*address]))
                .collect(),
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }
}

impl Lookup for NamedLookup {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(host.to_owned());
        }
        let answer = self.table.get(host).cloned().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no such name in the test table")
        });
        Box::pin(async move { answer })
    }
}

fn proxied_target(base: &str, proxy: &Url, network: NetworkAllowance) -> TestResult<Target> {
    let mut target = Target::new(Url::parse(base)?, network);
    target.proxy = Some(proxy.clone());
    Ok(target)
}

async fn run(target: &Target, lookup: Arc<dyn Lookup>) -> TestResult<TestReport> {
    Ok(run_test(&client()?, target, &options(lookup), &quiet).await)
}

fn detail(report: &TestReport, stage: Stage) -> String {
    report
        .stage(stage)
        .map(|stage| stage.detail.clone())
        .unwrap_or_default()
}

fn failed_kind(report: &TestReport) -> Option<(Stage, String)> {
    report.failed_stage().map(|stage| {
        (
            stage.stage,
            stage
                .failure
                .as_ref()
                .map(|failure| failure.kind.as_str().to_owned())
                .unwrap_or_default(),
        )
    })
}

#[tokio::test]
async fn an_https_target_goes_through_a_connect_tunnel_and_is_never_resolved_here() -> TestResult {
    let identity = self_signed(&[PROXIED_HOST])?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["tunnelled-model"]))),
        identity.server.clone(),
    )
    .await?;
    let proxy = Proxy::start(
        ProxyMode::Forward,
        HashMap::from([(format!("{PROXIED_HOST}:443"), server.address)]),
    )
    .await?;
    // The proxy by name, so the lookup has something it must resolve.
    let proxy_url = Url::parse(&format!("http://proxy.corp.test:{}", proxy.address.port()))?;
    let lookup = NamedLookup::new(&[("proxy.corp.test", loopback())]);
    let mut target = proxied_target(
        &format!("https://{PROXIED_HOST}/v1"),
        &proxy_url,
        NetworkAllowance::Local,
    )?;
    target.trusted_cert_sha256 = Some(identity.fingerprint.clone());

    let report = run(&target, lookup.clone()).await?;
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.models_count, Some(1));
    assert_eq!(
        proxy.request_lines(),
        [format!("CONNECT {PROXIED_HOST}:443 HTTP/1.1")]
    );
    assert_eq!(
        lookup.asked(),
        ["proxy.corp.test"],
        "only the proxy is resolved here"
    );
    let url_policy = detail(&report, Stage::UrlPolicy);
    assert!(
        url_policy.contains("resolved by the proxy proxy.corp.test:"),
        "{url_policy}"
    );
    let dns = detail(&report, Stage::Dns);
    assert!(dns.contains("proxy.corp.test → 127.0.0.1"), "{dns}");
    assert!(
        dns.contains(&format!("{PROXIED_HOST} is resolved by the proxy")),
        "{dns}"
    );
    let tcp = detail(&report, Stage::TcpConnect);
    assert!(
        tcp.contains(&format!("tunnel to {PROXIED_HOST}:443")),
        "{tcp}"
    );
    assert!(detail(&report, Stage::Tls).contains("fingerprint"));
    assert_eq!(
        server
            .seen()
            .first()
            .and_then(|seen| seen.header("host").map(str::to_owned))
            .as_deref(),
        Some(PROXIED_HOST)
    );

    // Discovery takes the same route.
    let models = fetch_models(&client()?, &target, lookup.as_ref()).await?;
    assert_eq!(models.len(), 1);
    assert_eq!(proxy.request_lines().len(), 2);
    assert!(!lookup.asked().iter().any(|name| name == PROXIED_HOST));
    Ok(())
}

#[tokio::test]
async fn an_http_target_is_sent_to_the_proxy_in_absolute_form() -> TestResult {
    let server = Server::http(handler(|_| {
        Canned::json(200, models_body(&["plain-model"]))
    }))
    .await?;
    // A LAN address (the proxy maps it to the local test server).
    let proxy = Proxy::start(
        ProxyMode::Forward,
        HashMap::from([("10.20.30.40:8080".to_owned(), server.address)]),
    )
    .await?;
    let lookup = Arc::new(NoLookup::default());
    let target = proxied_target(
        "http://10.20.30.40:8080/v1",
        &proxy.url()?,
        NetworkAllowance::Private,
    )?;
    let report = run(&target, lookup.clone()).await?;
    assert!(report.ok, "{report:#?}");
    assert_eq!(
        proxy.request_lines(),
        ["GET http://10.20.30.40:8080/v1/models HTTP/1.1"]
    );
    assert_eq!(lookup.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    let seen = server.seen();
    assert_eq!(
        seen.first().map(|seen| seen.path.as_str()),
        Some("/v1/models")
    );
    assert_eq!(
        seen.first().and_then(|seen| seen.header("host")),
        Some("10.20.30.40:8080")
    );
    assert_eq!(
        report.stage(Stage::Tls).map(|stage| stage.status),
        Some(StageStatus::Skipped)
    );
    Ok(())
}

#[tokio::test]
async fn plain_http_to_a_name_through_a_proxy_is_refused_before_connecting() -> TestResult {
    let server = Server::http(handler(|_| {
        Canned::json(200, models_body(&["plain-model"]))
    }))
    .await?;
    let proxy = Proxy::start(
        ProxyMode::Forward,
        HashMap::from([("llm.proxied.test:8080".to_owned(), server.address)]),
    )
    .await?;
    let target = proxied_target(
        "http://llm.proxied.test:8080/v1",
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    let report = run(&target, Arc::new(NoLookup::default())).await?;
    let (stage, kind) = failed_kind(&report).unwrap_or((Stage::Chat, String::new()));
    assert_eq!(
        (stage, kind.as_str()),
        (Stage::UrlPolicy, "policy_denied"),
        "{report:#?}"
    );
    assert!(detail(&report, Stage::UrlPolicy).contains("clear text"));
    assert!(
        proxy.request_lines().is_empty(),
        "nothing reached the proxy"
    );
    assert!(server.seen().is_empty());
    Ok(())
}

#[tokio::test]
async fn loopback_targets_bypass_the_proxy() -> TestResult {
    let server = Server::http(handler(|_| Canned::json(200, models_body(&["local"])))).await?;
    let proxy = Proxy::start(ProxyMode::Forward, HashMap::new()).await?;
    let by_address = proxied_target(
        server.url("/v1")?.as_str(),
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    let report = run(&by_address, Arc::new(NoLookup::default())).await?;
    assert!(report.ok, "{report:#?}");

    let by_name = proxied_target(
        &format!("http://localhost:{}/v1", server.port()),
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    let lookup = NamedLookup::new(&[("localhost", loopback())]);
    let report = run(&by_name, lookup.clone()).await?;
    assert!(report.ok, "{report:#?}");
    assert_eq!(
        lookup.asked(),
        ["localhost"],
        "a loopback name is resolved and judged here"
    );

    assert!(
        proxy.request_lines().is_empty(),
        "{:?}",
        proxy.request_lines()
    );
    assert_eq!(server.seen().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_proxy_at_a_forbidden_address_is_refused_before_any_connection() -> TestResult {
    let lookup = NamedLookup::new(&[
        ("proxy.lan.test", IpAddr::from([10, 1, 2, 3])),
        (PROXIED_HOST, loopback()),
    ]);
    for (proxy, network, stage, reason) in [
        (
            "http://169.254.169.254:3128",
            NetworkAllowance::Private,
            Stage::UrlPolicy,
            "metadata",
        ),
        (
            "http://[fe80::1]:3128",
            NetworkAllowance::Private,
            Stage::UrlPolicy,
            "link_local",
        ),
        (
            "http://127.0.0.1:3128",
            NetworkAllowance::Remote,
            Stage::UrlPolicy,
            "loopback_not_allowed",
        ),
        (
            "http://proxy.lan.test:3128",
            NetworkAllowance::Local,
            Stage::Dns,
            "resolved_to_forbidden",
        ),
    ] {
        let target = proxied_target(
            &format!("https://{PROXIED_HOST}/v1"),
            &Url::parse(proxy)?,
            network,
        )?;
        let report = run(&target, lookup.clone()).await?;
        let failed = report.failed_stage().ok_or("the proxy must be refused")?;
        let failure = failed.failure.clone().ok_or("a failure")?;
        assert_eq!(
            (failed.stage, failure.kind.as_str()),
            (stage, "policy_denied"),
            "{proxy}"
        );
        assert_eq!(
            failure.reason.as_deref(),
            Some(reason),
            "{proxy}: {}",
            failure.message
        );
        assert!(
            failure.message.starts_with("The proxy "),
            "{}",
            failure.message
        );
        assert_eq!(
            report.stage(Stage::TcpConnect).map(|stage| stage.status),
            Some(StageStatus::Skipped)
        );
    }
    assert!(
        !lookup.asked().iter().any(|name| name == PROXIED_HOST),
        "{:?}",
        lookup.asked()
    );
    Ok(())
}

#[tokio::test]
async fn a_proxy_that_asks_for_credentials_is_a_proxy_failure() -> TestResult {
    let proxy = Proxy::start(ProxyMode::NeedsCredentials, HashMap::new()).await?;
    let https = proxied_target(
        &format!("https://{PROXIED_HOST}/v1"),
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    let report = run(&https, Arc::new(NoLookup::default())).await?;
    assert_eq!(
        failed_kind(&report),
        Some((Stage::TcpConnect, "proxy".to_owned()))
    );
    let failure = report
        .failed_stage()
        .and_then(|stage| stage.failure.clone())
        .ok_or("failure")?;
    assert!(failure.message.contains("407"), "{}", failure.message);
    assert!(
        failure
            .message
            .contains("asks for a user name and password"),
        "{}",
        failure.message
    );
    assert_eq!(failure.reason.as_deref(), Some("credentials_required"));
    assert!(
        failure.hint.contains("user name and password"),
        "{}",
        failure.hint
    );

    let http = proxied_target(
        "http://10.20.30.40:8080/v1",
        &proxy.url()?,
        NetworkAllowance::Private,
    )?;
    let report = run(&http, Arc::new(NoLookup::default())).await?;
    assert_eq!(
        failed_kind(&report),
        Some((Stage::Models, "proxy".to_owned()))
    );
    assert_eq!(proxy.request_lines().len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_proxy_that_refuses_the_connection_or_the_tunnel_is_a_proxy_failure() -> TestResult {
    // A port nothing listens on: bind, note it, close.
    let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await?
        .local_addr()?;
    let target = proxied_target(
        &format!("https://{PROXIED_HOST}/v1"),
        &Url::parse(&format!("http://{closed}"))?,
        NetworkAllowance::Local,
    )?;
    let report = run(&target, Arc::new(NoLookup::default())).await?;
    assert_eq!(
        failed_kind(&report),
        Some((Stage::TcpConnect, "proxy".to_owned()))
    );
    let message = report
        .failed_stage()
        .and_then(|stage| {
            stage
                .failure
                .as_ref()
                .map(|failure| failure.message.clone())
        })
        .unwrap_or_default();
    assert!(
        message.contains(&format!("nothing is listening on {closed}")),
        "{message}"
    );

    // A proxy with no route for the host answers CONNECT with 502.
    let proxy = Proxy::start(ProxyMode::Forward, HashMap::new()).await?;
    let target = proxied_target(
        &format!("https://{PROXIED_HOST}/v1"),
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    let report = run(&target, Arc::new(NoLookup::default())).await?;
    assert_eq!(
        failed_kind(&report),
        Some((Stage::TcpConnect, "proxy".to_owned()))
    );
    let message = report
        .failed_stage()
        .and_then(|stage| {
            stage
                .failure
                .as_ref()
                .map(|failure| failure.message.clone())
        })
        .unwrap_or_default();
    assert!(message.contains("HTTP 502"), "{message}");
    Ok(())
}

#[tokio::test]
async fn system_proxy_variables_are_ignored_without_a_provider_proxy() -> TestResult {
    let identity = self_signed(&[PROXIED_HOST])?;
    let server = Server::https(
        handler(|_| Canned::json(200, models_body(&["direct"]))),
        identity.server.clone(),
    )
    .await?;
    let recording = Proxy::start(ProxyMode::Forward, HashMap::new()).await?;
    let proxy_url = recording.url()?.to_string();
    for variable in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        std::env::set_var(variable, &proxy_url);
    }
    let mut target = Target::new(
        Url::parse(&format!("https://{PROXIED_HOST}:{}/v1", server.port()))?,
        NetworkAllowance::Local,
    );
    target.trusted_cert_sha256 = Some(identity.fingerprint.clone());
    let lookup = NamedLookup::new(&[(PROXIED_HOST, loopback())]);
    let report = run(&target, lookup.clone()).await?;
    for variable in [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        std::env::remove_var(variable);
    }
    assert!(report.ok, "{report:#?}");
    assert!(
        recording.request_lines().is_empty(),
        "{:?}",
        recording.request_lines()
    );
    assert_eq!(
        lookup.asked(),
        [PROXIED_HOST],
        "resolved and judged here, not by a proxy"
    );
    assert_eq!(server.seen().len(), 1);
    Ok(())
}

#[tokio::test]
async fn redirect_hops_follow_the_same_proxy_rules() -> TestResult {
    // 10.20.30.40 → 10.20.30.41 (LAN addresses, both through the proxy,
    // which maps them to local servers) → 127.0.0.1 (loopback: directly,
    // never through the proxy).
    let direct = Server::http(handler(|_| {
        Canned::json(200, models_body(&["after-redirects"]))
    }))
    .await?;
    let to_loopback = direct.url("/v1/models")?.to_string();
    let second = Server::http(handler(move |_| {
        Canned::json(302, "{}").header("location", &to_loopback)
    }))
    .await?;
    let first = Server::http(handler(|_| {
        Canned::json(302, "{}").header("location", "http://10.20.30.41:8080/v1/models")
    }))
    .await?;
    let proxy = Proxy::start(
        ProxyMode::Forward,
        HashMap::from([
            ("10.20.30.40:8080".to_owned(), first.address),
            ("10.20.30.41:8080".to_owned(), second.address),
        ]),
    )
    .await?;
    let target = proxied_target(
        "http://10.20.30.40:8080/v1",
        &proxy.url()?,
        NetworkAllowance::Private,
    )?;
    let lookup = Arc::new(NoLookup::default());
    let report = run(&target, lookup.clone()).await?;
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.redirects.len(), 2, "{:?}", report.redirects);
    assert_eq!(
        proxy.request_lines(),
        [
            "GET http://10.20.30.40:8080/v1/models HTTP/1.1",
            "GET http://10.20.30.41:8080/v1/models HTTP/1.1"
        ]
    );
    assert_eq!(direct.seen().len(), 1, "the loopback hop went directly");
    assert_eq!(lookup.calls.load(std::sync::atomic::Ordering::SeqCst), 0);

    // A hop to a forbidden address is refused even through a proxy.
    let to_metadata = Server::http(handler(|_| {
        Canned::json(302, "{}").header("location", "http://169.254.169.254/latest/meta-data")
    }))
    .await?;
    let proxy = Proxy::start(
        ProxyMode::Forward,
        HashMap::from([("10.20.30.40:8080".to_owned(), to_metadata.address)]),
    )
    .await?;
    let target = proxied_target(
        "http://10.20.30.40:8080/v1",
        &proxy.url()?,
        NetworkAllowance::Private,
    )?;
    let report = run(&target, Arc::new(NoLookup::default())).await?;
    assert_eq!(
        failed_kind(&report),
        Some((Stage::Models, "policy_denied".to_owned()))
    );
    assert_eq!(
        proxy.request_lines().len(),
        1,
        "{:?}",
        proxy.request_lines()
    );
    Ok(())
}

const PROXY_USER: &str = "alice";
const PROXY_PASSWORD: &str = "proxycanary-9f8e7d6c5b";

fn with_credentials(mut target: Target, password: &str) -> Target {
    target.proxy_credentials = Some((PROXY_USER.to_owned(), patchbay_core::ApiKey::new(password)));
    target
}

#[tokio::test]
async fn a_proxy_with_a_password_gets_it_and_the_target_never_does() -> TestResult {
    let identity = self_signed(&[PROXIED_HOST])?;
    let tls_server = Server::https(
        handler(|_| Canned::json(200, models_body(&["tunnelled-model"]))),
        identity.server.clone(),
    )
    .await?;
    let plain_server = Server::http(handler(|_| {
        Canned::json(200, models_body(&["plain-model"]))
    }))
    .await?;
    let proxy = Proxy::start(
        ProxyMode::Basic(PROXY_USER, PROXY_PASSWORD),
        HashMap::from([
            (format!("{PROXIED_HOST}:443"), tls_server.address),
            ("10.20.30.40:8080".to_owned(), plain_server.address),
        ]),
    )
    .await?;

    // Without the password: asked for, and the hint says where it goes.
    let mut https = proxied_target(
        &format!("https://{PROXIED_HOST}/v1"),
        &proxy.url()?,
        NetworkAllowance::Local,
    )?;
    https.trusted_cert_sha256 = Some(identity.fingerprint.clone());
    let report = run(&https, Arc::new(NoLookup::default())).await?;
    let failure = report
        .failed_stage()
        .and_then(|stage| stage.failure.clone())
        .ok_or("failure")?;
    assert_eq!(failure.reason.as_deref(), Some("credentials_required"));

    // A wrong password: refused, said so.
    let report = run(
        &with_credentials(https.clone(), "not-the-password"),
        Arc::new(NoLookup::default()),
    )
    .await?;
    let failure = report
        .failed_stage()
        .and_then(|stage| stage.failure.clone())
        .ok_or("failure")?;
    assert_eq!(failure.kind.as_str(), "proxy");
    assert_eq!(failure.reason.as_deref(), Some("credentials_refused"));
    assert!(
        failure
            .message
            .contains("refused the user name and password (HTTP 407"),
        "{}",
        failure.message
    );
    assert!(!format!("{report:?}").contains("not-the-password"));

    // The right one: through the tunnel, and over http in absolute form.
    let report = run(
        &with_credentials(https, PROXY_PASSWORD),
        Arc::new(NoLookup::default()),
    )
    .await?;
    assert!(report.ok, "{report:#?}");
    let http = with_credentials(
        proxied_target(
            "http://10.20.30.40:8080/v1",
            &proxy.url()?,
            NetworkAllowance::Private,
        )?,
        PROXY_PASSWORD,
    );
    let report = run(&http, Arc::new(NoLookup::default())).await?;
    assert!(report.ok, "{report:#?}");
    assert!(!format!("{report:?}").contains(PROXY_PASSWORD));
    for seen in tls_server.seen().iter().chain(plain_server.seen().iter()) {
        assert!(
            seen.header("proxy-authorization").is_none(),
            "the target never sees the proxy's credentials"
        );
        assert!(seen.header("authorization").is_none());
    }
    Ok(())
}

#[tokio::test]
async fn a_proxy_that_wants_kerberos_is_explained_not_retried() -> TestResult {
    let proxy = Proxy::start(ProxyMode::Kerberos, HashMap::new()).await?;
    let target = with_credentials(
        proxied_target(
            &format!("https://{PROXIED_HOST}/v1"),
            &proxy.url()?,
            NetworkAllowance::Local,
        )?,
        PROXY_PASSWORD,
    );
    let report = run(&target, Arc::new(NoLookup::default())).await?;
    let failure = report
        .failed_stage()
        .and_then(|stage| stage.failure.clone())
        .ok_or("failure")?;
    assert!(
        failure
            .message
            .contains("asks for Negotiate or NTLM authentication"),
        "{}",
        failure.message
    );
    assert!(
        failure.hint.contains("accepts a user name and password"),
        "{}",
        failure.hint
    );
    assert_eq!(proxy.request_lines().len(), 1, "asked once");
    Ok(())
}
