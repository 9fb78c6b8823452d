#![cfg_attr(not(unix), no_main)] // a Unix-socket bench: an empty crate on Windows
#![cfg(unix)]
//! IPC latency: `patchbay.hello` and `entries.list` round trips against a
//! real server on a Unix socket, with 100 providers × 20 models (2,000
//! entries). Records every request's latency and prints p50/p90/p99.
//!
//! `cargo bench -p patchbay-ipc --bench ipc`
//!
//! "raw" = write the request line, read the whole response line (what any
//! host pays on the wire); "client" = the same through `patchbay-client`,
//! including decoding the JSON into `PickerEntry` values. "unchanged" =
//! `entries.list` with `if_none_match` set to the current tag, what a host
//! that already holds the list pays (the client crate does it by itself).
//! "bare socket" rows are the floor: a peer that answers each line with
//! the same bytes from memory and does no JSON-RPC work at all.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay_client::Client;
use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_core::validation::ProviderDraft;
use patchbay_ipc::{Server, ServerOptions};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

const PROVIDERS: usize = 100;
const MODELS: usize = 20;

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

async fn run() -> Result<(), String> {
    let root = tempfile::Builder::new()
        .prefix("pbbench")
        .tempdir_in("/tmp")
        .map_err(|error| error.to_string())?;
    let store = Arc::new(ProviderStore::new(
        ConfigPaths::in_dir(root.path().join("config")),
        Arc::new(MemoryStore::new()),
    ));
    populate(&store)?;
    let service = Arc::new(patchbay_service::Service::new(store));
    let mut options = ServerOptions::at(root.path().join("run").join("ipc.sock"), service);
    options.watch_config = false;
    let server = Server::start(options)
        .await
        .map_err(|error| error.to_string())?;

    let client = Client::connect_to(server.endpoint())
        .await
        .map_err(|error| error.to_string())?;
    let entries = client
        .list_entries()
        .await
        .map_err(|error| error.to_string())?;
    let mut raw = Raw::connect(server.endpoint()).await?;
    let list_bytes = raw
        .round_trip(r#"{"jsonrpc":"2.0","id":1,"method":"entries.list"}"#)
        .await?;
    let full_answer = raw.last_answer();
    println!(
        "entries: {} ({} bytes per entries.list answer, etag {})",
        entries.len(),
        list_bytes,
        entries.etag()
    );

    let hello = r#"{"jsonrpc":"2.0","id":1,"method":"patchbay.hello"}"#;
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"entries.list"}"#;
    let unchanged = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"entries.list","params":{{"if_none_match":"{}"}}}}"#,
        entries.etag()
    );
    let unchanged_bytes = raw.round_trip(&unchanged).await?;
    if unchanged_bytes > 200 {
        return Err(format!(
            "if_none_match with the current tag still sent {unchanged_bytes} bytes"
        ));
    }
    report(
        "patchbay.hello  raw   ",
        &measure_raw(&mut raw, hello, 2_000, 20_000).await?,
    );
    report(
        "entries.list    raw   ",
        &measure_raw(&mut raw, list, 200, 3_000).await?,
    );
    report(
        "entries.list    raw,    unchanged",
        &measure_raw(&mut raw, &unchanged, 2_000, 20_000).await?,
    );
    report(
        "patchbay.hello  client",
        &measure(2_000, 20_000, || client.hello()).await?,
    );
    report(
        "entries.list    client, unchanged",
        &measure(2_000, 20_000, || client.list_entries()).await?,
    );
    // The floor: a bare socket peer that answers each line with the same
    // bytes, already in memory, and no JSON-RPC work at all.
    let small = r#"{"jsonrpc":"2.0","id":1,"result":{"protocol":1}}"#.to_owned();
    let floor_socket = root.path().join("floor.sock");
    spawn_floor(&floor_socket, small, full_answer)?;
    let mut floor = Raw::connect(&floor_socket).await?;
    report(
        "bare socket, small line   ",
        &measure_raw(&mut floor, "small", 2_000, 20_000).await?,
    );
    report(
        "bare socket, same 590 KB  ",
        &measure_raw(&mut floor, "large", 200, 3_000).await?,
    );
    // A fresh connection each time holds no list, so it decodes all of it.
    report(
        "entries.list    client, new connection + full decode",
        &measure(50, 500, || async {
            let fresh = Client::connect_to(server.endpoint()).await?;
            fresh.list_entries().await
        })
        .await?,
    );
    server.shutdown().await;
    Ok(())
}

