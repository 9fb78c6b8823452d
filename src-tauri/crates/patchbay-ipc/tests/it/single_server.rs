//! One server per endpoint, on every platform: a second one is refused with
//! the first one's pid (the lock file says who holds it) and leaves the first
//! one serving. What each platform adds (socket files, pipe names) is in
//! `endpoint` (Unix) and `pipe` (Windows).

use patchbay_client::Client;
use patchbay_ipc::Server;

use crate::support::TestEnv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_is_refused_with_the_first_ones_pid() {
    let env = TestEnv::new();
    let first = env.start().await;
    let error = Server::start(env.options())
        .await
        .expect_err("second server");
    assert_eq!(error.kind().as_str(), "already_running");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "Patchbay is already serving on {}",
            env.endpoint().display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    // The first one is untouched.
    Client::connect_to(first.endpoint())
        .await
        .expect("connect")
        .hello()
        .await
        .expect("first still serves");
}
