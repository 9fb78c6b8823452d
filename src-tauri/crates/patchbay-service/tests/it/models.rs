//! Discovery and the recorded refresh through the service.

use patchbay_core::Kind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use patchbay_core::store::ProviderStore;
use patchbay_service::{Service, Subject};
use patchbay_testkit::{handler, models_body, Canned, Server};

use crate::support::{local_draft, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_last_good_list_marked_stale() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = Server::http(handler(move |_| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            Canned::json(200, models_body(&["m1", "m2"]))
        } else {
            Canned::json(503, r#"{"error":{"message":"overloaded"}}"#)
        }
    }))
    .await
    .expect("server");
    let world = World::new("refresh");
    let id = world.save(local_draft(
        "Local",
        server.url("/v1").expect("url").as_str(),
    ));

    let fresh = world
        .service
        .refresh_models(id.clone())
        .await
        .expect("refreshed");
    assert!(!fresh.stale);
    assert!(fresh.failure.is_none());
    let ids: Vec<&str> = fresh.models.iter().map(|model| model.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2"]);

    let stale = world
        .service
        .refresh_models(id.clone())
        .await
        .expect("the last good list");
    assert!(stale.stale);
    assert_eq!(
        stale
            .failure
            .as_ref()
            .map(|failure| failure.kind().as_str()),
        Some("server_error")
    );
    assert_eq!(stale.models.len(), 2);
    assert_eq!(stale.fetched_at, fresh.fetched_at);
    let catalog = stale.provider.catalog.expect("catalog");
    assert!(catalog.stale);
    assert!(catalog.last_error.is_some());

    // Discovery of the saved provider records nothing.
    let before = world.service.provider(&id).expect("provider").catalog;
    let error = world
        .service
        .discover_models(Subject::Saved(id.clone()))
        .await
        .expect_err("the server still fails");
    assert_eq!(error.kind(), Kind::ServerError);
    assert_eq!(
        world.service.provider(&id).expect("provider").catalog,
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_credential_never_reaches_the_stored_catalog_or_last_test() {
    const ECHOED: &str = "sk-live-EchoedByTheGateway0123456789";
    let server = Server::http(handler(|_| {
        Canned::json(
            500,
            format!(r#"{{"error":{{"message":"upstream refused key {ECHOED}"}}}}"#),
        )
    }))
    .await
    .expect("server");
    let world = World::new("echo");
    let id = world.save(local_draft(
        "Echo",
        server.url("/v1").expect("url").as_str(),
    ));
    // A first refresh that fails is an error, and is recorded (stale, why).
    let failed = world.service.refresh_models(id.clone()).await;
    assert!(failed.is_err());
    let report = world
        .service
        .test(
            patchbay_service::TestRequest::new(Subject::Saved(id.clone())),
            &|_| {},
        )
        .await
        .expect("a report");
    assert!(!report.ok);
    let stored = std::fs::read_to_string(&world.service.store().paths().file).expect("config");
    assert!(stored.contains("[redacted]"), "{stored}");
    assert!(!stored.contains(ECHOED), "{stored}");
    assert!(!serde_json::to_string(&report)
        .expect("json")
        .contains(ECHOED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_http_client_every_network_use_case_says_so() {
    let root = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(ProviderStore::new(
        patchbay_core::config::ConfigPaths::in_dir(root.path()),
        Arc::new(patchbay_core::keychain::MemoryStore::new()),
    ));
    let service = Service::offline(store, "no TLS roots");
    let draft = local_draft("Local", "http://127.0.0.1:9/v1");
    let error = service
        .discover_models(Subject::draft(draft))
        .await
        .expect_err("offline");
    assert_eq!(error.kind(), Kind::NetworkUnavailable);
    assert!(error.to_string().contains("no TLS roots"), "{error}");
}
