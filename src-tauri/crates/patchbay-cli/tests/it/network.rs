//! `check-url`, `test`, `provider test` and `models` against real servers
//! on 127.0.0.1. Nothing here sends a packet off loopback or resolves a
//! public name: URLs are IP literals, or judged with `--no-dns`.

use serde_json::Value;

use crate::support::{canary, TestResult, World};
use patchbay_testkit::{closed_port, handler, models_body, self_signed, Canned, Server};

fn stage_names(report: &Value) -> Vec<String> {
    report["stages"]
        .as_array()
        .map(|stages| {
            stages
                .iter()
                .filter_map(|stage| stage["stage"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn check_url_allowed_is_exit_0_with_the_documented_json() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "check-url",
            "http://127.0.0.1:8080/v1",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let verdict = run.json()?;
    assert_eq!(verdict["allowed"], true);
    assert_eq!(verdict["reason"], "allowed");
    assert_eq!(verdict["normalized"], "http://127.0.0.1:8080/v1");
    assert_eq!(verdict["addresses"], serde_json::json!(["127.0.0.1"]));
    assert!(verdict["message"]
        .as_str()
        .is_some_and(|message| !message.is_empty()));
    Ok(())
}

#[test]
fn check_url_denied_is_exit_1_with_a_reason() -> TestResult {
    let world = World::new()?;
    for (url, flags, reason) in [
        (
            "http://169.254.169.254/latest/meta-data",
            vec!["--allow-private"],
            "metadata",
        ),
        ("http://93.184.215.14/v1", vec![], "not_https"),
        ("http://127.0.0.1:11434/v1", vec![], "loopback_not_allowed"),
        ("https://127.0.0.1:11434/v1", vec![], "loopback_not_allowed"),
        (
            "https://192.168.1.10/v1",
            vec!["--allow-local"],
            "private_not_allowed",
        ),
        (
            "https://api.openai.com@169.254.169.254/",
            vec![],
            "userinfo",
        ),
        ("ftp://127.0.0.1/", vec!["--allow-local"], "scheme"),
    ] {
        let mut args = vec!["check-url", url, "--json"];
        args.extend(flags.iter().copied());
        let run = world.run(&args, None)?;
        run.expect_code(1);
        let verdict = run.json()?;
        assert_eq!(verdict["allowed"], false, "{url}");
        assert_eq!(verdict["reason"], reason, "{url}: {verdict}");
    }
    let human = world.run(&["check-url", "http://169.254.169.254/"], None)?;
    human.expect_code(1);
    assert!(human.stdout.contains("denied (metadata)"), "{human:#?}");
    Ok(())
}

#[test]
fn check_url_no_dns_says_not_resolved() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &["check-url", "https://api.example.com/v1", "--no-dns"],
        None,
    )?;
    run.expect_code(0);
    assert!(run.stdout.contains("not resolved"), "{run:#?}");
    let json = world.run(
        &[
            "check-url",
            "https://api.example.com/v1",
            "--no-dns",
            "--json",
        ],
        None,
    )?;
    json.expect_code(0);
    let verdict = json.json()?;
    assert_eq!(verdict["resolved"], false);
    assert_eq!(verdict["addresses"], serde_json::json!([]));
    Ok(())
}

#[test]
fn check_url_usage_errors_are_exit_2() -> TestResult {
    let world = World::new()?;
    world.expect(2, &["check-url"])?;
    world.expect(
        2,
        &["check-url", "https://h", "--allow-local", "--allow-private"],
    )?;
    Ok(())
}

#[test]
fn adhoc_test_without_auth_sends_no_authorization_header() -> TestResult {
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["llama3.2", "qwen3:8b"])),
        _ => Canned::json(404, r#"{"error":{"message":"no such route"}}"#),
    }))?;
    let world = World::new()?;
    let run = world.run(
        &[
            "test",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
        ],
        None,
    )?;
    run.expect_code(0);
    // Stages are printed in order as they complete.
    let policy = run.stdout.find("URL policy").ok_or("no policy stage")?;
    let connect = run.stdout.find("TCP connect").ok_or("no connect stage")?;
    let models = run.stdout.find("model list").ok_or("no models stage")?;
    assert!(policy < connect && connect < models, "{run:#?}");
    let seen = server.seen();
    let request = seen
        .iter()
        .find(|seen| seen.path == "/v1/models")
        .ok_or("no /models request")?;
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.header("authorization"),
        None,
        "no-auth must send no Authorization header"
    );

    let json = world.run(
        &[
            "test",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    json.expect_code(0);
    let report = json.json()?;
    assert_eq!(report["ok"], true);
    assert_eq!(report["models_count"], 2);
    let names = stage_names(&report);
    assert_eq!(names.first().map(String::as_str), Some("url_policy"));
    assert!(names.contains(&"models".to_owned()), "{names:?}");
    assert!(
        json.stderr.contains("URL policy"),
        "with --json the stages go to stderr: {json:#?}"
    );
    Ok(())
}

#[test]
fn adhoc_test_sends_the_env_key_and_never_prints_it() -> TestResult {
    let key = canary();
    let expected = format!("Bearer {key}");
    let echoed = key.clone();
    let server = Server::background_http(handler(move |seen| {
        if seen.header("authorization") == Some(expected.as_str()) {
            Canned::json(200, models_body(&["gpt-4o-mini"]))
        } else {
            Canned::json(
                401,
                format!(r#"{{"error":{{"message":"Incorrect API key provided: {echoed}"}}}}"#),
            )
        }
    }))?;
    let world = World::new()?.with_env("PATCHBAY_IT_KEY", &key);
    let run = world.run(
        &[
            "test",
            "--base-url",
            &server.at("/v1"),
            "--api-key-env",
            "PATCHBAY_IT_KEY",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    assert!(
        !run.stdout.contains(&key) && !run.stderr.contains(&key),
        "{run:#?}"
    );

    // A rejected key whose error body echoes it: exit 1, the kind, no key.
    let wrong = world.run(
        &[
            "test",
            "--base-url",
            &server.at("/v1"),
            "--api-key-stdin",
            "--allow-local",
            "--json",
        ],
        Some(&format!("{key}-wrong\n")),
    )?;
    wrong.expect_code(1);
    assert!(
        !wrong.stdout.contains(&key) && !wrong.stderr.contains(&key),
        "{wrong:#?}"
    );
    let report = wrong.json()?;
    assert_eq!(report["ok"], false);
    let failed = failed_stage(&report).ok_or("no failed stage")?;
    assert_eq!(failed["stage"], "models");
    assert_eq!(failed["failure"]["kind"], "unauthorized");
    Ok(())
}

#[test]
fn adhoc_test_with_a_model_runs_the_chat_probe() -> TestResult {
    let server = Server::background_http(handler(|seen| {
        match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/v1/models") => Canned::json(200, models_body(&["tiny"])),
            ("POST", "/v1/chat/completions") => Canned::events(&[
                r#"{"choices":[{"index":0,"delta":{"content":"OK"}}]}"#,
                "[DONE]",
            ]),
            _ => Canned::json(404, "{}"),
        }
    }))?;
    let world = World::new()?;
    let run = world.run(
        &[
            "test",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
            "--model",
            "tiny",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let report = run.json()?;
    let chat = report["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|stage| stage["stage"] == "chat"))
        .ok_or("no chat stage")?;
    assert_eq!(chat["status"], "ok", "{report}");
    assert!(server
        .seen()
        .iter()
        .any(|seen| seen.method == "POST" && seen.path == "/v1/chat/completions"));
    Ok(())
}

#[test]
fn adhoc_test_of_a_closed_port_fails_at_connect_with_exit_1() -> TestResult {
    let port = closed_port()?;
    let world = World::new()?;
    let run = world.run(
        &[
            "test",
            "--base-url",
            &format!("http://127.0.0.1:{port}/v1"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(1);
    let report = run.json()?;
    let failed = failed_stage(&report).ok_or("no failed stage")?;
    assert_eq!(failed["stage"], "tcp_connect");
    assert_eq!(failed["failure"]["kind"], "connect_refused");
    let human = world.run(
        &[
            "test",
            "--base-url",
            &format!("http://127.0.0.1:{port}/v1"),
            "--no-auth",
            "--allow-local",
        ],
        None,
    )?;
    human.expect_code(1);
    assert!(
        human.stdout.contains("FAILED") && human.stdout.contains("hint"),
        "{human:#?}"
    );
    Ok(())
}

#[test]
fn adhoc_test_refuses_http_without_an_allowance() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "test",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--no-auth",
            "--json",
        ],
        None,
    )?;
    run.expect_code(1);
    let error = &run.json()?["error"];
    assert_eq!(error["fields"][0]["flag"], "--base-url");
    world.expect(
        2,
        &[
            "test",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--no-auth",
            "--api-key-stdin",
        ],
    )?;
    Ok(())
}

#[test]
fn provider_test_records_the_last_test() -> TestResult {
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["m1"])),
        _ => Canned::json(404, "{}"),
    }))?;
    let world = World::new()?;
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Tested",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "m1",
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    added.expect_code(0);
    let run = world.run(&["provider", "test", "tested", "--json"], None)?;
    run.expect_code(0);
    assert_eq!(run.json()?["ok"], true);
    assert!(server
        .seen()
        .iter()
        .all(|seen| seen.header("authorization").is_none()));
    let shown = world
        .run(&["provider", "show", "tested", "--json"], None)?
        .json()?;
    assert_eq!(shown["last_test"]["ok"], true, "{shown}");

    // A new key: the old result says nothing about it, in the store.
    world
        .run(
            &["provider", "set-key", "tested", "--api-key-stdin"],
            Some("sk-test-cli-new-key-0001\n"),
        )?
        .expect_code(0);
    let shown = world
        .run(&["provider", "show", "tested", "--json"], None)?
        .json()?;
    assert!(shown["last_test"].is_null(), "{shown}");
    assert_eq!(shown["untested_since"]["change"], "key", "{shown}");
    let human = world.run(&["provider", "show", "tested"], None)?;
    assert!(
        human.stdout.contains("not tested since the key changed"),
        "{}",
        human.stdout
    );
    world.expect(1, &["provider", "test", "no-such-provider"])?;
    Ok(())
}

#[test]
fn models_for_an_endpoint_and_a_refresh_that_marks_missing_models() -> TestResult {
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(
            200,
            models_body(&["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"]),
        ),
        _ => Canned::json(404, "{}"),
    }))?;
    let world = World::new()?;
    let run = world.run(
        &[
            "models",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let json = run.json()?;
    let ids: Vec<&str> = json["models"]
        .as_array()
        .ok_or("models is not an array")?
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"]
    );
    let human = world.run(
        &[
            "models",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
        ],
        None,
    )?;
    human.expect_code(0);
    assert!(
        human.stdout.starts_with("MODEL") && human.stdout.contains("hf.co/org/model-GGUF:Q6_K"),
        "{human:#?}"
    );

    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Refreshed",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "google/gemini-2.5-flash",
            "--model",
            "retired-model",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    let stored = world.run(&["models", "refreshed", "--json"], None)?;
    stored.expect_code(0);
    assert_eq!(stored.json()?["models"][1]["id"], "retired-model");

    let refreshed = world.run(&["models", "refreshed", "--refresh", "--json"], None)?;
    refreshed.expect_code(0);
    let json = refreshed.json()?;
    assert_eq!(json["models"].as_array().map(Vec::len), Some(2));
    let retired = json["chosen"]
        .as_array()
        .and_then(|chosen| chosen.iter().find(|model| model["id"] == "retired-model"))
        .ok_or("retired-model not among the chosen")?;
    assert_eq!(retired["missing_upstream"], true);
    assert!(refreshed.stderr.contains("retired-model"), "{refreshed:#?}");
    let shown = world
        .run(&["provider", "show", "refreshed", "--json"], None)?
        .json()?;
    assert_eq!(shown["models"][1]["missing_upstream"], true);
    Ok(())
}

