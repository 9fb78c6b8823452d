//! Timeouts name their stage and hold their limit; bodies are capped while
//! streaming; cancelling really closes the connection.

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_net::probe::run_test;
use patchbay_net::Stage;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::support::*;

fn kind_at(report: &patchbay_net::TestReport, stage: Stage) -> Option<String> {
    report
        .stage(stage)
        .and_then(|stage| stage.failure.as_ref())
        .map(|failure| failure.kind.as_str().to_owned())
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_at_the_models_stage_within_the_limit() -> TestResult
{
    let silent = SilentServer::start().await?;
    let mut target = local_target(Url::parse(&format!("http://{}/v1", silent.address))?);
    target.timeout = Some(Duration::from_millis(800));
    let started = Instant::now();
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(
        kind_at(&report, Stage::Models).as_deref(),
        Some("timeout"),
        "{report:#?}"
    );
    let message = report
        .stage(Stage::Models)
        .and_then(|stage| stage.failure.as_ref())
        .map(|failure| failure.message.clone())
        .unwrap_or_default();
    assert!(message.contains("model list stage"), "{message}");
    assert!(
        elapsed >= Duration::from_millis(750) && elapsed < Duration::from_millis(2500),
        "{elapsed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_tls_server_that_never_handshakes_times_out_at_the_tls_stage() -> TestResult {
    let silent = SilentServer::start().await?;
    let target = local_target(Url::parse(&format!("https://{}/v1", silent.address))?);
    let client = client_with(|options| options.connect_timeout = Duration::from_millis(600))?;
    let started = Instant::now();
    let report = run_test(
        &client,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    assert_eq!(
        kind_at(&report, Stage::Tls).as_deref(),
        Some("timeout"),
        "{report:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn a_slow_resolver_times_out_at_the_dns_stage() -> TestResult {
    #[derive(Debug)]
    struct Stuck;
    impl patchbay_net::policy::Lookup for Stuck {
        fn lookup<'a>(
            &'a self,
            _: &'a str,
            _: u16,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = std::io::Result<Vec<std::net::IpAddr>>>
                    + Send
                    + 'a,
            >,
        > {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(Vec::new())
            })
        }
    }
    let target = local_target(Url::parse(&format!("http://{TEST_HOST}:9/v1"))?);
    let client = client_with(|options| options.connect_timeout = Duration::from_millis(300))?;
    let started = Instant::now();
    let report = run_test(&client, &target, &options(Arc::new(Stuck)), &quiet).await;
    assert_eq!(kind_at(&report, Stage::Dns).as_deref(), Some("timeout"));
    assert!(started.elapsed() < Duration::from_secs(2));
    Ok(())
}

#[tokio::test]
async fn an_endless_body_is_capped_and_memory_stays_bounded() -> TestResult {
    // The server would send up to 256 MiB; the client must stop near 1 MiB.
    let endless = EndlessServer::start(256 * 1024 * 1024).await?;
    let target = local_target(Url::parse(&format!("http://{}/v1", endless.address))?);
    let client = client_with(|options| options.body_limit = 1024 * 1024)?;
    let report = run_test(
        &client,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    assert_eq!(
        kind_at(&report, Stage::Models).as_deref(),
        Some("too_large"),
        "{report:#?}"
    );
    // Give the server a moment to notice the closed socket.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = endless.written.load(Ordering::SeqCst);
    assert!(
        written < 32 * 1024 * 1024,
        "the client kept reading: {written} bytes"
    );
    Ok(())
}

#[tokio::test]
async fn the_default_cap_is_sixteen_mebibytes() -> TestResult {
    let endless = EndlessServer::start(64 * 1024 * 1024).await?;
    let target = local_target(Url::parse(&format!("http://{}/v1", endless.address))?);
    let report = run_test(
        &client()?,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let message = report
        .stage(Stage::Models)
        .and_then(|stage| stage.failure.as_ref())
        .map(|failure| failure.message.clone())
        .unwrap_or_default();
    assert_eq!(
        message,
        "The response is larger than 16 MiB; Patchbay stopped reading it."
    );
    Ok(())
}

#[tokio::test]
async fn aborting_the_test_task_closes_the_server_side_connection() -> TestResult {
    let mut silent = SilentServer::start().await?;
    let target = local_target(Url::parse(&format!("http://{}/v1", silent.address))?);
    let client = client()?;
    let task = tokio::spawn(async move {
        run_test(
            &client,
            &target,
            &options(Arc::new(NoLookup::default())),
            &quiet,
        )
        .await
    });
    // Wait until the request is in flight.
    let deadline = Instant::now() + Duration::from_secs(5);
    while silent.accepted.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(silent.accepted.load(Ordering::SeqCst), 1);
    task.abort();
    let aborted = task.await;
    assert!(aborted.is_err_and(|error| error.is_cancelled()));
    let closed = tokio::time::timeout(Duration::from_secs(2), silent.closed.recv()).await;
    assert_eq!(
        closed.ok().flatten(),
        Some(()),
        "the server never saw the connection close"
    );
    Ok(())
}

#[tokio::test]
async fn cancelling_the_token_reports_cancelled_and_closes_the_connection() -> TestResult {
    let mut silent = SilentServer::start().await?;
    let target = local_target(Url::parse(&format!("http://{}/v1", silent.address))?);
    let token = CancellationToken::new();
    let mut options = options(Arc::new(NoLookup::default()));
    options.cancel = Some(token.clone());
    let client = client()?;
    let task = tokio::spawn(async move { run_test(&client, &target, &options, &quiet).await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while silent.accepted.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    token.cancel();
    let report = tokio::time::timeout(Duration::from_secs(2), task).await??;
    assert_eq!(
        kind_at(&report, Stage::Models).as_deref(),
        Some("cancelled")
    );
    assert!(report.summary.contains("cancelled"), "{}", report.summary);
    let closed = tokio::time::timeout(Duration::from_secs(2), silent.closed.recv()).await;
    assert_eq!(closed.ok().flatten(), Some(()));
    Ok(())
}

#[tokio::test]
async fn a_connect_that_hangs_times_out_at_the_tcp_stage() -> TestResult {
    // A listener with a backlog of one that never accepts: once its queue is
    // full, the kernel drops further SYNs, so connects hang (loopback only).
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((Ipv4Addr::LOCALHOST, 0).into())?;
    let listener = socket.listen(1)?;
    let address = listener.local_addr()?;
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(address),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let target = local_target(Url::parse(&format!("http://{address}/v1"))?);
    let client = client_with(|options| options.connect_timeout = Duration::from_millis(400))?;
    let started = Instant::now();
    let report = run_test(
        &client,
        &target,
        &options(Arc::new(NoLookup::default())),
        &quiet,
    )
    .await;
    let kind = kind_at(&report, Stage::TcpConnect);
    assert_eq!(kind.as_deref(), Some("connect_timeout"), "{report:#?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(listener);
    Ok(())
}
