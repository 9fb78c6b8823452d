//! `patchbay entries`, `patchbay serve` and `patchbay hosts …`: the CLI as
//! host apps and their people meet it. A real `patchbay serve` child process
//! is driven by the real client crate over its Unix socket.

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use patchbay_client::Client;
use serde_json::Value;

use crate::keychain::assert_no_canary;
use crate::support::{add_local, canary, require_secret_service, Run, TestResult, World};

/// A running `patchbay serve`, stopped with SIGTERM when dropped.
struct Serving {
    child: Option<Child>,
}

impl Serving {
    fn start(world: &World) -> patchbay_testkit::TestResult<Self> {
        let mut command = world.command(&["serve"]);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn()?;
        let serving = Self { child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !world.socket().exists() {
            if Instant::now() > deadline {
                return Err("patchbay serve did not create its socket within 15 s".into());
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(serving)
    }

    /// SIGTERM, then the exit status and what it printed.
    fn stop(mut self) -> patchbay_testkit::TestResult<Run> {
        let child = self.child.take().ok_or("already stopped")?;
        terminate(&child)?;
        Ok(Run::from(child.wait_with_output()?))
    }
}

fn terminate(child: &Child) -> std::io::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -TERM failed: {status}"
        )))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Err(error) = terminate(&child).and_then(|()| child.wait().map(drop)) {
                eprintln!("could not stop patchbay serve cleanly ({error}); killing it");
                if let Err(error) = child.kill() {
                    eprintln!("could not kill patchbay serve: {error}");
                }
            }
        }
    }
}

fn new_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn entry_ids(json: &Value) -> Vec<String> {
    json["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn entries_follow_enabled_providers_and_survive_renames() -> TestResult {
    let world = World::new()?;
    let empty = world.run(&["entries"], None)?;
    empty.expect_code(0);
    assert!(empty.stdout.contains("No entries"), "{empty:#?}");

    let local = add_local(&world, "Local Box", "qwen3:8b")?;
    world.expect(
        0,
        &[
            "provider",
            "edit",
            &local,
            "--model",
            "qwen3:8b",
            "--model",
            "hf.co/org/model-GGUF:Q6_K",
        ],
    )?;
    let other = add_local(&world, "Other Box", "google/gemini-2.5-flash")?;

    let json = world.expect(0, &["entries", "--json"])?.json()?;
    let ids = entry_ids(&json);
    assert_eq!(
        ids,
        vec![
            format!("{local}/qwen3:8b"),
            format!("{local}/hf.co/org/model-GGUF:Q6_K"),
            format!("{other}/google/gemini-2.5-flash"),
        ]
    );
    let first = &json["entries"][0];
    assert_eq!(first["is_default"], true);
    assert_eq!(first["byok"], true);
    assert_eq!(first["auth"], "none");
    assert_eq!(json["entries"][1]["model_id"], "hf.co/org/model-GGUF:Q6_K");

    let table = world.run(&["entries"], None)?;
    table.expect_code(0);
    assert!(
        table.stdout.starts_with("ENTRY") && table.stdout.contains("qwen3:8b · Local Box"),
        "{table:#?}"
    );

    world.expect(0, &["provider", "disable", &local])?;
    let disabled = world.run(&["entries", "--json"], None)?.json()?;
    assert_eq!(
        entry_ids(&disabled),
        vec![format!("{other}/google/gemini-2.5-flash")]
    );
    world.expect(0, &["provider", "enable", &local])?;
    world.expect(0, &["provider", "edit", &local, "--label", "Renamed Box"])?;
    let back = world.run(&["entries", "--json"], None)?.json()?;
    assert_eq!(
        entry_ids(&back),
        ids,
        "the same ids after disable/enable and a rename"
    );
    Ok(())
}

#[test]
fn serve_answers_clients_refuses_a_second_instance_and_stops_on_sigterm() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Served", "llama3.2")?;
    let serving = Serving::start(&world)?;

    let runtime = new_runtime()?;
    let socket = world.socket();
    let (hello, entries) = runtime.block_on(async {
        let client = Client::connect_to(&socket).await?;
        let hello = client.hello().await?;
        let entries = client.list_entries().await?;
        Ok::<_, patchbay_client::ClientError>((hello, entries))
    })?;
    assert_eq!(hello.protocol, 2, "patchbay-client speaks protocol 2");
    assert_eq!(
        entries
            .iter()
            .map(|entry| entry.id.as_str())
            .collect::<Vec<_>>(),
        vec![format!("{id}/llama3.2")]
    );

    let second = world.run(&["serve"], None)?;
    second.expect_code(1);
    assert!(second.stderr.contains("already serving"), "{second:#?}");
    let second_json = world.run(&["serve", "--json"], None)?;
    second_json.expect_code(1);
    assert_eq!(second_json.json()?["error"]["kind"], "already_running");

    let stopped = serving.stop()?;
    stopped.expect_code(0);
    assert!(stopped.stderr.contains("serving on"), "{stopped:#?}");
    assert!(!world.socket().exists(), "the socket is removed on exit");
    Ok(())
}

