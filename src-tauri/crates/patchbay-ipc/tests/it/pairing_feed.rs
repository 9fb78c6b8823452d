//! `hosts.subscribe`: what a Patchbay window sees when another process
//! serves the socket. A subscriber gets the requests already waiting, then
//! each new request and its decision as they happen (through the client
//! crate and as raw frames), and the feed ends when the server stops.

use std::time::Duration;

use patchbay_client::{Client, HostsChanged, PairingNotice, PairingSubscription};
use patchbay_protocol::rpc::PendingPairing;
use serde_json::json;

use crate::support::{Raw, TestEnv, LOCAL};
use patchbay_testkit::Draft;

const NOTICE_TIMEOUT: Duration = Duration::from_secs(10);

async fn next_notice(feed: &mut PairingSubscription) -> PairingNotice {
    tokio::time::timeout(NOTICE_TIMEOUT, feed.next())
        .await
        .expect("a notice in time")
        .expect("the feed is open")
}

async fn next_request(feed: &mut PairingSubscription) -> PendingPairing {
    match next_notice(feed).await {
        PairingNotice::Requested(request) => request,
        other => panic!("expected a pairing request, got {other:?}"),
    }
}

async fn next_change(feed: &mut PairingSubscription) -> HostsChanged {
    match next_notice(feed).await {
        PairingNotice::Changed(changed) => changed,
        other => panic!("expected hosts.changed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_each_request_arrive_and_how_it_was_decided() {
    let env = TestEnv::new();
    let provider = env.add(
        Draft::new("Ollama")
            .local(LOCAL)
            .models(&["llama3.2"])
            .json(),
    );
    let server = env.start().await;
    let admin = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let hello = admin.hello().await.expect("hello");
    assert!(hello
        .methods
        .iter()
        .any(|method| method == "hosts.subscribe"));
    assert!(hello
        .methods
        .iter()
        .any(|method| method == "hosts.unsubscribe"));

    let mut feed = admin.subscribe_pairings().await.expect("subscribe");
    assert!(feed.pending().is_empty());

    // A host asks: the subscriber hears of it without polling.
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.editor", "Example Editor").await }
    });
    let request = next_request(&mut feed).await;
    assert_eq!(request.app_id, "com.example.editor");
    assert_eq!(request.app_name, "Example Editor");

    // Allowed over the admin methods, as the window does in that mode.
    admin
        .approve_pairing(&request.request_id, env.admin_secret().expose())
        .await
        .expect("approve");
    let approved = next_change(&mut feed).await;
    assert_eq!(approved.reason, "approved");
    assert_eq!(approved.request_id.as_deref(), Some(&*request.request_id));
    assert_eq!(approved.app_id.as_deref(), Some("com.example.editor"));
    let token = pairing.await.expect("join").expect("approved").token;
    host.resolve(&token, &format!("{provider}/llama3.2"))
        .await
        .expect("the token works");
    let used = next_change(&mut feed).await;
    assert_eq!(
        (used.reason.as_str(), used.app_id.as_deref()),
        ("resolved", Some("com.example.editor"))
    );

    // Denied: the subscriber sees the request and the refusal.
    let refused = tokio::spawn({
        let host = host.clone();
        async move { host.pair("org.example.terminal", "Terminal").await }
    });
    let request = next_request(&mut feed).await;
    assert_eq!(request.app_name, "Terminal");
    server.pairings().deny(&request.request_id).expect("deny");
    let denied = next_change(&mut feed).await;
    assert_eq!(denied.reason, "denied");
    assert_eq!(denied.request_id.as_deref(), Some(&*request.request_id));
    assert!(refused.await.expect("join").is_err());

    // Revoked: the subscriber is told which app.
    assert!(admin
        .revoke_host("com.example.editor", env.admin_secret().expose())
        .await
        .expect("revoke"));
    let revoked = next_change(&mut feed).await;
    assert_eq!(
        (revoked.reason.as_str(), revoked.app_id.as_deref()),
        ("revoked", Some("com.example.editor"))
    );

    // The server stops: the feed ends instead of hanging.
    server.shutdown().await;
    let ended = tokio::time::timeout(NOTICE_TIMEOUT, feed.next())
        .await
        .expect("the feed ends in time");
    assert_eq!(ended, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_already_waiting_is_listed_once_and_its_expiry_is_notified() {
    let env = TestEnv::new();
    let mut options = env.options();
    options.pairing_timeout = Duration::from_millis(1500);
    let server = patchbay_ipc::Server::start(options)
        .await
        .expect("server starts");
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn(async move { host.pair("com.example.early", "Early").await });
    let waiting = {
        let mut events = server.pairings().subscribe();
        match server.pairings().pending().into_iter().next() {
            Some(request) => request,
            None => match events.recv().await {
                Ok(patchbay_ipc::PairingEvent::Requested(request)) => request,
                other => panic!("expected the request, got {other:?}"),
            },
        }
    };

    let admin = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut feed = admin.subscribe_pairings().await.expect("subscribe");
    assert_eq!(feed.pending(), std::slice::from_ref(&waiting));
    // Nobody decides: the next notice is the expiry, not the request again.
    let expired = next_change(&mut feed).await;
    assert_eq!(expired.reason, "expired");
    assert_eq!(expired.request_id.as_deref(), Some(&*waiting.request_id));
    assert!(pairing.await.expect("join").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_frames_answer_first_then_notify_until_unsubscribed() {
    let env = TestEnv::new();
    let server = env.start().await;
    let mut raw = Raw::connect(server.endpoint()).await;
    let answer = raw.call(1, "hosts.subscribe", None).await;
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": 1, "result": {"pending": []}})
    );

    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.raw", "Raw Host").await }
    });
    let requested = raw.read().await;
    assert_eq!(
        requested["method"], "hosts.pairing_requested",
        "{requested}"
    );
    assert!(requested.get("id").is_none(), "a notification: {requested}");
    assert_eq!(requested["params"]["app_name"], "Raw Host");
    let request_id = requested["params"]["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();

    let unsubscribed = raw.call(2, "hosts.unsubscribe", None).await;
    assert_eq!(unsubscribed["result"], json!({"subscribed": false}));
    // After unsubscribing, the decision arrives only as the answer to the
    // call that made it: the next frame on this connection is that answer.
    let denied = raw
        .call(
            3,
            "hosts.deny",
            Some(json!({"request_id": request_id, "admin": env.admin_secret().expose()})),
        )
        .await;
    assert_eq!(denied["id"], 3, "no notification in between: {denied}");
    assert_eq!(denied["result"]["app_id"], "com.example.raw");
    assert!(pairing.await.expect("join").is_err());
}
