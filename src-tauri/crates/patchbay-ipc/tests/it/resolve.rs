//! `entries.resolve` judges the provider's URL at use, with DNS, under its
//! egress policy, and hands out a key only for the origin it was given for:
//! a file edited by hand cannot send a key elsewhere.

use std::path::Path;

use patchbay_client::{Client, ClientError};
use patchbay_ipc::ServerHandle;
use serde_json::Value;

use crate::support::{paired_token, TestEnv, MOVED_HOST, REBINDING_HOST};
use patchbay_testkit::Draft;

const KEY: &str = "sk-resolve-origin-canary-31c7";

/// Sets the base URL (and network) of the one provider in
/// `providers.json`, as a person or another program editing it would.
fn hand_edit(config_dir: &Path, base_url: &str, network: &str) {
    let file = config_dir.join("providers.json");
    let mut document: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    document["providers"][0]["base_url"] = Value::from(base_url);
    document["providers"][0]["network"] = Value::from(network);
    std::fs::write(&file, serde_json::to_vec(&document).expect("json")).expect("write");
}

/// A host paired as `com.example.tester`, allowed raw keys by the person.
async fn paired_with_raw_keys(env: &TestEnv, server: &ServerHandle) -> (Client, String) {
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let token = paired_token(server, &host).await;
    assert!(env
        .registry()
        .set_raw_keys("com.example.tester", true)
        .expect("allow"));
    (host, token)
}

fn refused(
    outcome: Result<patchbay_protocol::rpc::ResolveResult, ClientError>,
) -> (String, String) {
    let error = outcome.expect_err("the key must not be handed out");
    let message = error.to_string();
    assert!(!message.contains(KEY), "{message}");
    (error.rpc_reason().unwrap_or_default().to_owned(), message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_refuses_what_the_policy_refuses_now_and_keys_given_for_elsewhere() {
    let env = TestEnv::new();
    let id = env.add(Draft::new("Cloud").key(KEY).models(&["m1"]).json());
    let entry = format!("{id}/m1");
    let server = env.start().await;
    // These are about the raw key (protocol 1), which the person allowed.
    let (host, token) = paired_with_raw_keys(&env, &server).await;
    let resolved = host
        .resolve_with(&token, &entry, 1)
        .await
        .expect("as saved");
    assert!(resolved.headers.contains_key("Authorization"));

    // A name whose DNS answer is now the metadata service.
    hand_edit(
        &env.config_dir(),
        &format!("https://{REBINDING_HOST}/v1"),
        "remote",
    );
    let (reason, message) = refused(host.resolve_with(&token, &entry, 1).await);
    assert_eq!(reason, "endpoint_refused", "{message}");
    assert!(message.contains("metadata"), "{message}");

    // Plain http to a name that resolves to the internet, though the file
    // claims a private network.
    hand_edit(
        &env.config_dir(),
        "http://api.example.com:8080/v1",
        "private",
    );
    let (reason, message) = refused(host.resolve_with(&token, &entry, 1).await);
    assert_eq!(reason, "endpoint_refused", "{message}");

    // A metadata literal never even loads: the entry is gone.
    hand_edit(&env.config_dir(), "https://169.254.169.254/v1", "remote");
    let (reason, message) = refused(host.resolve_with(&token, &entry, 1).await);
    assert_eq!(reason, "entry_not_found", "{message}");

    // provider.test (a paired host's) does not send the key to a hand-edited
    // URL either: it stops before connecting (a closed loopback port, so a
    // regression would fail here without reaching any other machine).
    hand_edit(&env.config_dir(), "http://127.0.0.1:9/v1", "local");
    let error = host
        .test_provider(&token, id.as_str(), None)
        .await
        .expect_err("the test must not run with the key");
    assert_eq!(error.rpc_reason(), Some("key_origin_changed"), "{error}");
    assert!(!error.to_string().contains(KEY));

    // An allowed host, but not the one the key was given for.
    hand_edit(
        &env.config_dir(),
        &format!("https://{MOVED_HOST}/v1"),
        "remote",
    );
    let (reason, message) = refused(host.resolve_with(&token, &entry, 1).await);
    assert_eq!(reason, "key_origin_changed", "{message}");
    assert!(
        message.contains("https://api.example.com") && message.contains(MOVED_HOST),
        "{message}"
    );

    // The person confirms the move: resolve hands the key out again.
    env.store.move_key(&id).expect("confirm");
    let moved = host
        .resolve_with(&token, &entry, 1)
        .await
        .expect("after the move");
    assert_eq!(moved.base_url, format!("https://{MOVED_HOST}/v1"));
    assert!(moved.headers.contains_key("Authorization"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_entries_resolve_with_api_key_on_v1_and_only_through_the_gateway_on_classic() {
    let env = TestEnv::new();
    let next = env.add(
        Draft::new("Azure Next")
            .base_url("https://api.example.com")
            .azure(None)
            .key(KEY)
            .models(&["gpt4o-prod"])
            .json(),
    );
    let classic = env.add(
        Draft::new("Azure Classic")
            .base_url("https://api.example.com")
            .azure(Some("2024-10-21"))
            .key(KEY)
            .models(&["gpt4o-prod"])
            .json(),
    );
    let server = env.start().await;
    let (host, token) = paired_with_raw_keys(&env, &server).await;
    let resolved = host
        .resolve_with(&token, &format!("{next}/gpt4o-prod"), 1)
        .await
        .expect("the v1 API is OpenAI-compatible with its api-key header");
    assert_eq!(resolved.base_url, "https://api.example.com/openai/v1");
    assert_eq!(
        resolved.headers.get("api-key").map(String::as_str),
        Some(KEY)
    );
    assert!(!resolved.headers.contains_key("Authorization"));

    let (reason, message) = refused(
        host.resolve_with(&token, &format!("{classic}/gpt4o-prod"), 1)
            .await,
    );
    assert_eq!(reason, "raw_keys_not_allowed", "{message}");
    assert!(message.contains("gateway"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_limited_to_some_entries_cannot_resolve_the_others() {
    let env = TestEnv::new();
    let id = env.add(Draft::new("Cloud").key(KEY).models(&["m1", "m2"]).json());
    let server = env.start().await;
    let (host, token) = paired_with_raw_keys(&env, &server).await;
    assert!(env
        .registry()
        .set_entries("com.example.tester", Some(vec![format!("{id}/m2")]))
        .expect("limited"));
    for protocol in [1, 2] {
        let (reason, message) = refused(
            host.resolve_with(&token, &format!("{id}/m1"), protocol)
                .await,
        );
        assert_eq!(reason, "entry_not_allowed", "{message}");
        assert!(message.contains("Connected apps"), "{message}");
    }
    let allowed = host
        .resolve_with(&token, &format!("{id}/m2"), 1)
        .await
        .expect("the allowed entry");
    assert!(allowed.headers.contains_key("Authorization"));
    let hosts = env.registry().list().expect("hosts");
    assert_eq!(hosts[0].entries, Some(vec![format!("{id}/m2")]));
}
