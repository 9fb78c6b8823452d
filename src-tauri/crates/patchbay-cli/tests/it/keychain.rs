//! Keys through the CLI against the real Secret Service: stored where the
//! architecture says, never printed, never in the config file, and a clear
//! failure (with nothing saved) when no keychain is running.

use crate::support::{
    canary, keychain_item, keychain_lookup, require_secret_service, Run, TestResult, World,
};
use patchbay_testkit::{handler, models_body, Canned, Server};

pub(crate) fn assert_no_canary(run: &Run, key: &str) {
    assert!(
        !run.stdout.contains(key),
        "the key leaked to stdout: {run:#?}"
    );
    assert!(
        !run.stderr.contains(key),
        "the key leaked to stderr: {run:#?}"
    );
}

fn add_with_key(
    world: &World,
    label: &str,
    key_input: &str,
) -> patchbay_testkit::TestResult<(Run, String)> {
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            label,
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "gpt-4o-mini",
            "--api-key-stdin",
            "--json",
        ],
        Some(key_input),
    )?;
    run.expect_code(0);
    let id = run.json()?["provider"]["id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    Ok((run, id))
}

#[test]
fn canary_key_is_stored_in_the_keychain_and_never_printed() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let key = canary();
    let (run, id) = add_with_key(&world, "Canary Cloud", &format!("{key}\n"))?;
    assert_no_canary(&run, &key);
    assert!(
        run.stderr.contains("trailing newline"),
        "the trim is announced: {run:#?}"
    );
    let hint = run.json()?["provider"]["key_hint"]
        .as_str()
        .ok_or("no key_hint")?
        .to_owned();
    assert!(hint.ends_with(&key[key.len() - 4..]), "{hint}");

    assert_eq!(
        keychain_lookup(&world.service, &id)?.as_deref(),
        Some(key.as_str())
    );
    let config = world.config_bytes();
    assert!(!config.is_empty());
    assert!(
        !String::from_utf8_lossy(&config).contains(&key[10..]),
        "no part of the key in the config file"
    );

    for args in [
        vec!["provider", "list"],
        vec!["provider", "list", "--json"],
        vec!["provider", "show", &id],
        vec!["provider", "show", &id, "--json"],
        vec!["provider", "disable", &id, "--json"],
        vec!["provider", "enable", &id],
        vec![
            "provider",
            "edit",
            &id,
            "--label",
            "Canary Renamed",
            "--json",
        ],
    ] {
        let run = world.run(&args, None)?;
        run.expect_code(0);
        assert_no_canary(&run, &key);
    }
    let list = world.run(&["provider", "list"], None)?;
    assert!(
        list.stdout.contains(&hint),
        "the KEY column shows the hint: {list:#?}"
    );
    // Editing other fields keeps the key.
    assert_eq!(
        keychain_lookup(&world.service, &id)?.as_deref(),
        Some(key.as_str())
    );
    Ok(())
}

#[test]
fn set_key_replaces_and_remove_key_deletes() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let first = canary();
    let (_, id) = add_with_key(&world, "Rotating", &first)?;
    let second = canary();
    let run = world.run(
        &["provider", "set-key", &id, "--api-key-stdin", "--json"],
        Some(&second),
    )?;
    run.expect_code(0);
    assert_no_canary(&run, &second);
    assert!(
        !run.stderr.contains("trailing newline"),
        "nothing was trimmed: {run:#?}"
    );
    assert_eq!(
        keychain_lookup(&world.service, &id)?.as_deref(),
        Some(second.as_str())
    );
    let hint = run.json()?["provider"]["key_hint"]
        .as_str()
        .ok_or("no hint")?
        .to_owned();
    assert!(hint.ends_with(&second[second.len() - 4..]));

    let run = world.run(&["provider", "remove-key", &id, "--json"], None)?;
    run.expect_code(0);
    assert_eq!(run.json()?["key_hint"], serde_json::Value::Null);
    assert_eq!(keychain_lookup(&world.service, &id)?, None);
    Ok(())
}

