//! `provider.test` runs the real staged test (patchbay-net) against a
//! loopback OpenAI-compatible server and returns its report; the outcome is
//! recorded as the provider's last test, which the entries then carry.

use std::sync::Arc;
use std::time::Duration;

use patchbay_client::Client;
use patchbay_ipc::Server;
use patchbay_ipc::ServerOptions;
use patchbay_service::Service;
use patchbay_testkit::{handler, models_body, Canned, Draft};

use crate::support::{paired_token, TestEnv};

/// Answers every request with a two-model `/models` list and records them.
async fn models_server() -> patchbay_testkit::Server {
    patchbay_testkit::Server::http(handler(|_| {
        Canned::json(200, models_body(&["m1", "vendor/m2:q4"]))
    }))
    .await
    .expect("a loopback server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_test_returns_the_staged_report_and_records_it() {
    let upstream = models_server().await;
    let env = TestEnv::new();
    let id = env.add(
        Draft::new("Loopback")
            .local(&upstream.at("/v1"))
            .models(&["m1"])
            .json(),
    );
    let server = Server::start(env.options()).await.expect("start");
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    assert!(subscription.initial()[0].last_test.is_none());

    // Without a paired host's token the test (which sends the stored key)
    // does not run at all.
    let refused = client
        .test_provider("pbt_not-a-token", id.as_str(), None)
        .await
        .expect_err("unpaired");
    assert_eq!(refused.rpc_kind(), Some("unauthorized"));
    assert_eq!(refused.rpc_reason(), Some("token_rejected"));
    assert!(upstream.seen().is_empty(), "nothing was sent upstream");

    let token = paired_token(&server, &client).await;
    let report = client
        .test_provider(&token, id.as_str(), None)
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
    let seen = upstream.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v1/models")
    );
    assert!(
        seen.iter()
            .all(|request| request.header("authorization").is_none()),
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
        .test_provider(&token, "no-such-provider", None)
        .await
        .expect_err("unknown id");
    assert_eq!(unknown.rpc_kind(), Some("not_found"));
    assert_eq!(unknown.rpc_reason(), Some("provider_not_found"));
    let invalid = client
        .test_provider(&token, "Not An Id", None)
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
    let token = paired_token(&server, &client).await;
    let error = client
        .test_provider(&token, "anything", None)
        .await
        .expect_err("no tester");
    assert_eq!(error.rpc_code(), Some(-32006));
    assert_eq!(error.rpc_kind(), Some("test_failed"));
}
