//! "Test connection" through the service: what is recorded, what a draft
//! sends, how a draft is validated, and Cancel.

use patchbay_core::Kind;
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::validation::KeyChange;
use patchbay_service::{ServiceError, Subject, TestRequest};
use patchbay_testkit::{handler, models_body, Canned, Server, SilentServer, CANARY_KEY};

use crate::support::{local_draft, quiet, with_header, with_key, World};

/// The first request `server` saw carried the stored key and secret header.
fn assert_sent_stored_secrets(server: &Server) {
    let seen = server.seen();
    let request = seen.first().expect("a request");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {CANARY_KEY}").as_str())
    );
    assert_eq!(request.header("x-gateway-token"), Some("gateway-secret-1"));
}

fn models_server() -> Canned {
    Canned::json(200, models_body(&["m1", "vendor/m2:q4"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_provider_test_is_recorded_and_a_draft_test_is_not() {
    let server = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let world = World::new("recorded");
    let base = server.url("/v1").expect("url");
    let id = world.save(local_draft("Local", base.as_str()));

    let report = world
        .service
        .test(TestRequest::new(Subject::Saved(id.clone())), &quiet)
        .await
        .expect("the test ran");
    assert!(report.ok, "{report:?}");
    let recorded = world
        .service
        .provider(&id)
        .expect("provider")
        .last_test
        .expect("recorded as the last test");
    assert!(recorded.ok);

    // The same provider, edited in the form to another path: tested, not recorded.
    let draft_base = server.url("/other/v1").expect("url");
    let report = world
        .service
        .test(
            TestRequest::new(Subject::Draft {
                draft: Box::new(local_draft("Local", draft_base.as_str())),
                editing: Some(id.clone()),
            }),
            &quiet,
        )
        .await
        .expect("the draft test ran");
    assert!(report.ok, "{report:?}");
    let after = world.service.provider(&id).expect("provider").last_test;
    assert_eq!(after.map(|test| test.at), Some(recorded.at));
    assert!(server
        .seen()
        .iter()
        .any(|seen| seen.path == "/other/v1/models"));
}

/// A test run in the form before saving becomes the provider's last test
/// when exactly the tested draft is saved; the window sends only drafts, so
/// it cannot claim a pass for values it did not test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_test_carries_over_only_to_the_exact_draft_saved() {
    let server = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let world = World::new("carried");
    let base = server.url("/v1").expect("url");
    let tested = || with_key(local_draft("Local", base.as_str()), "sk-test-carried-1");
    let report = world
        .service
        .test(TestRequest::new(Subject::draft(tested())), &quiet)
        .await
        .expect("the draft test ran");
    assert!(report.ok, "{report:?}");

    // Another key than the one tested: not carried.
    let other_key = world.save(with_key(
        local_draft("Other", base.as_str()),
        "sk-test-carried-2",
    ));
    let other = world.service.provider(&other_key).expect("provider");
    assert_eq!(other.last_test, None, "a different draft was not tested");

    // The tested draft, renamed (the name is not part of what was tested): carried.
    let mut renamed = tested();
    renamed.label = "Local server".to_owned();
    let id = world.save(renamed);
    let carried = world
        .service
        .provider(&id)
        .expect("provider")
        .last_test
        .expect("the draft's test became the last test");
    assert!(carried.ok);
    assert_eq!(carried.summary, report.summary);

    // Editing: a test of the edit (the stored key kept) carries to that edit.
    let mut edit = local_draft("Local server", base.as_str());
    edit.auth = patchbay_core::model::Auth::ApiKey;
    edit.key = KeyChange::Keep;
    edit.models = vec!["m1".to_owned(), "vendor/m2:q4".to_owned()];
    let report = world
        .service
        .test(
            TestRequest::new(Subject::Draft {
                draft: Box::new(edit.clone()),
                editing: Some(id.clone()),
            }),
            &quiet,
        )
        .await
        .expect("the edit's test ran");
    assert!(report.ok, "{report:?}");
    let saved = world.service.edit_provider(&id, edit).expect("edit");
    let last = saved.provider.last_test.expect("carried to the edit");
    assert!(last.at > carried.at, "the edit's own test, not the old one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_of_a_saved_provider_sends_its_stored_key_and_secret_header() {
    let server = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let world = World::new("stored-key");
    let base = server.url("/v1").expect("url");
    let saved = with_header(
        with_key(local_draft("Gateway", base.as_str()), CANARY_KEY),
        "X-Gateway-Token",
        Some("gateway-secret-1"),
        true,
    );
    let id = world.save(saved);

    // The form keeps the key and the secret header's value (sent as absent).
    let mut draft = with_header(
        local_draft("Gateway", base.as_str()),
        "X-Gateway-Token",
        None,
        true,
    );
    draft.auth = patchbay_core::model::Auth::ApiKey;
    draft.key = KeyChange::Keep;
    let report = world
        .service
        .test(
            TestRequest::new(Subject::Draft {
                draft: Box::new(draft),
                editing: Some(id),
            }),
            &quiet,
        )
        .await
        .expect("the test ran");
    assert!(report.ok, "{report:?}");
    assert_sent_stored_secrets(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_reports_every_field_problem_at_once_and_sends_nothing() {
    let server = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let world = World::new("draft-fields");
    let base = server.url("/v1").expect("url");
    let mut draft = with_header(
        local_draft("", base.as_str()),
        "Bad Header",
        Some("x"),
        false,
    );
    draft.timeout_secs = Some(0);
    draft.proxy = Some("socks5://proxy.example:1080".to_owned());
    let error = world
        .service
        .test(TestRequest::new(Subject::draft(draft)), &quiet)
        .await
        .expect_err("an invalid draft is refused");
    let ServiceError::Domain(domain) = &error else {
        panic!("a validation error, not {error:?}");
    };
    let fields: Vec<&str> = domain
        .fields()
        .iter()
        .map(|field| field.field.as_str())
        .collect();
    assert_eq!(fields, ["headers[0].name", "timeout_secs", "proxy"]);
    assert_eq!(error.kind(), Kind::InvalidInput);
    assert!(server.seen().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_running_test_and_nothing_is_recorded() {
    let silent = SilentServer::start().await.expect("server");
    let world = World::new("cancel");
    let base = format!("http://{}/v1", silent.address);
    let id = world.save(local_draft("Silent", &base));

    let service = world.service.clone();
    let running = tokio::spawn({
        let id = id.clone();
        async move {
            let request = TestRequest {
                test_id: Some("list-1".to_owned()),
                ..TestRequest::new(Subject::Saved(id))
            };
            service.test(request, &quiet).await
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while silent.accepted.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(world.service.cancel_test("list-1"));
    let outcome = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("ended at once")
        .expect("task");
    let error = outcome.expect_err("cancelled");
    assert!(error.is_cancelled(), "{error:?}");
    assert!(!world.service.cancel_test("list-1"), "no longer running");
    assert!(world
        .service
        .provider(&id)
        .expect("provider")
        .last_test
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_providers_are_bounded_and_a_slot_frees_when_one_ends() {
    let silent = SilentServer::start()
        .await
        .expect("a server that never answers");
    let world = World::new("bounded");
    // Drafts: tests of one saved provider would replace each other.
    let stuck = || Subject::draft(local_draft("Stuck", &silent.at("/v1")));
    // One more than the bound, all hanging on the silent server: exactly
    // one is refused at once.
    let mut running = Vec::new();
    for _ in 0..=patchbay_service::MAX_NETWORK_USES {
        let (service, subject) = (Arc::clone(&world.service), stuck());
        running.push(tokio::spawn(async move {
            service.test(TestRequest::new(subject), &|_| {}).await
        }));
    }
    let mut refused = None;
    for _ in 0..100 {
        if let Some(index) = running
            .iter()
            .position(tokio::task::JoinHandle::is_finished)
        {
            refused = Some(running.remove(index).await.expect("join"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = refused
        .expect("one request over the bound ended")
        .expect_err("refused");
    assert_eq!(refused.kind(), Kind::Busy, "{refused}");
    assert!(
        running.iter().all(|task| !task.is_finished()),
        "the others still wait"
    );

    // One ends (aborted, as a closed window's test would be): its slot is free.
    let first = running.remove(0);
    first.abort();
    let aborted = first.await;
    assert!(aborted.is_err(), "aborted, not finished");
    let freed = tokio::time::timeout(
        Duration::from_millis(500),
        world.service.discover_models(stuck()),
    )
    .await;
    assert!(
        freed.is_err(),
        "it got the slot and now waits on the silent server: {freed:?}"
    );
    for task in running {
        task.abort();
    }
}

/// Two loopback servers are two origins (another port): a key given for
/// one reaches the other only when the person confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_goes_only_to_the_origin_it_was_given_for() {
    let given = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let elsewhere = Server::http(handler(|_| models_server()))
        .await
        .expect("server");
    let world = World::new("origin");
    let first = given.url("/v1").expect("url");
    let second = elsewhere.url("/v1").expect("url");
    let id = world.save(with_header(
        with_key(local_draft("Gateway", first.as_str()), CANARY_KEY),
        "X-Gateway-Token",
        Some("gateway-secret-1"),
        true,
    ));
    let keeping = |base: &str| {
        let mut draft = with_header(local_draft("Gateway", base), "X-Gateway-Token", None, true);
        draft.auth = patchbay_core::model::Auth::ApiKey;
        draft.key = KeyChange::Keep;
        draft
    };
    let test_draft = |draft| {
        TestRequest::new(Subject::Draft {
            draft: Box::new(draft),
            editing: Some(id.clone()),
        })
    };
    let withheld = |outcome: Result<patchbay_net::TestReport, ServiceError>| match outcome {
        Err(error) => {
            assert_eq!(error.kind(), Kind::KeyWithheld, "{error}");
            assert!(!error.to_string().contains(CANARY_KEY));
        }
        Ok(report) => panic!("the test ran with the key: {report:?}"),
    };

    // The form's draft, keeping the stored key, pointed at another origin.
    withheld(
        world
            .service
            .test(test_draft(keeping(second.as_str())), &quiet)
            .await,
    );
    assert!(
        elsewhere.seen().is_empty(),
        "nothing reached the other origin"
    );

    // Saving it is refused until the person confirms.
    let refused = world
        .service
        .edit_provider(&id, keeping(second.as_str()))
        .expect_err("needs the person's yes");
    assert_eq!(refused.kind(), Kind::InvalidInput);

    // A hand edit of providers.json: the saved provider's test sends nothing.
    let file = world.service.store().paths().file.clone();
    let text = std::fs::read_to_string(&file).expect("config");
    std::fs::write(&file, text.replace(first.as_str(), second.as_str())).expect("hand edit");
    withheld(
        world
            .service
            .test(TestRequest::new(Subject::Saved(id.clone())), &quiet)
            .await,
    );
    assert!(
        elsewhere.seen().is_empty(),
        "nothing reached the other origin"
    );
    let view = patchbay_core::store::ProviderView::from(&world.service.provider(&id).expect("get"));
    assert!(view.key_withheld.is_some(), "the window shows why");

    // Confirmed in the form: the draft test sends both secrets there.
    let mut confirmed = keeping(second.as_str());
    confirmed.move_key = true;
    let report = world
        .service
        .test(test_draft(confirmed), &quiet)
        .await
        .expect("the test ran");
    assert!(report.ok, "{report:?}");
    assert_sent_stored_secrets(&elsewhere);

    // Confirming the hand edit lets the saved provider's test send it too.
    world
        .service
        .move_provider_key(&id)
        .expect("confirm the move");
    let report = world
        .service
        .test(TestRequest::new(Subject::Saved(id.clone())), &quiet)
        .await
        .expect("the test ran");
    assert!(report.ok, "{report:?}");
}