#[test]
fn hosts_commands_without_a_server_fail_or_read_the_file() -> TestResult {
    let world = World::new()?;
    let pending = world.run(&["hosts", "pending", "--json"], None)?;
    pending.expect_code(1);
    assert_eq!(pending.json()?["error"]["kind"], "not_running");
    assert!(pending.stderr.contains("patchbay serve"), "{pending:#?}");

    let list = world.run(&["hosts", "list", "--json"], None)?;
    list.expect_code(0);
    assert_eq!(list.json()?["hosts"], serde_json::json!([]));
    let revoke = world.run(&["hosts", "revoke", "com.example.nobody", "--json"], None)?;
    revoke.expect_code(1);
    assert_eq!(revoke.json()?["error"]["kind"], "not_found");
    assert_eq!(revoke.json()?["error"]["reason"], "host_not_found");
    world.expect(2, &["hosts", "approve"])?;
    Ok(())
}

/// Polls `patchbay hosts pending --json` until a request for `app_id` shows.
fn wait_for_request(world: &World, app_id: &str) -> patchbay_testkit::TestResult<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let run = world.run(&["hosts", "pending", "--json"], None)?;
        run.expect_code(0);
        let json = run.json()?;
        let found = json["pending"].as_array().and_then(|pending| {
            pending
                .iter()
                .find(|request| request["app_id"] == app_id)
                .and_then(|request| request["request_id"].as_str())
        });
        if let Some(request_id) = found {
            return Ok(request_id.to_owned());
        }
        if Instant::now() > deadline {
            return Err(format!("no pairing request from {app_id} appeared: {json}").into());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pairing_approved_denied_and_revoked_from_the_terminal() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Paired Box", "llama3.2")?;
    let serving = Serving::start(&world)?;
    let socket = world.socket();

    // The host waits in host.pair while the person answers with the CLI.
    let pair_socket = socket.clone();
    let pairing = thread::spawn(move || {
        new_runtime()
            .map_err(|error| error.to_string())?
            .block_on(async {
                let client = Client::connect_to(&pair_socket)
                    .await
                    .map_err(|error| error.to_string())?;
                client
                    .pair("com.example.editor", "Example Editor")
                    .await
                    .map_err(|error| error.to_string())
            })
    });
    let request_id = wait_for_request(&world, "com.example.editor")?;
    let human = world.run(&["hosts", "pending"], None)?;
    assert!(
        human.stdout.contains("Example Editor") && human.stdout.contains(&request_id),
        "{human:#?}"
    );
    let approved = world.run(&["hosts", "approve", &request_id, "--json"], None)?;
    approved.expect_code(0);
    assert_eq!(approved.json()?["app_id"], "com.example.editor");
    let paired = pairing.join().map_err(|_| "pairing thread panicked")??;
    assert_eq!(paired.app_id, "com.example.editor");

    let hosts = world.run(&["hosts", "list", "--json"], None)?;
    hosts.expect_code(0);
    assert!(
        !hosts.stdout.contains(&paired.token),
        "the token is never printed"
    );
    assert_eq!(hosts.json()?["hosts"][0]["app_name"], "Example Editor");
    let hosts_file = std::fs::read_to_string(world.config_dir().join("hosts.json"))?;
    assert!(
        !hosts_file.contains(&paired.token),
        "only the token's hash is stored"
    );

    let runtime = new_runtime()?;
    let entry_id = format!("{id}/llama3.2");
    let resolved = runtime.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve(&paired.token, &entry_id)
            .await
    })?;
    // Protocol 2: the gateway, the entry id as the model, the app's token.
    assert_eq!(resolved.model_id, entry_id);
    assert_eq!(
        resolved.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {}", paired.token).as_str())
    );
    let log = world.run(&["hosts", "log", "--json"], None)?;
    log.expect_code(0);
    assert_eq!(log.json()?["records"][0]["entry_id"], entry_id.as_str());

    let revoked = world.run(&["hosts", "revoke", "com.example.editor", "--json"], None)?;
    revoked.expect_code(0);
    assert_eq!(revoked.json()?["revoked"], true);
    let refused = runtime.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve(&paired.token, &entry_id)
            .await
    });
    assert!(refused.is_err(), "a revoked token must be refused");

    // Deny: the host gets no token.
    let deny_socket = socket.clone();
    let denied_pairing = thread::spawn(move || {
        new_runtime()
            .map_err(|error| error.to_string())?
            .block_on(async {
                let client = Client::connect_to(&deny_socket)
                    .await
                    .map_err(|error| error.to_string())?;
                Ok::<bool, String>(
                    client
                        .pair("com.example.chat", "Example Chat")
                        .await
                        .is_err(),
                )
            })
    });
    let request_id = wait_for_request(&world, "com.example.chat")?;
    let denied = world.run(&["hosts", "deny", &request_id], None)?;
    denied.expect_code(0);
    assert!(denied.stdout.contains("Denied"), "{denied:#?}");
    assert!(
        denied_pairing
            .join()
            .map_err(|_| "deny thread panicked")??,
        "a denied host gets an error, not a token"
    );
    world.expect(1, &["hosts", "approve", &request_id])?;

    let stopped = serving.stop()?;
    stopped.expect_code(0);
    assert!(
        stopped.stderr.contains("patchbay hosts approve"),
        "serve tells the person how to answer: {stopped:#?}"
    );
    assert!(!stopped.stderr.contains(&paired.token) && !stopped.stdout.contains(&paired.token));
    Ok(())
}

