//! What the gateway adds, against a tiny mock provider on loopback in the
//! same run:
//!
//! 1. sequential latency of a small non-streaming request, gateway vs the
//!    mock called directly, interleaved (p50, p99, and the difference);
//! 2. requests per second at 16 concurrent clients (and the mock's own);
//! 3. the delay each stream event picks up on its way (mock send → client
//!    arrival) at 64 concurrent streaming clients, p50/p99, gateway vs
//!    direct;
//! 4. the RSS of a real `patchbay serve` under the loads of 2 and 3, when a
//!    release build of the CLI is there (`cargo build --release -p
//!    patchbay-cli`; or set `PATCHBAY_BIN`).
//!
//! `cargo bench -p patchbay-gateway --bench gateway`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1 as client_http1;
use hyper::server::conn::http1 as server_http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_gateway::{Gateway, GatewayOptions};
use patchbay_net::policy::StaticLookup;
use patchbay_net::{ClientOptions, HttpClient};
use patchbay_service::{HostRegistry, Service};
use patchbay_testkit::Draft;
use tokio::net::{TcpListener, TcpStream};

const EVENTS: usize = 20;
const EVENT_GAP: Duration = Duration::from_millis(20);
const SMALL: &str = r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#;

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start a runtime: {error}");
            std::process::exit(1);
        }
    };
    if let Err(message) = runtime.block_on(run()) {
        eprintln!("bench failed: {message}");
        std::process::exit(1);
    }
}

type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// The mock provider: a fixed small answer, or 20 events 20 ms apart, each
/// carrying the moment it was written.
async fn mock() -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| error.to_string())?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _nodelay = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|request: Request<Incoming>| async move {
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|body| body.to_bytes())
                        .unwrap_or_default();
                    let streaming = body.windows(13).any(|window| window == b"\"stream\":true");
                    let response: Response<BoxBody> = if streaming {
                        let frames = futures_util::stream::unfold(0_usize, |index| async move {
                            if index >= EVENTS {
                                return None;
                            }
                            tokio::time::sleep(EVENT_GAP).await;
                            let nanos = start().elapsed().as_nanos();
                            let event = format!("data: {{\"t\":{nanos}}}\n\n");
                            Some((
                                Ok::<_, Infallible>(Frame::data(Bytes::from(event))),
                                index + 1,
                            ))
                        });
                        let mut response =
                            Response::new(BodyExt::boxed_unsync(StreamBody::new(frames)));
                        response
                            .headers_mut()
                            .insert("content-type", "text/event-stream".parse().expect("header"));
                        response
                    } else {
                        let mut response = Response::new(
                            Full::new(Bytes::from_static(SMALL.as_bytes())).boxed_unsync(),
                        );
                        response
                            .headers_mut()
                            .insert("content-type", "application/json".parse().expect("header"));
                        response
                    };
                    Ok::<_, Infallible>(response)
                });
                let _served = server_http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// A kept-alive HTTP/1.1 connection.
struct Conn {
    sender: client_http1::SendRequest<Full<Bytes>>,
    authority: String,
    token: Option<String>,
}

impl Conn {
    async fn open(addr: SocketAddr, token: Option<String>) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|error| error.to_string())?;
        stream
            .set_nodelay(true)
            .map_err(|error| error.to_string())?;
        let (sender, connection) = client_http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(async move {
            let _ended = connection.await;
        });
        Ok(Self {
            sender,
            authority: addr.to_string(),
            token,
        })
    }

    /// Sends one request; returns the response body, or the event
    /// arrivals' delays for a stream.
    async fn call(&mut self, model: &str, stream: bool) -> Result<Vec<Duration>, String> {
        let body = format!(
            r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
        );
        let mut request = Request::post("/v1/chat/completions")
            .header("host", &self.authority)
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| error.to_string())?;
        self.sender
            .ready()
            .await
            .map_err(|error| error.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let mut body = response.into_body();
        let mut delays = Vec::new();
        let mut pending = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| error.to_string())?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let now = start().elapsed();
            pending.extend_from_slice(&data);
            while let Some(end) = pending.windows(2).position(|window| window == b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                if let Some(nanos) = text
                    .split("\"t\":")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches(['}', '\n']).parse::<u128>().ok())
                {
                    let sent = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
                    delays.push(now.saturating_sub(sent));
                }
            }
        }
        Ok(delays)
    }
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[rank.min(samples.len() - 1)]
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