#[test]
fn models_of_a_web_page_is_exit_1_and_keeps_the_stored_list() -> TestResult {
    let server = Server::background_http(handler(|_| {
        Canned::html(200, "<!doctype html><html><body>Dashboard</body></html>")
    }))?;
    let world = World::new()?;
    let run = world.run(
        &[
            "models",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(1);
    let error = &run.json()?["error"];
    assert!(
        error["kind"]
            .as_str()
            .is_some_and(|kind| kind == "not_json" || kind == "bad_response"),
        "{error}"
    );
    assert!(error["hint"].as_str().is_some());

    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Webpage",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "kept",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    world.expect(1, &["models", "webpage", "--refresh"])?;
    let shown = world
        .run(&["provider", "show", "webpage", "--json"], None)?
        .json()?;
    assert_eq!(shown["models"].as_array().map(Vec::len), Some(1), "{shown}");
    assert_eq!(shown["models"][0]["id"], "kept");
    assert!(
        shown["models"][0].get("missing_upstream").is_none(),
        "{shown}"
    );
    Ok(())
}

#[test]
fn a_provider_404_and_a_missing_provider_share_not_found_but_not_the_reason() -> TestResult {
    let server = Server::background_http(handler(|request| match request.path.as_str() {
        "/v1/models" => Canned::json(404, r#"{"error":{"message":"no such route"}}"#),
        _ => Canned::json(401, r#"{"error":{"message":"bad key"}}"#),
    }))?;
    let world = World::new()?;
    let upstream = world.run(
        &[
            "models",
            "--base-url",
            &server.at("/v1"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    upstream.expect_code(1);
    let error = &upstream.json()?["error"];
    assert_eq!(error["kind"], "not_found", "{error}");
    assert_eq!(error["reason"], "upstream_not_found", "{error}");

    let rejected = world.run(
        &[
            "models",
            "--base-url",
            &server.at("/v2"),
            "--no-auth",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    rejected.expect_code(1);
    let error = &rejected.json()?["error"];
    assert_eq!(error["kind"], "unauthorized", "{error}");
    // No key was sent (--no-auth): the server asks for one, no key was "rejected".
    assert_eq!(error["reason"], "auth_required", "{error}");

    let missing = world.run(&["models", "no-such-provider", "--json"], None)?;
    missing.expect_code(1);
    let error = &missing.json()?["error"];
    assert_eq!(error["kind"], "not_found", "{error}");
    assert_eq!(error["reason"], "provider_not_found", "{error}");
    Ok(())
}

#[test]
fn models_usage_errors_are_exit_2() -> TestResult {
    let world = World::new()?;
    world.expect(2, &["models"])?;
    world.expect(
        2,
        &["models", "--refresh", "--base-url", "http://127.0.0.1:9/v1"],
    )?;
    world.expect(
        2,
        &["models", "some-id", "--base-url", "http://127.0.0.1:9/v1"],
    )?;
    world.expect(2, &["models", "some-id", "--no-auth"])?;
    Ok(())
}

#[test]
fn stages_are_printed_as_they_complete_not_at_the_end() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    const MODELS_DELAY: Duration = Duration::from_millis(1500);
    let server = Server::background_http(handler(|seen| {
        if seen.path == "/v1/models" {
            // Blocks this test server's only thread: fine, one client.
            std::thread::sleep(MODELS_DELAY);
        }
        Canned::json(200, models_body(&["slow"]))
    }))?;
    let world = World::new()?;
    let mut command = world.command(&[
        "test",
        "--base-url",
        &server.at("/v1"),
        "--no-auth",
        "--allow-local",
    ]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut connect_seen_at = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.contains("TCP connect") {
            connect_seen_at = Some(Instant::now());
        }
    }
    let finished_at = Instant::now();
    let status = child.wait()?;
    assert!(status.success());
    let connect_seen_at = connect_seen_at.ok_or("no TCP connect line")?;
    assert!(
        finished_at.duration_since(connect_seen_at) >= MODELS_DELAY - Duration::from_millis(300),
        "the TCP connect stage was printed only at the end"
    );
    Ok(())
}

#[test]
fn self_signed_https_fails_at_tls_until_its_fingerprint_is_trusted() -> TestResult {
    let identity = self_signed(&["127.0.0.1", "localhost"])?;
    let fingerprint = identity.fingerprint.clone();
    let server = Server::background_https(
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["local-model"])),
            _ => Canned::json(404, "{}"),
        }),
        identity.server,
    )?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Own TLS",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "local-model",
            "--no-auth",
            "--allow-local",
        ],
    )?;

    let untrusted = world.run(&["provider", "test", "own-tls", "--json"], None)?;
    untrusted.expect_code(1);
    let report = untrusted.json()?;
    let failed = failed_stage(&report).ok_or("no failed stage")?;
    assert_eq!(failed["stage"], "tls", "{report}");
    assert_eq!(failed["failure"]["kind"], "tls_untrusted");
    assert_eq!(report["certificate_sha256"], fingerprint.as_str());
    assert!(
        untrusted.stderr.contains(&format!(
            "patchbay provider trust-cert own-tls {fingerprint}"
        )),
        "the person is told how to trust it: {untrusted:#?}"
    );

    // Fingerprints are often shown upper case with colons; both work.
    let shown: Vec<String> = fingerprint
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect();
    let trusted = world.run(
        &[
            "provider",
            "trust-cert",
            "own-tls",
            &shown.join(":"),
            "--json",
        ],
        None,
    )?;
    trusted.expect_code(0);
    assert_eq!(trusted.json()?["trusted_cert_sha256"], fingerprint.as_str());
    let passing = world.run(&["provider", "test", "own-tls", "--json"], None)?;
    passing.expect_code(0);
    assert_eq!(passing.json()?["models_count"], 1);

    world.expect(0, &["provider", "untrust-cert", "own-tls"])?;
    world.expect(1, &["provider", "test", "own-tls"])?;
    world.expect(
        2,
        &["provider", "trust-cert", "own-tls", "not-a-fingerprint"],
    )?;
    Ok(())
}

#[test]
fn check_url_resolves_a_name_and_judges_every_address() -> TestResult {
    // `localhost` resolves from /etc/hosts: no packet leaves the machine.
    let world = World::new()?;
    let run = world.run(
        &[
            "check-url",
            "https://localhost:8443/v1",
            "--allow-local",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let verdict = run.json()?;
    assert_eq!(verdict["resolved"], true);
    let addresses = verdict["addresses"].as_array().ok_or("no addresses")?;
    assert!(!addresses.is_empty());
    assert!(
        addresses
            .iter()
            .all(|address| address == "127.0.0.1" || address == "::1"),
        "{verdict}"
    );
    let denied = world.run(&["check-url", "https://localhost:8443/v1", "--json"], None)?;
    denied.expect_code(1);
    assert_eq!(denied.json()?["reason"], "loopback_not_allowed");
    Ok(())
}

#[test]
fn a_server_without_models_passes_when_the_first_model_answers_and_model_picks_another(
) -> TestResult {
    // vLLM behind a proxy that only routes /chat/completions, say.
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/chat/completions" => {
            let body = String::from_utf8_lossy(&seen.body).into_owned();
            if body.contains(r#""model":"gone""#) {
                Canned::json(
                    404,
                    r#"{"error":{"message":"model gone not found","code":"model_not_found"}}"#,
                )
            } else {
                Canned::events(&[r#"{"choices":[{"delta":{"content":"O"}}]}"#])
            }
        }
        _ => Canned::json(404, "{}"),
    }))?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Unlisted",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "first",
            "--model",
            "gone",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    // No --model: the first model is checked by itself, and passes.
    let run = world.run(&["provider", "test", "unlisted", "--json"], None)?;
    run.expect_code(0);
    let report = run.json()?;
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["summary"].as_str().is_some_and(|summary| summary
            .contains("this server does not list models; the model you typed answered")),
        "{report}"
    );
    let stages: Vec<String> = report["stages"]
        .as_array()
        .map(|stages| {
            stages
                .iter()
                .map(|stage| {
                    format!(
                        "{}:{}",
                        stage["stage"].as_str().unwrap_or("?"),
                        stage["status"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(stages.contains(&"models:skipped".to_owned()), "{stages:?}");
    assert!(stages.contains(&"chat:ok".to_owned()), "{stages:?}");
    let chats: Vec<String> = server
        .seen()
        .iter()
        .filter(|seen| seen.path == "/v1/chat/completions")
        .map(|seen| String::from_utf8_lossy(&seen.body).into_owned())
        .collect();
    assert_eq!(chats.len(), 1, "one chat request: {chats:?}");
    assert!(
        chats[0].contains(r#""model":"first""#) && chats[0].contains(r#""max_tokens":1"#),
        "{chats:?}"
    );

    // --model picks any of the provider's models; this one does not answer.
    let run = world.run(&["provider", "test", "unlisted", "--model", "gone"], None)?;
    run.expect_code(1);
    assert!(run.stdout.contains("model_not_found"), "{run:#?}");
    Ok(())
}

/// The stages' failure of a `--json` report, if one failed.
fn failed_stage(report: &Value) -> Option<Value> {
    report["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|stage| stage["status"] == "failed"))
        .cloned()
}

#[test]
fn a_company_ca_is_named_then_trusted_from_the_system_store_or_the_provider() -> TestResult {
    let company = patchbay_testkit::TestCa::new("Example Corp Internal Root CA")?;
    let leaf = company.issue(&["127.0.0.1"])?;
    let server = Server::background_https(
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["gateway-model"])),
            _ => Canned::json(404, "{}"),
        }),
        leaf.server,
    )?;
    let world = World::new()?;
    let ca_file = world.path().join("corp-root.pem");
    std::fs::write(&ca_file, company.pem())?;
    let base = server.at("/v1");
    let adhoc = [
        "test",
        "--base-url",
        base.as_str(),
        "--no-auth",
        "--allow-local",
        "--json",
    ];

    // Unknown: the CA is named, and both fixes are offered.
    let refused = world.run(&adhoc, None)?;
    refused.expect_code(1);
    let report = refused.json()?;
    let failed = failed_stage(&report).ok_or("no failed stage")?;
    assert_eq!(failed["failure"]["kind"], "tls_untrusted", "{report}");
    assert_eq!(failed["failure"]["reason"], "unknown_issuer");
    assert!(
        failed["failure"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("“Example Corp Internal Root CA”")),
        "{report}"
    );
    assert_eq!(
        report["certificate"]["issuer"],
        "Example Corp Internal Root CA"
    );
    assert_eq!(report["certificate"]["names"][0], "127.0.0.1");

    // The CA in the system trust store (SSL_CERT_FILE, read by the child).
    let system = world.command(&adhoc);
    let mut system = system;
    system.env("SSL_CERT_FILE", &ca_file);
    let passed = crate::support::run_command(system, None)?;
    passed.expect_code(0);

    // The CA given to the endpoint (--ca-cert), without the variable.
    let ca_arg = ca_file.to_string_lossy().into_owned();
    let mut with_ca = adhoc.to_vec();
    with_ca.extend(["--ca-cert", ca_arg.as_str()]);
    world.expect(0, &with_ca)?;

    // A saved provider: told what to do, then the CA is stored as PEM.
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Corp gateway",
            "--base-url",
            &base,
            "--model",
            "gateway-model",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    let told = world.run(&["provider", "test", "corp-gateway"], None)?;
    told.expect_code(1);
    assert!(
        told.stderr
            .contains("issuer    Example Corp Internal Root CA")
            && told
                .stderr
                .contains("patchbay provider edit corp-gateway --ca-cert FILE"),
        "{told:#?}"
    );
    world.expect(
        0,
        &["provider", "edit", "corp-gateway", "--ca-cert", &ca_arg],
    )?;
    std::fs::remove_file(&ca_file)?;
    let config = String::from_utf8(world.config_bytes())?;
    assert!(
        config.contains("-----BEGIN CERTIFICATE-----"),
        "the certificate itself is stored"
    );
    assert!(
        !config.contains("corp-root.pem"),
        "not a path that can vanish"
    );
    world.expect(0, &["provider", "test", "corp-gateway"])?;
    let shown = world.expect(0, &["provider", "show", "corp-gateway"])?;
    assert!(
        shown
            .stdout
            .contains("Example Corp Internal Root CA (valid until"),
        "{}",
        shown.stdout
    );

    // A rotated leaf under the same CA still passes.
    drop(server);
    let rotated = Server::background_https(
        handler(|seen| match seen.path.as_str() {
            "/v1/models" => Canned::json(200, models_body(&["gateway-model"])),
            _ => Canned::json(404, "{}"),
        }),
        company.issue(&["127.0.0.1"])?.server,
    )?;
    world.expect(
        0,
        &[
            "provider",
            "edit",
            "corp-gateway",
            "--base-url",
            &rotated.at("/v1"),
        ],
    )?;
    world.expect(0, &["provider", "test", "corp-gateway"])?;

    // A file that is not a CA certificate is refused, naming the flag.
    std::fs::write(
        world.path().join("key.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )?;
    let key_path = world.path().join("key.pem").to_string_lossy().into_owned();
    let refused = world.run(
        &["provider", "edit", "corp-gateway", "--ca-cert", &key_path],
        None,
    )?;
    refused.expect_code(1);
    assert!(refused.stderr.contains("--ca-cert"), "{refused:#?}");
    assert!(refused.stderr.contains("private key"), "{refused:#?}");
    world.expect(0, &["provider", "edit", "corp-gateway", "--no-ca-cert"])?;
    world.expect(1, &["provider", "test", "corp-gateway"])?;
    Ok(())
}

#[test]
fn a_proxy_password_is_read_from_stdin_after_the_key_and_never_shown() -> TestResult {
    use patchbay_testkit::{Proxy, ProxyMode};
    const PASSWORD: &str = "proxycanary-2468ace";
    let server = Server::background_http(handler(|seen| match seen.path.as_str() {
        "/v1/models" => Canned::json(200, models_body(&["lan-model"])),
        _ => Canned::json(404, "{}"),
    }))?;
    let proxy = Proxy::background(
        ProxyMode::Basic("alice", PASSWORD),
        std::collections::HashMap::from([("10.20.30.40:8080".to_owned(), server.address)]),
    )?;
    let world = World::new()?;
    let key = canary();
    let add = [
        "provider",
        "add",
        "--label",
        "Behind proxy",
        "--base-url",
        "http://10.20.30.40:8080/v1",
        "--model",
        "lan-model",
        "--allow-private",
        "--api-key-stdin",
        "--proxy",
        &proxy.at(),
        "--proxy-user",
        "alice",
        "--proxy-password-stdin",
    ];
    // One line short: refused, nothing saved.
    let short = world.run(&add, Some(&format!("{key}\n")))?;
    short.expect_code(1);
    assert!(
        short
            .stderr
            .contains("the API key, then the proxy password"),
        "{short:#?}"
    );
    let saved = world.run(&add, Some(&format!("{key}\n{PASSWORD}\n")))?;
    saved.expect_code(0);
    let config = String::from_utf8(world.config_bytes())?;
    assert!(config.contains("\"proxy_username\": \"alice\""));
    assert!(!config.contains(PASSWORD));

    let passed = world.run(&["provider", "test", "behind-proxy", "--json"], None)?;
    passed.expect_code(0);
    let shown = world.expect(0, &["provider", "show", "behind-proxy"])?;
    assert!(
        shown
            .stdout
            .contains("(user alice, password in the keychain)"),
        "{}",
        shown.stdout
    );
    for run in [&saved, &passed, &shown] {
        assert!(!run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD));
    }
    let seen = server.seen();
    assert!(!seen.is_empty());
    assert!(seen
        .iter()
        .all(|seen| seen.header("proxy-authorization").is_none()));

    // Without the password: 407, explained.
    world.expect(0, &["provider", "edit", "behind-proxy", "--no-proxy-auth"])?;
    let refused = world.run(&["provider", "test", "behind-proxy", "--json"], None)?;
    refused.expect_code(1);
    let report = refused.json()?;
    let failed = failed_stage(&report).ok_or("no failed stage")?;
    assert_eq!(failed["failure"]["kind"], "proxy", "{report}");
    assert_eq!(failed["failure"]["reason"], "credentials_required");
    assert!(
        failed["failure"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("asks for a user name and password (HTTP 407")),
        "{report}"
    );
    Ok(())
}

#[test]
fn azure_openai_both_apis_from_a_pasted_portal_url_test_each_deployment_and_list_models(
) -> TestResult {
    use patchbay_testkit::shapes::azure_fake;
    const AZURE_KEY: &str = "azurecanary0123456789abcdef";
    let classic = Server::background_http(azure_fake(
        AZURE_KEY,
        Some("2024-10-21"),
        &["gpt4o-prod", "mini-eu"],
    ))?;
    let world = World::new()?;
    // A URL copied from the portal: reduced, the classic API and its
    // version kept, the deployment it names added to the models.
    let portal =
        classic.at("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Azure EU",
            "--preset",
            "azure-openai",
            "--base-url",
            &portal,
            "--allow-local",
            "--model",
            "mini-eu",
            "--api-key-stdin",
            "--json",
        ],
        Some(&format!("{AZURE_KEY}\n")),
    )?;
    added.expect_code(0);
    let view = added.json()?["provider"].clone();
    assert_eq!(view["api"], "azure_openai", "{view}");
    assert_eq!(view["api_version"], "2024-10-21");
    assert_eq!(view["base_url"], classic.at("/openai"));
    let models: Vec<&str> = view["models"]
        .as_array()
        .ok_or("models")?
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(models, ["mini-eu", "gpt4o-prod"]);
    assert!(
        added.stderr.contains("classic deployments API"),
        "{added:#?}"
    );

    let tested = world.run(&["provider", "test", "azure-eu", "--json"], None)?;
    tested.expect_code(0);
    let report = tested.json()?;
    let chat = report["stages"]
        .as_array()
        .and_then(|stages| stages.iter().find(|stage| stage["stage"] == "chat"))
        .ok_or("a chat stage")?;
    assert_eq!(chat["status"], "ok", "{report}");
    assert!(
        chat["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("`mini-eu`") && detail.contains("`gpt4o-prod`")),
        "each deployment is checked: {report}"
    );
    let paths: Vec<String> = classic
        .seen()
        .iter()
        .map(|seen| seen.path.clone())
        .collect();
    assert!(
        paths.contains(&"/openai/models?api-version=2024-10-21".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(
            &"/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21".to_owned()
        ),
        "{paths:?}"
    );
    assert!(classic
        .seen()
        .iter()
        .all(|seen| seen.header("authorization").is_none()));
    assert!(!tested.stdout.contains(AZURE_KEY) && !tested.stderr.contains(AZURE_KEY));
    let listed = world.run(&["models", "azure-eu", "--refresh", "--json"], None)?;
    listed.expect_code(0);
    assert!(listed.stdout.contains("gpt-4o-mini"), "{listed:#?}");

    // An unknown deployment fails the test, naming it.
    world.expect(
        0,
        &["provider", "edit", "azure-eu", "--model", "missing-one"],
    )?;
    let failed = world.run(&["provider", "test", "azure-eu", "--json"], None)?;
    failed.expect_code(1);
    assert!(
        failed.stdout.contains("Deployment `missing-one`"),
        "{failed:#?}"
    );

    // The v1 API: the same resource endpoint, no version.
    let v1 = Server::background_http(azure_fake(AZURE_KEY, None, &["gpt4o-prod"]))?;
    let mut command = world.command(&[
        "test",
        "--base-url",
        &v1.at(""),
        "--api",
        "azure-openai",
        "--allow-local",
        "--api-key-env",
        "AZURE_TEST_KEY",
        "--model",
        "gpt4o-prod",
        "--json",
    ]);
    command.env("AZURE_TEST_KEY", AZURE_KEY);
    let passed = crate::support::run_command(command, None)?;
    passed.expect_code(0);
    let paths: Vec<String> = v1.seen().iter().map(|seen| seen.path.clone()).collect();
    assert_eq!(paths, ["/openai/v1/models", "/openai/v1/chat/completions"]);

    // An API version on a non-Azure provider is refused, naming the flag.
    let refused = world.run(
        &[
            "test",
            "--base-url",
            &v1.at("/v1"),
            "--allow-local",
            "--api-version",
            "2024-10-21",
        ],
        None,
    )?;
    refused.expect_code(1);
    assert!(refused.stderr.contains("--api-version"), "{refused:#?}");
    Ok(())
}

#[test]
fn anthropics_messages_api_is_tested_with_its_own_headers_and_lists_display_names() -> TestResult {
    use patchbay_testkit::shapes::anthropic_fake;
    const ANTHROPIC_KEY: &str = "sk-ant-canary-0123456789abcdef";
    let server = Server::background_http(anthropic_fake(
        ANTHROPIC_KEY,
        &["claude-test", "claude-other"],
    ))?;
    let world = World::new()?;
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Claude",
            "--preset",
            "anthropic",
            "--base-url",
            &server.at("/v1"),
            "--allow-local",
            "--model",
            "claude-test",
            "--api-key-stdin",
            "--json",
        ],
        Some(&format!("{ANTHROPIC_KEY}\n")),
    )?;
    added.expect_code(0);
    assert_eq!(added.json()?["provider"]["api"], "anthropic");

    let tested = world.run(
        &[
            "provider",
            "test",
            "claude",
            "--model",
            "claude-test",
            "--json",
        ],
        None,
    )?;
    tested.expect_code(0);
    let report = tested.json()?;
    assert_eq!(report["models_count"], 2, "{report}");
    let seen = server.seen();
    assert!(seen.iter().any(|seen| seen.path == "/v1/models?limit=1000"));
    let probe = seen
        .iter()
        .find(|seen| seen.path == "/v1/messages")
        .ok_or("the one-token Messages probe")?;
    let body: Value = serde_json::from_slice(&probe.body)?;
    assert_eq!(body["max_tokens"], 1);
    assert!(seen
        .iter()
        .all(|seen| seen.header("x-api-key") == Some(ANTHROPIC_KEY)
            && seen.header("anthropic-version") == Some("2023-06-01")
            && seen.header("authorization").is_none()));

    let listed = world.run(&["models", "claude", "--refresh", "--json"], None)?;
    listed.expect_code(0);
    assert!(
        listed.stdout.contains("Claude claude-other"),
        "display names: {listed:#?}"
    );

    let missing = world.run(
        &[
            "provider",
            "test",
            "claude",
            "--model",
            "claude-gone",
            "--json",
        ],
        None,
    )?;
    missing.expect_code(1);
    assert!(
        missing.stdout.contains("model_not_found") || missing.stdout.contains("not_found"),
        "{missing:#?}"
    );
    Ok(())
}
