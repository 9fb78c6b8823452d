//! `--proxy` on `provider add|edit`, `test --base-url` and `models
//! --base-url`, against the test kit's forwarding proxy on 127.0.0.1. The
//! target, a LAN address (`10.20.30.40`), is never connected to: the proxy
//! maps it to a local server. Plain http to a *name* through a proxy is
//! refused (the proxy would resolve it unchecked).

use std::collections::HashMap;

use crate::support::{TestResult, World};
use patchbay_testkit::{handler, models_body, Canned, Proxy, ProxyMode, Server};

/// The test kit's recording proxy, routing the LAN address to `upstream`.
fn forwarding_proxy(upstream: std::net::SocketAddr) -> patchbay_testkit::TestResult<Proxy> {
    let routes = HashMap::from([("10.20.30.40:8080".to_owned(), upstream)]);
    Proxy::background(ProxyMode::Forward, routes)
}

#[test]
fn adhoc_test_and_models_go_through_the_given_proxy() -> TestResult {
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["via-proxy"])),
        _ => Canned::json(404, "{}"),
    }))?;
    let proxy = forwarding_proxy(server.address)?;
    let world = World::new()?;
    let base = "http://10.20.30.40:8080/v1";
    let tested = world.run(
        &[
            "test",
            "--base-url",
            base,
            "--no-auth",
            "--allow-private",
            "--proxy",
            &proxy.at(),
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
            "--allow-private",
            "--proxy",
            &proxy.at(),
            "--json",
        ],
        None,
    )?;
    listed.expect_code(0);
    assert_eq!(listed.json()?["models"][0]["id"], "via-proxy");
    assert_eq!(
        proxy.request_lines(),
        [
            "GET http://10.20.30.40:8080/v1/models HTTP/1.1",
            "GET http://10.20.30.40:8080/v1/models HTTP/1.1"
        ]
    );
    assert_eq!(server.seen().len(), 2);

    // A name over plain http would be resolved by the proxy, unchecked.
    let named = world.run(
        &[
            "test",
            "--base-url",
            "http://llm.proxied.test:8080/v1",
            "--no-auth",
            "--allow-private",
            "--proxy",
            &proxy.at(),
            "--json",
        ],
        None,
    )?;
    let report = named.json()?;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(
        report["stages"][0]["failure"]["kind"], "policy_denied",
        "{report}"
    );
    assert_eq!(
        proxy.request_lines().len(),
        2,
        "nothing more reached the proxy"
    );
    Ok(())
}

#[test]
fn a_saved_provider_keeps_its_proxy_until_no_proxy() -> TestResult {
    let server = Server::background_http(handler(|_| {
        Canned::json(200, models_body(&["saved-via-proxy"]))
    }))?;
    let proxy = forwarding_proxy(server.address)?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Behind Proxy",
            "--base-url",
            "http://10.20.30.40:8080/v1",
            "--model",
            "saved-via-proxy",
            "--no-auth",
            "--allow-private",
            "--proxy",
            &format!("{}/", proxy.at()),
        ],
    )?;
    let shown = world
        .run(&["provider", "show", "behind-proxy", "--json"], None)?
        .json()?;
    assert_eq!(shown["proxy"], proxy.at().as_str());
    let text = world.run(&["provider", "show", "behind-proxy"], None)?;
    assert!(text.stdout.contains(&proxy.at()), "{text:#?}");

    world.expect(0, &["provider", "test", "behind-proxy", "--json"])?;
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

    world.expect(0, &["provider", "edit", "behind-proxy", "--no-proxy"])?;
    let shown = world
        .run(&["provider", "show", "behind-proxy", "--json"], None)?
        .json()?;
    assert!(shown["proxy"].is_null(), "{shown}");
    world.expect(
        2,
        &[
            "provider",
            "edit",
            "behind-proxy",
            "--no-proxy",
            "--proxy",
            &proxy.at(),
        ],
    )?;
    Ok(())
}