struct Target {
    addr: SocketAddr,
    token: Option<String>,
    model: &'static str,
}

async fn sequential(direct: &Target, gateway: &Target, count: usize) -> Result<(), String> {
    let mut to_mock = Conn::open(direct.addr, None).await?;
    let mut to_gateway = Conn::open(gateway.addr, gateway.token.clone()).await?;
    let (mut plain, mut through) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for round in 0..count + 200 {
        let began = Instant::now();
        to_mock.call(direct.model, false).await?;
        let direct_took = began.elapsed();
        let began = Instant::now();
        to_gateway.call(gateway.model, false).await?;
        let gateway_took = began.elapsed();
        if round >= 200 {
            plain.push(direct_took);
            through.push(gateway_took);
        }
    }
    let (direct50, direct99) = (percentile(&mut plain, 0.5), percentile(&mut plain, 0.99));
    let (gateway50, gateway99) = (
        percentile(&mut through, 0.5),
        percentile(&mut through, 0.99),
    );
    println!("1. sequential, {count} requests each, interleaved:");
    println!(
        "   direct   p50 {:>10}  p99 {:>10}",
        micros(direct50),
        micros(direct99)
    );
    println!(
        "   gateway  p50 {:>10}  p99 {:>10}",
        micros(gateway50),
        micros(gateway99)
    );
    println!(
        "   added    p50 {:>10}  p99 {:>10}",
        micros(gateway50.saturating_sub(direct50)),
        micros(gateway99.saturating_sub(direct99))
    );
    Ok(())
}

async fn throughput(target: &Target, clients: usize, seconds: u64) -> Result<f64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Conn::open(target.addr, target.token.clone()).await?;
        let done = Arc::clone(&done);
        let model = target.model;
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                if conn.call(model, false).await.is_err() {
                    return;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|error| error.to_string())?;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / seconds as f64)
}

async fn streams(target: &Target, clients: usize) -> Result<Vec<Duration>, String> {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Conn::open(target.addr, target.token.clone()).await?;
        let model = target.model;
        tasks.push(tokio::spawn(async move { conn.call(model, true).await }));
    }
    let mut delays = Vec::new();
    for task in tasks {
        delays.extend(task.await.map_err(|error| error.to_string())??);
    }
    if delays.len() != clients * EVENTS {
        return Err(format!(
            "{} events arrived, {} expected",
            delays.len(),
            clients * EVENTS
        ));
    }
    Ok(delays)
}

async fn run() -> Result<(), String> {
    start();
    let mock = mock().await?;
    let root = tempfile::tempdir().map_err(|error| error.to_string())?;
    let paths = ConfigPaths::in_dir(root.path().join("config"));
    let store = Arc::new(ProviderStore::new(
        paths.clone(),
        Arc::new(MemoryStore::new()),
    ));
    store
        .add(
            Draft::new("Mock")
                .local(&format!("http://{mock}/v1"))
                .models(&["m"])
                .parse(),
        )
        .map_err(|error| error.to_string())?;
    let service = Arc::new(Service::with_network(
        Arc::clone(&store),
        Arc::new(HttpClient::new(ClientOptions::default()).map_err(|error| error.to_string())?),
        Arc::new(StaticLookup::default()),
    ));
    let registry = HostRegistry::in_dir(&paths.dir);
    let (_, token) = registry
        .issue("dev.patchbay.bench", "Bench")
        .map_err(|error| error.to_string())?;
    let gateway = Gateway::start(
        GatewayOptions::at("127.0.0.1:0".parse().map_err(|_| "addr")?),
        service,
        registry,
    )
    .await
    .map_err(|error| error.to_string())?;
    let direct = Target {
        addr: mock,
        token: None,
        model: "m",
    };
    let through = Target {
        addr: gateway.local_addr(),
        token: Some(token),
        model: "mock/m",
    };

    sequential(&direct, &through, 3000).await?;

    let mock_rps = throughput(&direct, 16, 3).await?;
    let gateway_rps = throughput(&through, 16, 3).await?;
    println!("2. 16 concurrent clients, 3 s each:");
    println!("   direct  {mock_rps:>9.0} requests/s");
    println!(
        "   gateway {gateway_rps:>9.0} requests/s  ({:.2}× the mock's)",
        gateway_rps / mock_rps
    );

    let mut plain = streams(&direct, 64).await?;
    let mut via = streams(&through, 64).await?;
    println!("3. 64 concurrent streams of {EVENTS} events {} ms apart, delay from the mock's write to arrival:", EVENT_GAP.as_millis());
    println!(
        "   direct   p50 {:>10}  p99 {:>10}",
        micros(percentile(&mut plain, 0.5)),
        micros(percentile(&mut plain, 0.99))
    );
    println!(
        "   gateway  p50 {:>10}  p99 {:>10}",
        micros(percentile(&mut via, 0.5)),
        micros(percentile(&mut via, 0.99))
    );
    println!(
        "   added    p99 {:>10}",
        micros(percentile(&mut via, 0.99).saturating_sub(percentile(&mut plain, 0.99)))
    );

    rss_of_serve(mock, root.path()).await
}

