//! `provider.test` runs the real staged test (patchbay-net) against a
//! loopback OpenAI-compatible server and returns its report; the outcome is
//! recorded as the provider's last test, which the entries then carry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use patchbay_client::Client;
use patchbay_ipc::Server;
use patchbay_ipc::ServerOptions;
use patchbay_service::Service;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::TestEnv;

/// Answers every request with a two-model `/models` list and counts them.
async fn models_server() -> (u16, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    let requests = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (counted, seen) = (Arc::clone(&requests), Arc::clone(&heads));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = Arc::clone(&counted);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 8192];
                let Ok(read) = stream.read(&mut buffer).await else {
                    return;
                };
                let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
                counted.fetch_add(1, Ordering::SeqCst);
                seen.lock().expect("lock").push(head);
                let body = r#"{"object":"list","data":[{"id":"m1","object":"model"},{"id":"vendor/m2:q4","object":"model"}]}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).await.is_ok() {
                    drop(stream.shutdown().await);
                }
            });
        }
    });
    (port, requests, heads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_test_returns_the_staged_report_and_records_it() {
    let (port, requests, heads) = models_server().await;
    let env = TestEnv::new();
    let id = env.add(
        json!({"label": "Loopback", "base_url": format!("http://127.0.0.1:{port}/v1"),
                            "auth": "none", "network": "local", "models": ["m1"]}),
    );
    let server = Server::start(env.options()).await.expect("start");
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    assert!(subscription.initial()[0].last_test.is_none());

    let report = client
        .test_provider(id.as_str(), None)
        .await
        .expect("the test ran");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["models_count"], 2, "{report:#}");
    let stages = report["stages"].as_array().expect("stages");
    assert!(
        stages
            .iter()
            .any(|stage| stage["stage"] == "models" && stage["status"] == "ok"),
        "{report:#}"
    );
    assert!(requests.load(Ordering::SeqCst) >= 1);
    let head = heads.lock().expect("lock")[0].clone();
    assert!(head.starts_with("GET /v1/models"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("authorization"),
        "no Authorization for a no-auth provider"
    );

    // Recorded as the last test: the entries change, subscribers hear it.
    server.notify_config_changed().expect("refresh");
    let changed = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("in time")
        .expect("list");
    assert_eq!(
        changed[0].last_test.as_ref().map(|test| test.ok),
        Some(true)
    );

    let unknown = client
        .test_provider("no-such-provider", None)
        .await
        .expect_err("unknown id");
    assert_eq!(unknown.rpc_kind(), Some("not_found"));
    assert_eq!(unknown.rpc_reason(), Some("provider_not_found"));
    let invalid = client
        .test_provider("Not An Id", None)
        .await
        .expect_err("invalid id");
    assert_eq!(invalid.rpc_code(), Some(-32602));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_test_without_a_network_client_is_a_clear_error() {
    let env = TestEnv::new();
    let offline = Arc::new(Service::offline(Arc::clone(&env.store), "no TLS roots"));
    let server = Server::start(ServerOptions {
        watch_config: false,
        ..ServerOptions::at(env.endpoint(), offline)
    })
    .await
    .expect("start");
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let error = client
        .test_provider("anything", None)
        .await
        .expect_err("no tester");
    assert_eq!(error.rpc_code(), Some(-32006));
    assert_eq!(error.rpc_kind(), Some("test_failed"));
}
