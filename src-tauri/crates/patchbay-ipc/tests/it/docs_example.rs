//! `docs/ipc.md` promises that a host in another language can be written
//! from the document alone: its Python host is extracted and run against a
//! live server here.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{eventually, TestEnv};
use patchbay_testkit::Draft;

fn python_block(markdown: &str) -> String {
    let start = markdown
        .find("```python\n")
        .expect("docs/ipc.md has a python block")
        + "```python\n".len();
    let length = markdown[start..].find("```").expect("the block is closed");
    markdown[start..start + length].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_host_in_the_protocol_docs_works() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../docs/ipc.md");
    let script = python_block(&std::fs::read_to_string(&docs).expect("read docs/ipc.md"));
    let env = TestEnv::new();
    let key = "sk-docs-python-canary-4242";
    let id = env.add(
        Draft::new("Docs Cloud")
            .key(key)
            .models(&["vendor/model:tag"])
            .json(),
    );
    let server = env.start().await;

    let child = tokio::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(server.endpoint())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run python3");
    let mut pending = None;
    eventually(Duration::from_secs(20), || {
        pending = server.pairings().pending().into_iter().next();
        pending.is_some()
    })
    .await;
    let pending = pending.expect("pending");
    assert_eq!(pending.app_name, "Python Host");
    server
        .pairings()
        .approve(&pending.request_id)
        .expect("approve");
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("finished in time")
        .expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "entry: {id}/vendor/model:tag | vendor/model:tag · Docs Cloud"
        )),
        "{stdout}"
    );
    let gateway = server.gateway_base_url().expect("the gateway runs");
    assert!(
        stdout.contains(&format!(
            "POST {gateway}/chat/completions model {id}/vendor/model:tag headers ['Authorization']"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(key));
}