/// 4: a real `patchbay serve` (release build) under the same loads.
async fn rss_of_serve(mock: SocketAddr, root: &std::path::Path) -> Result<(), String> {
    let binary = std::env::var_os("PATCHBAY_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../target/release/patchbay")
        });
    if !binary.exists() {
        println!(
            "4. skipped: no {} (cargo build --release -p patchbay-cli, or set PATCHBAY_BIN)",
            binary.display()
        );
        return Ok(());
    }
    let (config, runtime) = (root.join("serve-config"), root.join("serve-run"));
    std::fs::create_dir_all(&runtime).map_err(|error| error.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .map_err(|error| error.to_string())?;
    }
    let command = |args: &[&str]| {
        let mut command = std::process::Command::new(&binary);
        command
            .args(args)
            .env("PATCHBAY_CONFIG_DIR", &config)
            .env("PATCHBAY_RUNTIME_DIR", &runtime)
            .env("PATCHBAY_GATEWAY_ADDR", "127.0.0.1:0");
        command
    };
    let added = command(&[
        "provider",
        "add",
        "--label",
        "Mock",
        "--base-url",
        &format!("http://{mock}/v1"),
        "--allow-local",
        "--no-auth",
        "--model",
        "m",
    ])
    .output()
    .map_err(|error| error.to_string())?;
    if !added.status.success() {
        return Err(format!(
            "provider add: {}",
            String::from_utf8_lossy(&added.stderr)
        ));
    }
    let issued = command(&[
        "hosts",
        "issue",
        "--app-id",
        "dev.patchbay.bench",
        "--app-name",
        "Bench",
        "--json",
    ])
    .output()
    .map_err(|error| error.to_string())?;
    let token = serde_json::from_slice::<serde_json::Value>(&issued.stdout)
        .ok()
        .and_then(|value| value["token"].as_str().map(str::to_owned))
        .ok_or("no token from hosts issue")?;
    let mut serve = command(&["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|error| error.to_string())?;
    let file = runtime.join("gateway.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let base: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).map_err(|error| error.to_string())?)
            .map_err(|error| error.to_string())?;
    let addr: SocketAddr = base["base_url"]
        .as_str()
        .and_then(|url| {
            url.trim_start_matches("http://")
                .trim_end_matches("/v1")
                .parse()
                .ok()
        })
        .ok_or("no gateway address")?;
    let pid = serve.id();
    let rss = move || {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmRSS:"))
                    .and_then(|value| {
                        value
                            .trim()
                            .trim_end_matches(" kB")
                            .trim()
                            .parse::<u64>()
                            .ok()
                    })
            })
            .unwrap_or(0)
    };
    let idle = rss();
    let target = Target {
        addr,
        token: Some(token),
        model: "mock/m",
    };
    let peak = Arc::new(AtomicU64::new(idle));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let rps = throughput(&target, 16, 3).await?;
    let mut delays = streams(&target, 64).await?;
    sampler.abort();
    println!("4. patchbay serve (release, separate process): {rps:.0} requests/s at 16 clients, stream p99 {}", micros(percentile(&mut delays, 0.99)));
    println!(
        "   RSS idle {:.1} MB, peak under load {:.1} MB",
        idle as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    let _killed = serve.kill();
    let _waited = serve.wait();
    Ok(())
}
