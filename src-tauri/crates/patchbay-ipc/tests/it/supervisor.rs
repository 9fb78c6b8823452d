//! The supervisor without a window: it serves, or follows the process that
//! serves (reporting that server's requests to its own observer and deciding
//! them over the admin methods), and takes the socket over when that
//! process stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchbay_client::Client;
use patchbay_ipc::{HostSupervisor, HostsObserver};
use patchbay_protocol::rpc::PendingPairing;

use crate::support::{eventually, TestEnv};

/// What a window would have shown.
#[derive(Default)]
struct Recorder {
    requests: Mutex<Vec<PendingPairing>>,
    changes: Mutex<Vec<String>>,
}

impl HostsObserver for Recorder {
    fn pairing_requested(&self, request: &PendingPairing) {
        self.requests.lock().expect("lock").push(request.clone());
    }

    fn changed(&self, what: &str) {
        self.changes.lock().expect("lock").push(what.to_owned());
    }
}

impl Recorder {
    fn requests(&self) -> Vec<PendingPairing> {
        self.requests.lock().expect("lock").clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_supervisor_follows_decides_for_the_first_and_takes_over_when_it_stops() {
    let env = TestEnv::new();
    let config_dir = env.world.root().join("config");
    let first = Arc::new(HostSupervisor::new(&config_dir));
    let first_seen = Arc::new(Recorder::default());
    first
        .run(env.service(), env.endpoint(), first_seen.clone())
        .await;
    assert_eq!(first.status().state, "running");
    assert!(first_seen
        .changes
        .lock()
        .expect("lock")
        .contains(&"status".to_owned()));

    let second = Arc::new(HostSupervisor::new(&config_dir));
    let second_seen = Arc::new(Recorder::default());
    let following = tokio::spawn({
        let (second, seen, service, endpoint) = (
            Arc::clone(&second),
            second_seen.clone(),
            env.service(),
            env.endpoint(),
        );
        async move { second.run(service, endpoint, seen).await }
    });
    eventually(Duration::from_secs(5), || {
        second.status().state == "elsewhere"
    })
    .await;

    // A host asks the first server; both observers hear it, and the second
    // supervisor's Allow reaches the first server.
    let host = Client::connect_to(&env.endpoint()).await.expect("connect");
    let pairing = tokio::spawn({
        let host = host.clone();
        async move { host.pair("com.example.editor", "Example Editor").await }
    });
    eventually(Duration::from_secs(5), || {
        !second_seen.requests().is_empty()
    })
    .await;
    assert_eq!(first_seen.requests().len(), 1);
    let request = second_seen.requests()[0].clone();
    assert_eq!(request.app_name, "Example Editor");
    assert_eq!(second.pending().await.expect("pending").len(), 1);
    let paired = second
        .approve(request.request_id.clone())
        .await
        .expect("approve through the first server");
    assert_eq!(paired.app_id, "com.example.editor");
    let token = pairing.await.expect("join").expect("approved").token;
    assert!(token.starts_with("pbt_"));
    assert_eq!(second.paired().await.expect("paired").len(), 1);

    // The first process stops: the second takes the socket over.
    drop(host);
    drop(first);
    tokio::time::timeout(Duration::from_secs(10), following)
        .await
        .expect("took over in time")
        .expect("join");
    assert_eq!(second.status().state, "running");
    let host = Client::connect_to(&env.endpoint())
        .await
        .expect("connect again");
    host.hello().await.expect("the second supervisor answers");
    assert!(second
        .revoke("com.example.editor".to_owned())
        .await
        .expect("revoke"));
    assert!(second.paired().await.expect("paired").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_server_decisions_say_not_pending() {
    let env = TestEnv::new();
    let supervisor = HostSupervisor::new(&env.world.root().join("config"));
    assert_eq!(supervisor.status().state, "starting");
    assert!(supervisor.pending().await.expect("pending").is_empty());
    let error = supervisor
        .approve("nope".to_owned())
        .await
        .expect_err("nothing to approve");
    assert_eq!(error.kind().as_str(), "not_pending");
}