#[test]
fn remove_deletes_the_keychain_items() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let key = canary();
    let header_secret = canary();
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Gateway",
            "--base-url",
            "https://gw.example.com/v1",
            "--model",
            "m",
            "--api-key-stdin",
            "--secret-header",
            "CF-Access-Client-Secret",
            "--json",
        ],
        Some(&format!("{key}\n{header_secret}\n")),
    )?;
    run.expect_code(0);
    assert_no_canary(&run, &key);
    assert_no_canary(&run, &header_secret);
    let json = run.json()?;
    let id = json["provider"]["id"].as_str().ok_or("no id")?.to_owned();
    assert_eq!(json["provider"]["headers"][0]["secret"], true);
    assert!(json["provider"]["headers"][0]
        .get("value")
        .is_none_or(serde_json::Value::is_null));
    let header_account = format!("{id}#header:cf-access-client-secret");
    assert_eq!(
        keychain_lookup(&world.service, &header_account)?.as_deref(),
        Some(header_secret.as_str())
    );
    assert!(!String::from_utf8_lossy(&world.config_bytes()).contains(&header_secret));

    world.expect(0, &["provider", "remove", &id])?;
    assert_eq!(keychain_lookup(&world.service, &id)?, None);
    assert_eq!(keychain_lookup(&world.service, &header_account)?, None);
    Ok(())
}

#[test]
fn two_providers_on_one_base_url_keep_separate_keys() -> TestResult {
    require_secret_service();
    let world = World::new()?;
    let (first_key, second_key) = (canary(), canary());
    let (_, first) = add_with_key(&world, "Same URL one", &first_key)?;
    let (_, second) = add_with_key(&world, "Same URL two", &second_key)?;
    assert_ne!(first, second);
    assert_eq!(
        keychain_lookup(&world.service, &first)?.as_deref(),
        Some(first_key.as_str())
    );
    assert_eq!(
        keychain_lookup(&world.service, &second)?.as_deref(),
        Some(second_key.as_str())
    );
    Ok(())
}

#[test]
fn a_no_auth_provider_is_added_and_removed_without_any_keychain() -> TestResult {
    let world = World::new()?.with_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Local Only",
            "--base-url",
            "http://127.0.0.1:11434/v1",
            "--model",
            "llama3.2",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    let removed = world.run(&["provider", "remove", "local-only"], None)?;
    removed.expect_code(0);
    assert!(!removed.stderr.contains("left behind"), "{removed:#?}");
    let config = String::from_utf8_lossy(&world.config_bytes()).into_owned();
    assert!(!config.contains("Local Only"), "{config}");
    Ok(())
}

#[test]
fn keychain_unavailable_is_exit_1_with_advice_and_nothing_saved() -> TestResult {
    let world = World::new()?.with_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    let key = canary();
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "No Keychain",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
            "--api-key-stdin",
        ],
        Some(&key),
    )?;
    run.expect_code(1);
    assert_no_canary(&run, &key);
    assert!(
        run.stderr.contains("GNOME Keyring"),
        "an actionable message: {run:#?}"
    );
    let config = String::from_utf8_lossy(&world.config_bytes()).into_owned();
    assert!(
        !config.contains("No Keychain") && !config.contains(&key),
        "nothing saved: {config}"
    );

    let json = world.run(
        &[
            "provider",
            "add",
            "--label",
            "No Keychain",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
            "--api-key-stdin",
            "--json",
        ],
        Some(&key),
    )?;
    json.expect_code(1);
    let kind = json.json()?["error"]["kind"]
        .as_str()
        .ok_or("no kind")?
        .to_owned();
    assert!(kind.starts_with("keychain"), "{kind}");
    // Listing never touches the keychain, so it still works.
    world.expect(0, &["provider", "list"])?;
    Ok(())
}

#[test]
fn an_empty_stdin_key_is_refused_naming_the_flag() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Empty",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
            "--api-key-stdin",
            "--json",
        ],
        Some(""),
    )?;
    run.expect_code(1);
    let error = &run.json()?["error"];
    assert_eq!(error["fields"][0]["flag"], "--api-key-stdin");
    assert!(world.config_bytes().is_empty());
    Ok(())
}

