//! Pairing and resolve: approve (in the app and over the admin methods),
//! deny, revoke, made-up tokens, what resolve returns, what is stored.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchbay_client::{Client, ErrorKind};
use patchbay_ipc::{admin, PairingEvent};
use patchbay_protocol::rpc::PendingPairing;
use serde_json::json;

use crate::support::{all_file_contents, contains, eventually, TestEnv, LOCAL};
use patchbay_testkit::Draft;

const KEY: &str = "sk-test-pairing-canary-7f3a9c";
const SECRET_HEADER: &str = "cf-secret-canary-55aa";

async fn wait_for_pending(server: &patchbay_ipc::ServerHandle) -> PendingPairing {
    let mut found = None;
    eventually(Duration::from_secs(5), || {
        found = server.pairings().pending().into_iter().next();
        found.is_some()
    })
    .await;
    found.expect("a pending request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_then_resolve_returns_the_right_headers() {
    let env = TestEnv::new();
    let mut keyed = Draft::new("Gateway")
        .key(KEY)
        .models(&["org/model:tag"])
        .json();
    keyed["headers"] = json!([
        {"name": "HTTP-Referer", "value": "https://example.com", "secret": false},
        {"name": "CF-Access-Client-Secret", "value": SECRET_HEADER, "secret": true}
    ]);
    let gateway = env.add(keyed);
    let local = env.add(
        Draft::new("Ollama")
            .local(LOCAL)
            .models(&["qwen2.5:7b"])
            .json(),
    );

    let prompts: Arc<Mutex<Vec<PendingPairing>>> = Arc::default();
    let mut options = env.options();
    let seen = Arc::clone(&prompts);
    options.on_pairing_request = Some(Arc::new(move |request: &PendingPairing| {
        seen.lock().expect("lock").push(request.clone());
    }));
    let server = patchbay_ipc::Server::start(options).await.expect("start");
    let mut events = server.pairings().subscribe();

    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.editor", "Example Editor").await }
    });
    let request = wait_for_pending(&server).await;
    assert_eq!(request.app_name, "Example Editor");
    // Which process asked comes from the OS, not from the request.
    let requester = request.requester.clone().expect("the peer process");
    assert_eq!(requester.pid, std::process::id());
    #[cfg(target_os = "linux")]
    assert_eq!(
        requester.executable.as_deref().map(std::path::Path::new),
        std::env::current_exe().ok().as_deref()
    );
    assert_eq!(prompts.lock().expect("lock").len(), 1, "the app was asked");
    assert!(matches!(
        events.recv().await,
        Ok(PairingEvent::Requested(_))
    ));
    // The CLI sees it too, over the admin methods.
    let listed = admin::pending(Some(server.endpoint()))
        .await
        .expect("pending over the socket");
    assert_eq!(listed[0].request_id, request.request_id);

    server
        .pairings()
        .approve(&request.request_id)
        .expect("Allow clicked");
    let paired = pairing.await.expect("join").expect("approved");
    assert!(paired.token.starts_with("pbt_"));

    // Protocol 2 (what patchbay-client speaks): the gateway and the app's
    // own token; the provider's key stays in Patchbay.
    let entry = format!("{gateway}/org/model:tag");
    let through = host.resolve(&paired.token, &entry).await.expect("resolve");
    assert_eq!(Some(through.base_url.clone()), server.gateway_base_url());
    assert_eq!(through.model_id, entry);
    assert_eq!(
        through.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {}", paired.token).as_str())
    );
    assert_eq!(through.headers.len(), 1);

    // Protocol 1 asks for the raw key: refused until the person allows it.
    let refused = host
        .resolve_with(&paired.token, &entry, 1)
        .await
        .expect_err("no raw key without the person's yes");
    assert_eq!(refused.rpc_reason(), Some("raw_keys_not_allowed"));
    assert!(!refused.to_string().contains(KEY));
    assert!(env
        .registry()
        .set_raw_keys("com.example.editor", true)
        .expect("allow"));
    let resolved = host
        .resolve_with(&paired.token, &entry, 1)
        .await
        .expect("resolve the raw key");
    assert_eq!(resolved.base_url, "https://api.example.com/v1");
    assert_eq!(resolved.model_id, "org/model:tag");
    assert_eq!(
        resolved.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        resolved.headers.get("HTTP-Referer").map(String::as_str),
        Some("https://example.com")
    );
    assert_eq!(
        resolved
            .headers
            .get("CF-Access-Client-Secret")
            .map(String::as_str),
        Some(SECRET_HEADER)
    );
    assert!(
        !format!("{resolved:?}").contains(KEY),
        "Debug shows header names only"
    );

    let no_auth = host
        .resolve_with(&paired.token, &format!("{local}/qwen2.5:7b"), 1)
        .await
        .expect("resolve no-auth");
    assert_eq!(no_auth.base_url, "http://127.0.0.1:11434/v1");
    assert!(
        no_auth.headers.is_empty(),
        "no Authorization for a no-auth provider: {:?}",
        no_auth.headers.keys()
    );

    // Recorded: the log and last_used, visible to the app (live, as
    // events) and to the CLI.
    let mut resolved_events = 0;
    while let Ok(event) = events.try_recv() {
        if let PairingEvent::Resolved(record) = event {
            assert_eq!(record.app_id, "com.example.editor");
            resolved_events += 1;
        }
    }
    // Three resolves: through the gateway, the raw key, the no-auth one
    // (the refused one is not recorded).
    assert_eq!(resolved_events, 3);
    let log = server.pairings().resolve_log().expect("log");
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].app_id, "com.example.editor");
    assert_eq!(log[2].entry_id, format!("{local}/qwen2.5:7b"));
    assert_eq!(
        log[2].requester.as_ref().map(|requester| requester.pid),
        Some(std::process::id()),
        "the log names the process that resolved"
    );
    let over_socket = host.resolve_log().await.expect("log over the socket");
    assert_eq!(over_socket.len(), 3);
    let hosts = admin::list(&env.registry()).expect("hosts");
    assert_eq!(hosts.len(), 1);
    assert!(hosts[0].last_used.is_some());

    // Unknown or disabled entries are not found (for a paired host).
    let missing = host
        .resolve(&paired.token, &format!("{local}/nope"))
        .await
        .expect_err("unknown model");
    assert_eq!(missing.rpc_kind(), Some("not_found"));
    assert_eq!(missing.rpc_reason(), Some("entry_not_found"));
    env.store.set_enabled(&local, false).expect("disable");
    let disabled = host
        .resolve(&paired.token, &format!("{local}/qwen2.5:7b"))
        .await
        .expect_err("disabled");
    assert_eq!(disabled.rpc_code(), Some(-32005));

    // The raw token and the key are in no file Patchbay wrote.
    for (path, bytes) in all_file_contents(env.world.root()) {
        assert!(
            !contains(&bytes, paired.token.as_bytes()),
            "token found in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, &paired.token.as_bytes()[4..]),
            "token body found in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, KEY.as_bytes()),
            "key found in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, SECRET_HEADER.as_bytes()),
            "secret header found in {}",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_from_the_terminal_deny_and_made_up_tokens() {
    let env = TestEnv::new();
    let local = env.add(Draft::new("Local").local(LOCAL).models(&["m"]).json());
    let server = env.start().await;
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let entry = format!("{local}/m");

    // A made-up token: refused, and it reveals nothing about entries.
    let made_up = host
        .resolve(
            "pbt_0000000000000000000000000000000000000000000000000000000000000000",
            &entry,
        )
        .await;
    let made_up = made_up.expect_err("made-up token");
    assert_eq!(made_up.rpc_code(), Some(-32001));
    assert_eq!(made_up.rpc_kind(), Some("unauthorized"));
    let unpaired_unknown = host
        .resolve("nonsense", "nope/nope")
        .await
        .expect_err("unauthorized first");
    assert_eq!(unpaired_unknown.rpc_kind(), Some("unauthorized"));

    // Deny: an error, no token, nobody paired.
    let denied = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.denied", "Denied App").await }
    });
    let request = wait_for_pending(&server).await;
    let secret = env.admin_secret();
    let refused = admin::deny(Some(server.endpoint()), &request.request_id, &secret)
        .await
        .expect("deny over the socket");
    assert_eq!(refused.app_id, "com.example.denied");
    let error = denied.await.expect("join").expect_err("denied");
    assert_eq!(error.rpc_kind(), Some("pairing_denied"));
    assert_eq!(error.rpc_code(), Some(-32002));
    assert!(admin::list(&env.registry()).expect("hosts").is_empty());
    let again = admin::approve(Some(server.endpoint()), &request.request_id, &secret)
        .await
        .expect_err("already decided");
    assert!(again.to_string().contains("is waiting"), "{again}");

    // Approve from a terminal (`patchbay hosts approve`), then revoke with
    // no server involved: the next resolve is refused.
    let approved = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.cli", "CLI Approved").await }
    });
    let request = wait_for_pending(&server).await;
    let paired_host = admin::approve(Some(server.endpoint()), &request.request_id, &secret)
        .await
        .expect("approve over the socket");
    assert_eq!(paired_host.app_name, "CLI Approved");
    let token = approved.await.expect("join").expect("approved").token;
    host.resolve(&token, &entry)
        .await
        .expect("works while paired");

    assert!(admin::revoke(&env.registry(), "com.example.cli").expect("revoke in hosts.json"));
    let revoked = host.resolve(&token, &entry).await.expect_err("revoked");
    assert_eq!(revoked.rpc_kind(), Some("unauthorized"));
    assert_eq!(revoked.rpc_reason(), Some("token_rejected"));
    assert!(revoked.to_string().contains("Pair again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_disconnects_withdraws_its_request() {
    let env = TestEnv::new();
    let server = env.start().await;
    let mut events = server.pairings().subscribe();
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let waiting = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.gone", "Gone").await }
    });
    let request = wait_for_pending(&server).await;
    waiting.abort();
    drop(host);
    eventually(Duration::from_secs(5), || {
        server.pairings().pending().is_empty()
    })
    .await;
    let mut expired = false;
    while let Ok(event) = events.try_recv() {
        expired |= matches!(event, PairingEvent::Expired { ref request_id, .. } if *request_id == request.request_id);
    }
    assert!(expired, "the UI is told the prompt is gone");
    assert!(server.pairings().approve(&request.request_id).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_without_a_server_say_it_is_not_running() {
    let env = TestEnv::new();
    let error = admin::pending(Some(&env.endpoint()))
        .await
        .expect_err("no server");
    match error {
        patchbay_ipc::IpcError::Client(client) => assert_eq!(client.kind(), ErrorKind::NotRunning),
        other => panic!("expected not running, got {other:?}"),
    }
    // list and revoke work on hosts.json alone.
    assert!(admin::list(&env.registry()).expect("list").is_empty());
    assert!(!admin::revoke(&env.registry(), "nobody").expect("revoke"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_waits_for_one_pairing_at_a_time() {
    let env = TestEnv::new();
    let server = env.start().await;
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let first = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.first", "First").await }
    });
    let request = wait_for_pending(&server).await;
    // A second request on the same connection, even for another app id,
    // is refused at once: one client cannot fill every pending slot.
    let second = host
        .pair("com.example.second", "Second")
        .await
        .expect_err("one at a time");
    assert_eq!(second.rpc_kind(), Some("busy"), "{second}");
    assert_eq!(server.pairings().pending().len(), 1);

    server.pairings().deny(&request.request_id).expect("deny");
    assert!(first.await.expect("join").is_err());
    // Decided: the connection may ask again.
    let again = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.second", "Second").await }
    });
    let request = wait_for_pending(&server).await;
    assert_eq!(request.app_id, "com.example.second");
    server.pairings().deny(&request.request_id).expect("deny");
    assert!(again.await.expect("join").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_cannot_approve_its_own_pairing_without_the_admin_secret() {
    let env = TestEnv::new();
    let server = env.start().await;
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.sneaky", "Sneaky").await }
    });
    let request = wait_for_pending(&server).await;
    // The same process, on another connection, tries to decide for the person.
    let sneaky = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    for attempt in ["", "guessed-admin-secret"] {
        let refused = sneaky
            .approve_pairing(&request.request_id, attempt)
            .await
            .expect_err("no admin secret");
        assert_eq!(refused.rpc_kind(), Some("unauthorized"), "{refused}");
        assert_eq!(refused.rpc_reason(), Some("admin_required"), "{refused}");
        let refused = sneaky
            .deny_pairing(&request.request_id, attempt)
            .await
            .expect_err("no admin secret");
        assert_eq!(refused.rpc_reason(), Some("admin_required"), "{refused}");
        let refused = sneaky
            .revoke_host("com.example.other", attempt)
            .await
            .expect_err("no admin secret");
        assert_eq!(refused.rpc_reason(), Some("admin_required"), "{refused}");
    }
    assert_eq!(
        server.pairings().pending().len(),
        1,
        "still waiting for the person"
    );

    // Patchbay's own CLI (`patchbay hosts approve`) holds the secret.
    let approved = admin::approve(
        Some(server.endpoint()),
        &request.request_id,
        &env.admin_secret(),
    )
    .await
    .expect("the person's decision");
    assert_eq!(approved.app_id, "com.example.sneaky");
    assert!(pairing.await.expect("join").is_ok());
}
