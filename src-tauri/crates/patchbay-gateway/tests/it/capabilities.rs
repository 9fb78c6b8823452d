//! "Check capabilities" against fakes that support and lack each
//! capability, that stall past the provider's timeout and that rate-limit:
//! what is recorded, with which source, and that a timeout or a rate limit
//! is never "unsupported".

use std::time::Duration;

use patchbay_core::model::{capabilities_of, Capability, Source, PROBED};
use patchbay_core::ProviderId;
use patchbay_gateway::capabilities::{check_capabilities, plan};
use patchbay_service::Service;
use patchbay_testkit::shapes::{capability_fake, Behaviour, FakeModel};
use patchbay_testkit::Server;
use tokio_util::sync::CancellationToken;

use crate::support::{keyed, service_over};

async fn check(
    model: FakeModel,
) -> (
    Server,
    tempfile::TempDir,
    Service,
    patchbay_gateway::capabilities::CheckReport,
) {
    let server = Server::http(capability_fake(&["fake-model"], model))
        .await
        .expect("server");
    let (root, service) =
        service_over(&[keyed("Fake", &server.at("/v1"), &["fake-model"]).timeout_secs(1)]);
    let id = ProviderId::parse("fake").expect("id");
    let report = check_capabilities(&service, &id, "fake-model", CancellationToken::new())
        .await
        .expect("checked");
    (server, root, service, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_does_everything_is_recorded_as_probed_with_the_advertised_limits() {
    let (server, _root, service, report) = check(FakeModel::all(Behaviour::Supports)).await;
    assert_eq!(report.entry_id, "fake/fake-model");
    for capability in PROBED {
        let outcome = report.probed.get(capability).expect("probed");
        assert_eq!(outcome.supported, Some(true), "{capability:?}: {outcome:?}");
    }
    // 1 model list + 4 chat requests, each the planned one.
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        5,
        "{:?}",
        seen.iter().map(|s| s.path.clone()).collect::<Vec<_>>()
    );
    let provider = service
        .provider(&ProviderId::parse("fake").expect("id"))
        .expect("provider");
    assert_eq!(plan(&provider, "fake-model").chat_requests, 4);
    let image: serde_json::Value = serde_json::from_slice(&seen[3].body).expect("json");
    let url = image["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .expect("url");
    assert!(
        url.starts_with("data:image/png;base64,iVBORw0KGgo"),
        "{url}"
    );

    // Stored per model, surviving a refresh; the limits are advertised.
    let refreshed = service
        .refresh_models(ProviderId::parse("fake").expect("id"))
        .await
        .expect("refresh");
    let model = &refreshed.provider.models[0];
    let capabilities = capabilities_of(model);
    assert_eq!(capabilities.tools.source, Source::Probed);
    assert!(capabilities.tools.at.is_some());
    assert_eq!(capabilities.context_window.value, Some(32768));
    assert_eq!(capabilities.context_window.source, Source::Advertised);
    assert_eq!(capabilities.max_output_tokens.value, Some(4096));
    let entries = service.entries().expect("entries");
    assert!(entries[0].capabilities.has(Capability::ImageInput));
    assert_eq!(entries[0].supports_tools, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_model_list_carries_the_capabilities_and_their_source() {
    let server = Server::http(capability_fake(
        &["fake-model"],
        FakeModel::all(Behaviour::Supports),
    ))
    .await
    .expect("server");
    let world =
        crate::support::World::new(&[keyed("Fake", &server.at("/v1"), &["fake-model"])]).await;
    let listed = world.get("models").await.json();
    assert_eq!(
        listed["data"][0]["capabilities"]["tools"]["source"],
        "unknown"
    );
    let id = ProviderId::parse("fake").expect("id");
    let mut probed = patchbay_core::model::ProbedCapabilities {
        at: time::OffsetDateTime::now_utc(),
        streaming: None,
        tools: Some(patchbay_core::model::ProbeOutcome::supported("called")),
        image_input: None,
        json_output: None,
    };
    probed.streaming = Some(patchbay_core::model::ProbeOutcome::unsupported("one piece"));
    world
        .store
        .record_capabilities(&id, "fake-model", probed)
        .expect("recorded");
    let listed = world.get("models").await.json();
    let capabilities = &listed["data"][0]["capabilities"];
    assert_eq!(capabilities["tools"]["value"], true);
    assert_eq!(capabilities["tools"]["source"], "probed");
    assert!(capabilities["tools"]["at"].is_string());
    assert_eq!(capabilities["streaming"]["value"], false);
    assert_eq!(listed["data"][0]["supports_tools"], true);
    assert_eq!(listed["data"][0]["display_name"], "fake-model · Fake");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_lacks_each_capability_is_recorded_as_unsupported() {
    let (_server, _root, service, report) = check(FakeModel::all(Behaviour::Lacks)).await;
    for capability in PROBED {
        let outcome = report.probed.get(capability).expect("probed");
        assert_eq!(
            outcome.supported,
            Some(false),
            "{capability:?}: {outcome:?}"
        );
        assert!(outcome.reason.is_none());
    }
    assert!(report
        .probed
        .tools
        .as_ref()
        .and_then(|o| o.detail.as_deref())
        .unwrap_or("")
        .contains("text instead"));
    assert!(report
        .probed
        .image_input
        .as_ref()
        .and_then(|o| o.detail.as_deref())
        .unwrap_or("")
        .contains("does not support"));
    let entries = service.entries().expect("entries");
    assert_eq!(entries[0].capabilities.json_output.value, Some(false));
    assert_eq!(entries[0].capabilities.json_output.source, Source::Probed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_or_a_rate_limit_is_recorded_with_its_reason_never_as_unsupported() {
    let (server, root, service) = {
        let server = Server::http(capability_fake(
            &["fake-model"],
            FakeModel {
                streaming: Behaviour::Supports,
                tools: Behaviour::Supports,
                image_input: Behaviour::Stalls(Duration::from_secs(3)),
                json_output: Behaviour::RateLimits,
            },
        ))
        .await
        .expect("server");
        let (root, service) =
            service_over(&[keyed("Fake", &server.at("/v1"), &["fake-model"]).timeout_secs(1)]);
        (server, root, service)
    };
    let id = ProviderId::parse("fake").expect("id");
    let report = check_capabilities(&service, &id, "fake-model", CancellationToken::new())
        .await
        .expect("checked");
    let image = report.probed.image_input.clone().expect("image");
    assert_eq!(image.supported, None, "{image:?}");
    assert_eq!(image.reason.as_deref(), Some("request_timeout"));
    let json = report.probed.json_output.clone().expect("json");
    assert_eq!(json.supported, None);
    assert_eq!(json.reason.as_deref(), Some("rate_limited"));
    assert!(
        json.detail.as_deref().unwrap_or("").contains("30 s"),
        "{json:?}"
    );
    let entry = &service.entries().expect("entries")[0];
    assert_eq!(entry.capabilities.json_output.source, Source::Unknown);
    assert_eq!(
        entry.capabilities.json_output.probe_failed.as_deref(),
        Some("rate_limited")
    );
    drop(server);
    drop(root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_chosen_model_is_checked_and_cancel_records_nothing() {
    let server = Server::http(capability_fake(
        &["fake-model"],
        FakeModel::all(Behaviour::Stalls(Duration::from_millis(400))),
    ))
    .await
    .expect("server");
    let (root, service) = service_over(&[keyed("Fake", &server.at("/v1"), &["fake-model"])]);
    let id = ProviderId::parse("fake").expect("id");
    let error = check_capabilities(&service, &id, "other", CancellationToken::new())
        .await
        .expect_err("not chosen");
    assert!(
        error.to_string().contains("has no model `other`"),
        "{error}"
    );
    assert!(
        server.seen().is_empty(),
        "nothing sent for a model not chosen"
    );

    let before = std::fs::read(root.path().join("providers.json")).expect("config");
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let error = check_capabilities(&service, &id, "fake-model", cancel)
        .await
        .expect_err("cancelled");
    assert!(error.is_cancelled(), "{error}");
    let after = std::fs::read(root.path().join("providers.json")).expect("config");
    let probed = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains("\"probed\"");
    assert!(
        !probed(&before) && !probed(&after),
        "a cancelled check records nothing"
    );
}