#[test]
fn provider_test_and_refresh_use_the_stored_key_without_printing_it() -> TestResult {
    require_secret_service();
    let key = canary();
    let expected = format!("Bearer {key}");
    let server = Server::background_http(handler(move |seen| {
        if seen.header("authorization") == Some(expected.as_str()) {
            Canned::json(200, models_body(&["gpt-4o-mini", "gpt-4.1"]))
        } else {
            Canned::json(401, r#"{"error":{"message":"missing or wrong key"}}"#)
        }
    }))?;
    let world = World::new()?;
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Keyed Local",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "gpt-4o-mini",
            "--api-key-stdin",
            "--allow-local",
            "--json",
        ],
        Some(&key),
    )?;
    added.expect_code(0);
    let id = added.json()?["provider"]["id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();

    let tested = world.run(&["provider", "test", &id], None)?;
    tested.expect_code(0);
    assert_no_canary(&tested, &key);
    let tested_json = world.run(&["provider", "test", &id, "--json"], None)?;
    tested_json.expect_code(0);
    assert_no_canary(&tested_json, &key);
    assert_eq!(tested_json.json()?["models_count"], 2);

    let refreshed = world.run(&["models", &id, "--refresh", "--json"], None)?;
    refreshed.expect_code(0);
    assert_no_canary(&refreshed, &key);
    assert_eq!(
        refreshed.json()?["models"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(!String::from_utf8_lossy(&world.config_bytes()).contains(&key[10..]));
    Ok(())
}

/// A key goes only where the person sent it: another origin (here another
/// port) needs `--move-key`, and a base URL changed by hand in
/// providers.json sends nothing until it is confirmed.
#[test]
fn a_key_moves_to_another_origin_only_with_move_key() -> TestResult {
    require_secret_service();
    let key = canary();
    let bearer = format!("Bearer {key}");
    let answer = move |seen: &patchbay_testkit::Seen| {
        if seen.header("authorization") == Some(bearer.as_str()) {
            Canned::json(200, models_body(&["m1"]))
        } else {
            Canned::json(401, r#"{"error":{"message":"no key"}}"#)
        }
    };
    let given = Server::background_http(handler(answer.clone()))?;
    let elsewhere = Server::background_http(handler(answer))?;
    let world = World::new()?;
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Moving",
            "--base-url",
            &given.at("/v1"),
            "--model",
            "m1",
            "--api-key-stdin",
            "--allow-local",
            "--json",
        ],
        Some(&key),
    )?;
    added.expect_code(0);
    let id = added.json()?["provider"]["id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let given_origin = given.at("").trim_end_matches('/').to_owned();
    let other_origin = elsewhere.at("").trim_end_matches('/').to_owned();
    assert_eq!(
        keychain_item(&world.service, &id)?.map(|(origin, _)| origin),
        Some(given_origin.clone())
    );

    // Another origin keeping the stored key: refused, naming the flag.
    let refused = world.run(
        &[
            "provider",
            "edit",
            &id,
            "--base-url",
            &elsewhere.at("/v1"),
            "--json",
        ],
        None,
    )?;
    refused.expect_code(1);
    assert_no_canary(&refused, &key);
    let field = &refused.json()?["error"]["fields"][0];
    assert_eq!(field["flag"], "--move-key");
    let message = field["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&given_origin) && message.contains(&other_origin),
        "{message}"
    );
    assert!(String::from_utf8_lossy(&world.config_bytes()).contains(&given.at("/v1")));

    // With --move-key it is saved and the key goes there.
    world.expect(
        0,
        &[
            "provider",
            "edit",
            &id,
            "--base-url",
            &elsewhere.at("/v1"),
            "--move-key",
        ],
    )?;
    assert_eq!(
        keychain_item(&world.service, &id)?.map(|(origin, _)| origin),
        Some(other_origin.clone())
    );
    let tested = world.run(&["provider", "test", &id], None)?;
    tested.expect_code(0);
    assert_no_canary(&tested, &key);

    // A hand edit back to the first server: listed as withheld, and a test
    // sends nothing there.
    let text = String::from_utf8_lossy(&world.config_bytes()).into_owned();
    std::fs::write(
        world.config_file(),
        text.replace(&elsewhere.at("/v1"), &given.at("/v1")),
    )?;
    let listed = world.run(&["provider", "list"], None)?;
    listed.expect_code(0);
    assert!(listed.stdout.contains("withheld"), "{listed:#?}");
    let before = given.seen().len();
    let withheld = world.run(&["provider", "test", &id, "--json"], None)?;
    assert_ne!(withheld.code, Some(0), "{withheld:#?}");
    assert_no_canary(&withheld, &key);
    assert_eq!(
        withheld.json()?["error"]["kind"],
        "key_withheld",
        "{withheld:#?}"
    );
    assert!(withheld.stdout.contains("--move-key") || withheld.stderr.contains("--move-key"));
    assert_eq!(
        given.seen().len(),
        before,
        "no request reached the hand-edited URL"
    );

    // Confirmed: the key goes to the URL the file names.
    world.expect(0, &["provider", "edit", &id, "--move-key"])?;
    world.expect(0, &["provider", "test", &id])?;
    assert!(given
        .seen()
        .iter()
        .any(|seen| seen.header("authorization").is_some()));
    Ok(())
}
