//! The rest of the gateway's error rows — DNS, TLS, a withheld key, an
//! unavailable keychain — and an answer that echoes the key.

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::config::ConfigPaths;
use patchbay_core::keychain::MemoryStore;
use patchbay_core::store::ProviderStore;
use patchbay_gateway::{Gateway, GatewayOptions};
use patchbay_net::policy::StaticLookup;
use patchbay_net::{ClientOptions, HttpClient};
use patchbay_service::{HostRegistry, Service};
use patchbay_testkit::{handler, Canned, Draft, Server};

use crate::support::{chat_request, keyed, send, World, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_tls_and_a_withheld_key_have_their_status_and_code() {
    let plain = Server::http(handler(|_| Canned::json(200, "{}")))
        .await
        .expect("server");
    let moved = Server::http(handler(|_| Canned::json(200, "{}")))
        .await
        .expect("server");
    let world = World::new(&[
        Draft::new("Nowhere")
            .base_url("https://nowhere.example.test/v1")
            .key(KEY)
            .models(&["m"]),
        // https to a server that speaks plain http: the handshake fails.
        keyed(
            "Not TLS",
            &plain.at("/v1").replace("http://", "https://"),
            &["m"],
        ),
        keyed("Moved", &moved.at("/v1"), &["m"]),
    ])
    .await;
    // Someone edits providers.json: the key was given for another origin.
    let file = world.store.paths().file.clone();
    let text = std::fs::read_to_string(&file).expect("config");
    let other = format!("http://127.0.0.1:{}/v1", plain.port());
    std::fs::write(&file, text.replace(&moved.at("/v1"), &other)).expect("hand edit");

    for (model, status, code) in [
        ("nowhere/m", 502, "dns_failed"),
        ("not-tls/m", 502, "tls_failed"),
        ("moved/m", 503, "key_withheld"),
    ] {
        let answer = world
            .post("chat/completions", &format!(r#"{{"model":"{model}"}}"#))
            .await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{model}: {}",
            answer.text()
        );
        assert!(!answer.text().contains(KEY));
    }
    assert!(
        plain.seen().is_empty(),
        "the withheld key's request and the TLS attempt sent no HTTP request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_keychain_is_503_with_what_to_do() {
    let upstream = Server::http(handler(|_| Canned::json(200, "{}")))
        .await
        .expect("server");
    let root = tempfile::tempdir().expect("dir");
    let paths = ConfigPaths::in_dir(root.path().join("config"));
    let secrets = Arc::new(MemoryStore::new());
    let store = Arc::new(ProviderStore::new(paths.clone(), secrets.clone()));
    store
        .add(keyed("Local", &upstream.at("/v1"), &["m"]).parse())
        .expect("add");
    let service = Arc::new(Service::with_network(
        store,
        Arc::new(HttpClient::new(ClientOptions::default()).expect("client")),
        Arc::new(StaticLookup::default()),
    ));
    let registry = HostRegistry::in_dir(&paths.dir);
    let (_, token) = registry.issue("com.example.app", "App").expect("token");
    let gateway = Gateway::start(
        GatewayOptions::at("127.0.0.1:0".parse().expect("addr")),
        service,
        registry,
    )
    .await
    .expect("gateway");
    secrets.set_unavailable(true);
    let addr = gateway.local_addr();
    let body = r#"{"model":"local/m"}"#;
    let answer = send(addr, &chat_request(addr, &token, "", body, true)).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (503, "keychain_unavailable"),
        "{}",
        answer.text()
    );
    assert!(answer.text().contains("keychain"), "{}", answer.text());
    assert!(upstream.seen().is_empty());
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_answer_that_echoes_the_key_is_redacted_by_value_only() {
    let echo = format!(
        r#"{{"choices":[{{"message":{{"content":"your key is {KEY}; a token looks like sk-proj-abcdefghijklmnopqrstuvwxyz0123"}}}}]}}"#
    );
    let upstream = Server::http(handler(move |_| Canned::json(200, echo.clone())))
        .await
        .expect("server");
    let world = World::new(&[keyed("Local", &upstream.at("/v1"), &["m"])]).await;
    let answer = world
        .post("chat/completions", r#"{"model":"local/m"}"#)
        .await;
    assert_eq!(answer.status, 200);
    let text = answer.text();
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("your key is [redacted];"), "{text}");
    // Model output that merely looks like a key is not touched.
    assert!(
        text.contains("sk-proj-abcdefghijklmnopqrstuvwxyz0123"),
        "{text}"
    );
}
