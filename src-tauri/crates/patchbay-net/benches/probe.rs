//! "Test connection" against a loopback server versus a bare reqwest GET of
//! the same URL in the same run (target: ≤ 1.2×). Both open a new connection
//! per iteration (the probe always does; reqwest's pool is disabled), so the
//! comparison is connection + request + body for both, plus the policy,
//! staging and model parsing for the probe.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use patchbay_core::NetworkAllowance;
use patchbay_net::probe::{run_test, StageReport, Target, TestOptions};
use patchbay_net::{ClientOptions, HttpClient};

fn models_body() -> Bytes {
    let entries: Vec<String> = (0..20).map(|index| format!(r#"{{"id":"model-{index}","object":"model","created":1700000000,"owned_by":"bench"}}"#)).collect();
    Bytes::from(format!(
        r#"{{"object":"list","data":[{}]}}"#,
        entries.join(",")
    ))
}

async fn serve(body: Bytes) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    let body = body.clone();
                    async move {
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .unwrap_or_default(),
                        )
                    }
                });
                if let Err(error) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("bench server connection: {error}");
                }
            });
        }
    });
    Ok(address)
}

fn quiet(_: &StageReport) {}

fn compare(criterion: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("no runtime: {error}");
            return;
        }
    };
    let address = match runtime.block_on(serve(models_body())) {
        Ok(address) => address,
        Err(error) => {
            eprintln!("no server: {error}");
            return;
        }
    };
    let url = format!("http://{address}/v1/models");
    let client = match HttpClient::new(ClientOptions::default()) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("no client: {error}");
            return;
        }
    };
    let target = match url::Url::parse(&format!("http://{address}/v1")) {
        Ok(base) => Target::new(base, NetworkAllowance::Local),
        Err(error) => {
            eprintln!("bad url: {error}");
            return;
        }
    };
    let options = TestOptions::default();
    let reqwest_client = match reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .no_proxy()
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("no reqwest client: {error}");
            return;
        }
    };
    let probe_ok = runtime
        .block_on(run_test(&client, &target, &options, &quiet))
        .ok;
    assert!(probe_ok, "the probe must succeed against the bench server");

    let mut group = criterion.benchmark_group("test_connection_loopback");
    group.bench_function("patchbay_run_test", |bencher| {
        bencher.iter(|| {
            runtime
                .block_on(run_test(&client, &target, &options, &quiet))
                .ok
        })
    });
    group.bench_function("reqwest_get", |bencher| {
        bencher.iter(|| {
            runtime.block_on(async {
                match reqwest_client.get(&url).send().await {
                    Ok(response) => response.bytes().await.map(|body| body.len()).unwrap_or(0),
                    Err(_) => 0,
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
