//! Broken and hostile clients: the server answers with JSON-RPC errors,
//! keeps the connection usable where it can, and keeps serving everyone else.

use std::time::{Duration, Instant};

use patchbay_client::Client;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::support::{Raw, TestEnv, LOCAL};
use patchbay_testkit::Draft;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_errors_and_the_connection_stays_usable() {
    let env = TestEnv::new();
    env.add(Draft::new("Local").local(LOCAL).models(&["m"]).json());
    let server = env.start().await;
    let mut raw = Raw::connect(server.endpoint()).await;

    raw.send("{this is not json").await;
    let parse = raw.read().await;
    assert_eq!(parse["error"]["code"], -32700);
    assert_eq!(parse["error"]["data"]["kind"], "parse_error");
    assert!(parse["id"].is_null());

    raw.send(r#"[{"jsonrpc":"2.0","id":1,"method":"patchbay.hello"}]"#)
        .await;
    assert_eq!(raw.read().await["error"]["code"], -32600);

    raw.send(r#"{"jsonrpc":"1.0","id":2,"method":"patchbay.hello"}"#)
        .await;
    let wrong_version = raw.read().await;
    assert_eq!(wrong_version["error"]["code"], -32600);
    assert_eq!(wrong_version["id"], 2);

    let unknown = raw.call(3, "entries.delete_everything", None).await;
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(unknown["error"]["data"]["kind"], "method_not_found");
    assert_eq!(unknown["id"], 3);

    let bad_params = raw.call(4, "host.pair", Some(json!({"app_id": 5}))).await;
    assert_eq!(bad_params["error"]["code"], -32602);

    // A notification (no id) gets no answer: the next answer is for id 5.
    raw.send(r#"{"jsonrpc":"2.0","method":"patchbay.hello"}"#)
        .await;
    let hello = raw.call(5, "patchbay.hello", None).await;
    assert_eq!(hello["id"], 5);
    assert_eq!(hello["result"]["protocol"], 1);

    let list = raw.call(6, "entries.list", None).await;
    assert_eq!(
        list["result"]["entries"].as_array().expect("entries").len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_skipped_and_the_connection_resyncs() {
    let env = TestEnv::new();
    let server = env.start().await;
    let mut raw = Raw::connect(server.endpoint()).await;

    // 1 MiB + 1 of payload, in pieces, then a newline.
    let chunk = vec![b'x'; 64 * 1024];
    let writer = async {
        for _ in 0..16 {
            raw.writer.write_all(&chunk).await.expect("write");
        }
        raw.writer.write_all(b"x\n").await.expect("write");
    };
    writer.await;
    let error = raw.read().await;
    assert_eq!(error["error"]["code"], -32008);
    assert_eq!(error["error"]["data"]["kind"], "frame_too_large");

    let hello = raw.call(1, "patchbay.hello", None).await;
    assert_eq!(
        hello["result"]["protocol"], 1,
        "the same connection still works"
    );

    // Exactly 1 MiB is allowed: a valid request padded with spaces.
    let request = r#"{"jsonrpc":"2.0","id":2,"method":"patchbay.hello"}"#;
    let mut padded = request.as_bytes().to_vec();
    padded.resize(1024 * 1024, b' ');
    raw.send_bytes(&padded).await;
    raw.send_bytes(b"\n").await;
    assert_eq!(raw.read().await["id"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let env = TestEnv::new();
    let models: Vec<String> = (0..200).map(|index| format!("model-{index}")).collect();
    let models: Vec<&str> = models.iter().map(String::as_str).collect();
    env.add(Draft::new("Big").local(LOCAL).models(&models).json());
    let server = env.start().await;

    // Subscribes, then floods list requests and never reads a byte.
    let mut stuck = Raw::connect(server.endpoint()).await;
    stuck
        .send(r#"{"jsonrpc":"2.0","id":0,"method":"entries.subscribe"}"#)
        .await;
    // Far more than the socket buffers hold, so this writer blocks too.
    let flood = format!(
        "{}\n",
        r#"{"jsonrpc":"2.0","id":1,"method":"entries.list"}"#
    )
    .repeat(50_000);
    let stuck_writer = tokio::spawn(async move {
        // Ends with an error once the server gives up on this client.
        let written = stuck.writer.write_all(flood.as_bytes()).await;
        (stuck, written)
    });

    // Meanwhile everybody else is served promptly, and changes still flow.
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    for _ in 0..50 {
        let started = Instant::now();
        let entries = client.list_entries().await.expect("list");
        assert_eq!(entries.len(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "served promptly"
        );
    }
    for round in 0..3 {
        env.add(
            Draft::new(&format!("Extra {round}"))
                .local(LOCAL)
                .models(&["m"])
                .json(),
        );
        server.notify_config_changed().expect("refresh");
        let changed = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("in time")
            .expect("list");
        assert_eq!(changed.len(), 201 + round);
    }

    // The stuck client is disconnected (write timeout) rather than kept.
    #[cfg(unix)]
    {
        let (_stuck, written) = tokio::time::timeout(Duration::from_secs(30), stuck_writer)
            .await
            .expect("gave up in time")
            .expect("join");
        assert!(written.is_err(), "the server closed the stuck connection");
        assert_eq!(
            server.subscriber_count(),
            1,
            "only the reading subscriber is left"
        );
    }
    // On Windows the server lets go of it just the same (no subscription,
    // no task), but the pipe instance only closes once the write the
    // server had in flight completes, i.e. when that client reads or exits
    // (tokio/mio never cancel a pending pipe write). Its own write stays
    // blocked meanwhile: that is the stuck client's problem, not ours.
    #[cfg(windows)]
    {
        crate::support::eventually(Duration::from_secs(30), || server.subscriber_count() == 1)
            .await;
        stuck_writer.abort();
    }
    assert_eq!(
        client.list_entries().await.expect("still serving").len(),
        203
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_connects_and_sends_nothing_is_harmless() {
    let env = TestEnv::new();
    let server = env.start().await;
    let idle: Vec<Raw> = futures_join(server.endpoint(), 20).await;
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    assert_eq!(client.hello().await.expect("hello").protocol, 2);
    assert!(server.connection_count() >= 21);
    drop(idle);
    crate::support::eventually(Duration::from_secs(5), || server.connection_count() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sleepers_are_closed_but_subscribers_stay() {
    let env = TestEnv::new();
    let server = patchbay_ipc::Server::start(patchbay_ipc::ServerOptions {
        idle_timeout: Duration::from_millis(300),
        ..env.options()
    })
    .await
    .expect("start");
    let sleepers: Vec<Raw> = futures_join(server.endpoint(), 10).await;
    let subscriber = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let _subscription = subscriber.subscribe().await.expect("subscribe");
    // The ten that never said anything are closed; the subscriber is not.
    crate::support::eventually(Duration::from_secs(5), || server.connection_count() == 1).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(subscriber.hello().await.expect("still served").protocol, 2);
    drop(sleepers);
}

async fn futures_join(socket: &std::path::Path, count: usize) -> Vec<Raw> {
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        connections.push(Raw::connect(socket).await);
    }
    connections
}