/// A minimal line server: "small" → `small`, anything else → `large`.
fn spawn_floor(socket: &Path, small: String, large: String) -> Result<(), String> {
    let listener = tokio::net::UnixListener::bind(socket).map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let small = format!("{small}\n");
        let large = if large.ends_with('\n') {
            large
        } else {
            format!("{large}\n")
        };
        while let Ok(Some(line)) = lines.next_line().await {
            let answer = if line == "small" { &small } else { &large };
            if write.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    Ok(())
}

fn populate(store: &ProviderStore) -> Result<(), String> {
    for provider in 0..PROVIDERS {
        let models: Vec<String> = (0..MODELS)
            .map(|model| format!("vendor-{provider}/model-{model}:q4_K_M"))
            .collect();
        let draft: ProviderDraft = serde_json::from_value(serde_json::json!({
            "label": format!("Provider {provider}"),
            "base_url": format!("http://127.0.0.1:{}/v1", 10_000 + provider),
            "auth": "none",
            "network": "local",
            "models": models,
        }))
        .map_err(|error| error.to_string())?;
        store.add(draft).map_err(|error| error.to_string())?;
    }
    Ok(())
}

struct Raw {
    lines: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
    buffer: Vec<u8>,
}

impl Raw {
    async fn connect(socket: &Path) -> Result<Self, String> {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|error| error.to_string())?;
        let (read, writer) = stream.into_split();
        Ok(Self {
            lines: BufReader::with_capacity(1 << 20, read),
            writer,
            buffer: Vec::with_capacity(1 << 20),
        })
    }

    async fn round_trip(&mut self, request: &str) -> Result<usize, String> {
        let mut frame = String::with_capacity(request.len() + 1);
        frame.push_str(request);
        frame.push('\n');
        self.writer
            .write_all(frame.as_bytes())
            .await
            .map_err(|error| error.to_string())?;
        self.buffer.clear();
        let read = self
            .lines
            .read_until(b'\n', &mut self.buffer)
            .await
            .map_err(|error| error.to_string())?;
        let head = &self.buffer[..self.buffer.len().min(48)];
        let is_result = head.windows(10).any(|window| window == b",\"result\":");
        if read == 0 || !self.buffer.starts_with(b"{\"jsonrpc\":\"2.0\"") || !is_result {
            return Err(format!(
                "unexpected answer: {}",
                String::from_utf8_lossy(&self.buffer[..self.buffer.len().min(200)])
            ));
        }
        Ok(read)
    }

    /// The last answer, newline included.
    fn last_answer(&self) -> String {
        String::from_utf8_lossy(&self.buffer).into_owned()
    }
}

async fn measure_raw(
    raw: &mut Raw,
    request: &str,
    warmup: usize,
    samples: usize,
) -> Result<Vec<Duration>, String> {
    for _ in 0..warmup {
        raw.round_trip(request).await?;
    }
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        raw.round_trip(request).await?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

async fn measure<T, F, Fut>(
    warmup: usize,
    samples: usize,
    mut call: F,
) -> Result<Vec<Duration>, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, patchbay_client::ClientError>>,
{
    for _ in 0..warmup {
        call().await.map_err(|error| error.to_string())?;
    }
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        call().await.map_err(|error| error.to_string())?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

fn report(name: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let percentile = |fraction: f64| {
        let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
        sorted[index.min(sorted.len() - 1)]
    };
    println!(
        "{name}  n={:>6}  p50 {:>9.1} µs  p90 {:>9.1} µs  p99 {:>9.1} µs",
        sorted.len(),
        micros(percentile(0.50)),
        micros(percentile(0.90)),
        micros(percentile(0.99)),
    );
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