#[test]
fn resolve_hands_the_stored_key_to_a_paired_host_and_nowhere_else() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let key = canary();
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Keyed Cloud",
            // A loopback literal: resolve judges the URL with DNS at use,
            // and tests never ask a DNS server.
            "--base-url",
            "http://127.0.0.1:11434/v1",
            "--allow-local",
            "--model",
            "gpt-4o-mini",
            "--api-key-stdin",
            "--header",
            "HTTP-Referer: https://example.com",
            "--json",
        ],
        Some(&key),
    )?;
    added.expect_code(0);
    let id = added.json()?["provider"]["id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let serving = Serving::start(&world)?;
    let socket = world.socket();

    let pair_socket = socket.clone();
    let pairing = thread::spawn(move || {
        new_runtime()
            .map_err(|error| error.to_string())?
            .block_on(async {
                let client = Client::connect_to(&pair_socket)
                    .await
                    .map_err(|error| error.to_string())?;
                client
                    .pair("com.example.keyed", "Keyed Host")
                    .await
                    .map_err(|error| error.to_string())
            })
    });
    let request_id = wait_for_request(&world, "com.example.keyed")?;
    world.expect(0, &["hosts", "approve", &request_id])?;
    let paired = pairing.join().map_err(|_| "pairing thread panicked")??;

    let entry_id = format!("{id}/gpt-4o-mini");
    // Protocol 2: the gateway and the app's own token, never the key.
    let through = new_runtime()?.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve(&paired.token, &entry_id)
            .await
    })?;
    assert!(
        through.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        through.base_url
    );
    assert_ne!(through.base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(
        through.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {}", paired.token).as_str())
    );
    // Protocol 1 (the raw key): refused until the person allows it at the
    // terminal.
    let refused = new_runtime()?.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve_with(&paired.token, &entry_id, 1)
            .await
    });
    let refused = refused
        .err()
        .ok_or("the raw key was handed out without consent")?;
    assert_eq!(refused.rpc_reason(), Some("raw_keys_not_allowed"));
    world.expect(0, &["hosts", "raw-keys", "com.example.keyed", "--allow"])?;
    let listed = world.run(&["hosts", "list", "--json"], None)?;
    assert_eq!(listed.json()?["hosts"][0]["raw_keys"], true);
    let resolved = new_runtime()?.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve_with(&paired.token, &entry_id, 1)
            .await
    })?;
    assert_eq!(resolved.base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(
        resolved.headers.get("Authorization").map(String::as_str),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(
        resolved.headers.get("HTTP-Referer").map(String::as_str),
        Some("https://example.com")
    );

    // Limited to another entry at the terminal: this one is refused, in
    // both protocols, from the next call on; --all lifts the limit.
    let limited = world.run(
        &[
            "hosts",
            "entries",
            "com.example.keyed",
            "--only",
            "other/model",
            "--json",
        ],
        None,
    )?;
    limited.expect_code(0);
    assert_eq!(
        limited.json()?["entries"],
        serde_json::json!(["other/model"])
    );
    let listed = world.run(&["hosts", "list"], None)?;
    assert!(listed.stdout.contains("1 only"), "{listed:#?}");
    for protocol in [1, 2] {
        let refused = new_runtime()?.block_on(async {
            Client::connect_to(&socket)
                .await?
                .resolve_with(&paired.token, &entry_id, protocol)
                .await
        });
        let refused = refused
            .err()
            .ok_or("a limited app resolved another entry")?;
        assert_eq!(refused.rpc_reason(), Some("entry_not_allowed"));
    }
    world.expect(2, &["hosts", "entries", "com.example.keyed"])?;
    world.expect(
        1,
        &[
            "hosts",
            "entries",
            "com.example.keyed",
            "--only",
            "no-slash",
        ],
    )?;
    world.expect(1, &["hosts", "entries", "com.example.unknown", "--all"])?;
    world.expect(0, &["hosts", "entries", "com.example.keyed", "--all"])?;
    new_runtime()?.block_on(async {
        Client::connect_to(&socket)
            .await?
            .resolve_with(&paired.token, &entry_id, 2)
            .await
    })?;

    let entries = world.run(&["entries", "--json"], None)?;
    entries.expect_code(0);
    assert_no_canary(&entries, &key);
    let stopped = serving.stop()?;
    stopped.expect_code(0);
    assert_no_canary(&stopped, &key);
    Ok(())
}

/// Sends one raw HTTP/1.1 request to the gateway and returns the status
/// line's code and the body.
fn gateway_call(
    base_url: &str,
    token: &str,
    body: &str,
) -> patchbay_testkit::TestResult<(u16, String)> {
    use std::io::{Read, Write};
    let authority = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("no status")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[test]
fn serve_runs_the_gateway_and_a_token_issued_at_the_terminal_works_until_revoked() -> TestResult {
    let upstream = patchbay_testkit::Server::background_http(patchbay_testkit::handler(|_| {
        patchbay_testkit::Canned::json(
            200,
            r#"{"id":"c1","object":"chat.completion","choices":[]}"#,
        )
    }))?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Local",
            "--base-url",
            &upstream.at("/v1"),
            "--allow-local",
            "--no-auth",
            "--model",
            "org/m:7b",
        ],
    )?;
    let issued = world.run(
        &[
            "hosts",
            "issue",
            "--app-id",
            "com.example.cli",
            "--app-name",
            "CLI App",
            "--json",
        ],
        None,
    )?;
    issued.expect_code(0);
    let token = issued.json()?["token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    assert!(token.starts_with("pbt_"), "{issued:#?}");

    let serving = Serving::start(&world)?;
    let file = world.runtime_dir().join("gateway.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let published: Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    let base_url = published["base_url"]
        .as_str()
        .ok_or("no base_url")?
        .to_owned();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/v1"),
        "{base_url}"
    );
    let hello = new_runtime()?
        .block_on(async { Client::connect_to(&world.socket()).await?.hello().await })?;
    assert_eq!(
        hello.gateway.map(|gateway| gateway.base_url),
        Some(base_url.clone())
    );

    let (status, body) = gateway_call(
        &base_url,
        &token,
        r#"{"model":"local/org/m:7b","messages":[]}"#,
    )?;
    assert_eq!(status, 200, "{body}");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&seen[0].body),
        r#"{"model":"org/m:7b","messages":[]}"#
    );

    // `hosts log` shows the request, without its text.
    let deadline = Instant::now() + Duration::from_secs(5);
    let requests = loop {
        let logged = world.run(&["hosts", "log", "--json"], None)?;
        logged.expect_code(0);
        let requests = logged.json()?["requests"].clone();
        if requests.as_array().is_some_and(|list| !list.is_empty()) || Instant::now() > deadline {
            break requests;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(requests[0]["app_id"], "com.example.cli", "{requests}");
    assert_eq!(requests[0]["entry_id"], "local/org/m:7b");
    assert_eq!(requests[0]["status"], 200);
    let human = world.run(&["hosts", "log"], None)?;
    assert!(
        human.stdout.contains("Gateway requests:") && human.stdout.contains("CLI App"),
        "{human:#?}"
    );

    world.expect(0, &["hosts", "revoke", "com.example.cli"])?;
    let (status, body) = gateway_call(&base_url, &token, r#"{"model":"local/org/m:7b"}"#)?;
    assert_eq!(status, 401, "{body}");

    let stopped = serving.stop()?;
    stopped.expect_code(0);
    assert!(stopped.stderr.contains(&base_url), "{stopped:#?}");
    assert!(!stopped.stderr.contains(&token) && !stopped.stdout.contains(&token));
    assert!(!file.exists(), "gateway.json is removed on exit");

    // --no-gateway: nothing listens, nothing is published.
    let mut command = world.command(&["serve", "--no-gateway"]);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let plain = Serving {
        child: Some(command.spawn()?),
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while !world.socket().exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let hello = new_runtime()?
        .block_on(async { Client::connect_to(&world.socket()).await?.hello().await })?;
    assert_eq!(hello.gateway, None);
    assert!(!file.exists());
    plain.stop()?.expect_code(0);
    Ok(())
}
