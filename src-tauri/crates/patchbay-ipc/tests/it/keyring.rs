//! Resolve with the real Secret Service (run the suite under
//! `dbus-run-session` with an unlocked gnome-keyring; see the README).

use std::sync::Arc;

use patchbay_client::Client;
use patchbay_core::keychain::KeyringStore;
use patchbay_core::store::ProviderStore;
use patchbay_ipc::{Server, ServerOptions};

use crate::support::{eventually, TestEnv};
use patchbay_testkit::Draft;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_reads_the_key_from_the_real_keychain() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no session bus: this test needs a real Secret Service; run the suite with scripts/test.sh \
         (or under dbus-run-session with an unlocked gnome-keyring)"
    );
    // A service name of our own, so the person's real items are never touched.
    let service = format!("patchbay-ipc-test-{}", std::process::id());
    let env = TestEnv::with_secrets(Arc::new(KeyringStore::with_service(service.clone())));
    let key = "sk-real-keyring-canary-0c1d2e3f";
    let id = env.add(
        Draft::new("Keyring")
            .key(key)
            .models(&["gpt-4o-mini"])
            .json(),
    );
    // The server gets a store of its own, so the key cannot come from the
    // adding store's in-memory cache: it has to be read from the keychain.
    let fresh = Arc::new(ProviderStore::new(
        env.store.paths().clone(),
        Arc::new(KeyringStore::with_service(service.clone())),
    ));
    let server = Server::start(ServerOptions::at(
        env.endpoint(),
        crate::support::service_over(fresh),
    ))
    .await
    .expect("start");
    let host = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.keyring", "Keyring Test").await }
    });
    let mut request = None;
    eventually(std::time::Duration::from_secs(5), || {
        request = server.pairings().pending().into_iter().next();
        request.is_some()
    })
    .await;
    server
        .pairings()
        .approve(&request.expect("pending").request_id)
        .expect("approve");
    let token = pairing.await.expect("join").expect("paired").token;
    // The raw key (protocol 1), which the person allowed for this app.
    assert!(env
        .registry()
        .set_raw_keys("com.example.keyring", true)
        .expect("allow raw keys"));
    let resolved = host
        .resolve_with(&token, &format!("{id}/gpt-4o-mini"), 1)
        .await
        .expect("resolve");
    assert_eq!(
        resolved.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {key}").as_str())
    );
    env.store
        .remove(&id)
        .expect("delete the provider and its keychain item");
}
