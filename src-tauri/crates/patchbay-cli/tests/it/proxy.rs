//! `--proxy` on `provider add|edit`, `test --base-url` and `models
//! --base-url`, against a small forwarding proxy on 127.0.0.1. The target
//! name (`llm.proxied.test`) is never resolved by the CLI: the proxy maps it
//! to a local server.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::server::{models_body, Reply, Server};
use crate::support::{TestResult, World};

/// Forwards absolute-form requests for one name to one local server and
/// records every request line. Runs until the test process ends.
struct ForwardingProxy {
    address: SocketAddr,
    request_lines: Arc<Mutex<Vec<String>>>,
}

impl ForwardingProxy {
    fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let address = listener.local_addr()?;
        let request_lines = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&request_lines);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let lines = Arc::clone(&lines);
                thread::spawn(move || {
                    if let Err(error) = relay(stream, upstream, &lines) {
                        eprintln!("test proxy: {error}");
                    }
                });
            }
        });
        Ok(Self {
            address,
            request_lines,
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn request_lines(&self) -> Vec<String> {
        self.request_lines
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }
}

fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    lines: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    if let Ok(mut list) = lines.lock() {
        list.push(text.lines().next().unwrap_or("").to_owned());
    }
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&head)?;
    let mut server_reader = server.try_clone()?;
    let mut client_writer = client.try_clone()?;
    let back = thread::spawn(move || std::io::copy(&mut server_reader, &mut client_writer));
    // The request body (none for GET) and later requests on the same
    // connection; each is relayed as is (absolute form reaches the server).
    std::io::copy(&mut client, &mut server)?;
    match back.join() {
        Ok(result) => result.map(drop),
        Err(_panicked) => Ok(()),
    }
}

#[test]
fn adhoc_test_and_models_go_through_the_given_proxy() -> TestResult {
    let server = Server::start(|seen| match seen.path.as_str() {
        "/v1/models" => Reply::json(200, models_body(&["via-proxy"])),
        _ => Reply::json(404, "{}"),
    })?;
    let proxy = ForwardingProxy::start(server.address)?;
    let world = World::new()?;
    let base = "http://llm.proxied.test:8080/v1";
    let tested = world.run(
        &[
            "test",
            "--base-url",
            base,
            "--no-auth",
            "--allow-local",
            "--proxy",
            &proxy.url(),
            "--json",
        ],
        None,
    )?;
    tested.expect_code(0);
    let report = tested.json()?;
    assert_eq!(report["ok"], true, "{report}");
    let dns = report["stages"][1]["detail"].as_str().unwrap_or_default();
    assert!(dns.contains("resolved by the proxy"), "{dns}");

    let listed = world.run(
        &[
            "models",
            "--base-url",
            base,
            "--no-auth",
            "--allow-local",
            "--proxy",
            &proxy.url(),
            "--json",
        ],
        None,
    )?;
    listed.expect_code(0);
    assert_eq!(listed.json()?["models"][0]["id"], "via-proxy");
    assert_eq!(
        proxy.request_lines(),
        [
            "GET http://llm.proxied.test:8080/v1/models HTTP/1.1",
            "GET http://llm.proxied.test:8080/v1/models HTTP/1.1"
        ]
    );
    assert_eq!(server.seen().len(), 2);

    Ok(())
}

#[test]
fn a_saved_provider_keeps_its_proxy_until_no_proxy() -> TestResult {
    let server = Server::start(|_| Reply::json(200, models_body(&["saved-via-proxy"])))?;
    let proxy = ForwardingProxy::start(server.address)?;
    let world = World::new()?;
    world
        .run(
            &[
                "provider",
                "add",
                "--label",
                "Behind Proxy",
                "--base-url",
                "http://llm.proxied.test:8080/v1",
                "--model",
                "saved-via-proxy",
                "--no-auth",
                "--allow-local",
                "--proxy",
                &format!("{}/", proxy.url()),
            ],
            None,
        )?
        .expect_code(0);
    let shown = world
        .run(&["provider", "show", "behind-proxy", "--json"], None)?
        .json()?;
    assert_eq!(shown["proxy"], proxy.url().as_str());
    let text = world.run(&["provider", "show", "behind-proxy"], None)?;
    assert!(text.stdout.contains(&proxy.url()), "{text:#?}");

    world
        .run(&["provider", "test", "behind-proxy", "--json"], None)?
        .expect_code(0);
    assert_eq!(proxy.request_lines().len(), 1);

    // Credentials in the URL are refused, by field, without echoing them.
    let refused = world.run(
        &[
            "provider",
            "edit",
            "behind-proxy",
            "--proxy",
            "http://user:hunter2@127.0.0.1:3128",
            "--json",
        ],
        None,
    )?;
    refused.expect_code(1);
    let error = &refused.json()?["error"];
    assert_eq!(error["fields"][0]["field"], "proxy", "{error}");
    assert!(!refused.stdout.contains("hunter2") && !refused.stderr.contains("hunter2"));

    world
        .run(&["provider", "edit", "behind-proxy", "--no-proxy"], None)?
        .expect_code(0);
    let shown = world
        .run(&["provider", "show", "behind-proxy", "--json"], None)?
        .json()?;
    assert!(shown["proxy"].is_null(), "{shown}");
    world
        .run(
            &[
                "provider",
                "edit",
                "behind-proxy",
                "--no-proxy",
                "--proxy",
                &proxy.url(),
            ],
            None,
        )?
        .expect_code(2);
    Ok(())
}
