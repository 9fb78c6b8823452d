//! `patchbay provider …` happy paths, JSON shapes, exit status 1 and
//! validation messages, with no-auth providers (no keychain involved; the
//! keychain paths are in `keychain.rs`).

use serde_json::Value;

use crate::support::{add_local, TestResult, World};

/// The documented `ProviderView` keys (docs/cli.md).
const VIEW_KEYS: &[&str] = &[
    "id",
    "label",
    "preset",
    "base_url",
    "host",
    "auth",
    "key_hint",
    "models",
    "default_model",
    "enabled",
    "network",
    "headers",
    "timeout_secs",
    "trusted_cert_sha256",
    "last_test",
    "created_at",
    "updated_at",
];

fn assert_view_shape(view: &Value) {
    for key in VIEW_KEYS {
        assert!(
            view.get(*key).is_some(),
            "ProviderView lacks `{key}`: {view}"
        );
    }
    for forbidden in ["key", "api_key", "secret", "value"] {
        assert!(
            view.get(forbidden).is_none(),
            "ProviderView must have no `{forbidden}`: {view}"
        );
    }
}

#[test]
fn add_prints_provider_and_notices_as_json() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Local vLLM",
            "--base-url",
            "http://127.0.0.1:8000/v1/chat/completions",
            "--model",
            "hf.co/org/model-GGUF:Q6_K",
            "--model",
            "google/gemini-2.5-flash",
            "--no-auth",
            "--allow-local",
            "--header",
            "HTTP-Referer: https://example.com",
            "--timeout",
            "120",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let json = run.json()?;
    let provider = &json["provider"];
    assert_view_shape(provider);
    assert_eq!(provider["id"], "local-vllm");
    assert_eq!(provider["label"], "Local vLLM");
    // The pasted endpoint is reduced to its base, and the person is told.
    assert_eq!(provider["base_url"], "http://127.0.0.1:8000/v1");
    assert_eq!(provider["host"], "127.0.0.1");
    assert_eq!(provider["default_model"], "hf.co/org/model-GGUF:Q6_K");
    assert_eq!(provider["models"][1]["id"], "google/gemini-2.5-flash");
    assert_eq!(provider["auth"], "none");
    assert_eq!(provider["network"], "local");
    assert_eq!(provider["enabled"], true);
    assert_eq!(provider["timeout_secs"], 120);
    assert_eq!(provider["headers"][0]["name"], "HTTP-Referer");
    assert_eq!(provider["headers"][0]["value"], "https://example.com");
    let notices = json["notices"]
        .as_array()
        .ok_or("notices is not an array")?;
    assert!(
        notices.iter().any(|notice| notice["field"] == "base_url"),
        "the reduced endpoint must be a notice: {json}"
    );
    assert!(
        run.stderr.contains("--base-url"),
        "notices go to stderr, naming the flag: {run:#?}"
    );

    let on_disk: Value = serde_json::from_slice(&world.config_bytes())?;
    assert_eq!(on_disk["version"], 1);
    assert_eq!(on_disk["providers"][0]["id"], "local-vllm");
    Ok(())
}

#[test]
fn add_human_output_names_the_id() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Studio",
            "--base-url",
            "http://localhost:1234/v1",
            "--model",
            "qwen",
            "--no-auth",
            "--allow-local",
        ],
        None,
    )?;
    run.expect_code(0);
    assert!(run.stdout.contains("studio"), "{run:#?}");
    Ok(())
}

#[test]
fn list_is_an_aligned_table_and_json() -> TestResult {
    let world = World::new()?;
    let empty = world.run(&["provider", "list"], None)?;
    empty.expect_code(0);
    assert!(empty.stdout.contains("No providers yet"), "{empty:#?}");
    let empty_json = world.expect(0, &["provider", "list", "--json"])?.json()?;
    assert_eq!(empty_json["providers"], serde_json::json!([]));
    assert_eq!(empty_json["problems"], serde_json::json!([]));

    add_local(&world, "Alpha", "llama3.2")?;
    add_local(&world, "A much longer label", "qwen2.5-coder:32b")?;
    let disabled = world.run(&["provider", "disable", "alpha"], None)?;
    disabled.expect_code(0);

    let run = world.run(&["provider", "list"], None)?;
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run:#?}");
    for header in ["ID", "LABEL", "HOST", "DEFAULT MODEL", "ENABLED", "KEY"] {
        assert!(lines[0].contains(header), "{run:#?}");
    }
    // Columns line up: every row has its LABEL at the header's offset.
    let label_column = lines[0].find("LABEL").ok_or("no LABEL")?;
    let model_column = lines[0].find("DEFAULT MODEL").ok_or("no DEFAULT MODEL")?;
    let alpha = lines
        .iter()
        .find(|line| line.starts_with("alpha "))
        .ok_or("no alpha row")?;
    assert_eq!(alpha.find("Alpha"), Some(label_column), "{run:#?}");
    assert_eq!(alpha.find("llama3.2"), Some(model_column), "{run:#?}");
    assert!(
        alpha.contains("no auth") && alpha.contains(" no "),
        "{alpha}"
    );
    let longer = lines
        .iter()
        .find(|line| line.starts_with("a-much-longer-label"))
        .ok_or("no row")?;
    assert_eq!(longer.find("qwen2.5-coder:32b"), Some(model_column));
    assert!(longer.contains("127.0.0.1"));

    let json = world.expect(0, &["provider", "list", "--json"])?.json()?;
    let providers = json["providers"]
        .as_array()
        .ok_or("providers is not an array")?;
    assert_eq!(providers.len(), 2);
    providers.iter().for_each(assert_view_shape);
    assert!(json["problems"].is_array());
    Ok(())
}

#[test]
fn show_prints_one_provider() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Shown", "model-a")?;
    let run = world.run(&["provider", "show", &id], None)?;
    run.expect_code(0);
    assert!(
        run.stdout.contains("base url:") && run.stdout.contains("http://127.0.0.1:11434/v1"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("model-a (default)"), "{run:#?}");
    assert!(run.stdout.contains("no authentication"), "{run:#?}");

    let json = world
        .expect(0, &["provider", "show", &id, "--json"])?
        .json()?;
    assert_view_shape(&json);
    assert_eq!(json["id"], id.as_str());
    Ok(())
}

#[test]
fn edit_changes_only_what_is_given_and_keeps_the_id() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Before", "first-model")?;
    let run = world.run(
        &[
            "provider",
            "edit",
            &id,
            "--label",
            "After",
            "--header",
            "X-Title: Patchbay",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let json = run.json()?;
    let provider = &json["provider"];
    assert_view_shape(provider);
    assert_eq!(
        provider["id"],
        id.as_str(),
        "ids never change with the label"
    );
    assert_eq!(provider["label"], "After");
    assert_eq!(provider["default_model"], "first-model");
    assert_eq!(provider["base_url"], "http://127.0.0.1:11434/v1");
    assert_eq!(provider["network"], "local");
    assert_eq!(provider["headers"][0]["name"], "X-Title");
    assert!(json["notices"].is_array());

    let run = world.run(
        &[
            "provider",
            "edit",
            &id,
            "--model",
            "second",
            "--model",
            "third",
            "--remove-header",
            "x-title",
            "--disabled",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let provider = &run.json()?["provider"];
    assert_eq!(provider["label"], "After");
    assert_eq!(provider["default_model"], "second");
    assert_eq!(provider["models"].as_array().map(Vec::len), Some(2));
    assert_eq!(provider["headers"], serde_json::json!([]));
    assert_eq!(provider["enabled"], false);
    Ok(())
}

#[test]
fn disable_then_enable_brings_everything_back() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Toggle", "m1")?;
    let before = world
        .run(&["provider", "show", &id, "--json"], None)?
        .json()?;
    let disabled = world.run(&["provider", "disable", &id, "--json"], None)?;
    disabled.expect_code(0);
    assert_eq!(disabled.json()?["enabled"], false);
    let enabled = world.run(&["provider", "enable", &id, "--json"], None)?;
    enabled.expect_code(0);
    let after = enabled.json()?;
    assert_eq!(after["enabled"], true);
    for key in ["label", "base_url", "models", "network", "headers", "auth"] {
        assert_eq!(
            before[key], after[key],
            "`{key}` changed across disable/enable"
        );
    }
    let human = world.run(&["provider", "disable", &id], None)?;
    human.expect_code(0);
    assert!(human.stdout.contains("Disabled"), "{human:#?}");
    Ok(())
}

#[test]
fn remove_deletes_the_provider() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Doomed", "m")?;
    let run = world.run(&["provider", "remove", &id, "--json"], None)?;
    run.expect_code(0);
    assert_eq!(run.json()?["removed"], id.as_str());
    let list = world.run(&["provider", "list", "--json"], None)?.json()?;
    assert_eq!(list["providers"], serde_json::json!([]));
    Ok(())
}

#[test]
fn unknown_id_is_exit_1_with_a_json_error() -> TestResult {
    let world = World::new()?;
    for args in [
        vec!["provider", "show", "nope"],
        vec!["provider", "edit", "nope", "--label", "x"],
        vec!["provider", "enable", "nope"],
        vec!["provider", "remove", "nope"],
        vec!["provider", "remove-key", "nope"],
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let run = world.run(&with_json, None)?;
        run.expect_code(1);
        let error = &run.json()?["error"];
        assert_eq!(error["kind"], "not_found", "{args:?}: {run:#?}");
        assert_eq!(error["reason"], "provider_not_found", "{args:?}: {run:#?}");
        assert!(error["message"]
            .as_str()
            .is_some_and(|message| message.contains("nope")));
        let human = world.run(&args, None)?;
        human.expect_code(1);
        assert!(
            human.stdout.is_empty(),
            "errors go to stderr without --json: {human:#?}"
        );
        assert!(human.stderr.contains("nope"), "{human:#?}");
    }
    Ok(())
}

#[test]
fn validation_errors_name_the_field_and_the_flag() -> TestResult {
    let world = World::new()?;
    // http to a LAN address without --allow-private.
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "LAN",
            "--base-url",
            "http://192.168.0.123:8000/v1",
            "--model",
            "m",
            "--no-auth",
            "--json",
        ],
        None,
    )?;
    run.expect_code(1);
    let error = &run.json()?["error"];
    assert_eq!(error["kind"], "invalid_input");
    let fields = error["fields"].as_array().ok_or("no fields")?;
    assert!(
        fields
            .iter()
            .any(|field| field["field"] == "base_url" && field["flag"] == "--base-url"),
        "{error}"
    );
    assert!(run.stderr.contains("--base-url"), "{run:#?}");
    assert!(
        world.config_bytes().is_empty()
            || !String::from_utf8_lossy(&world.config_bytes()).contains("LAN")
    );

    // No model at all.
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "No model",
            "--base-url",
            "https://api.example.com/v1",
            "--no-auth",
        ],
        None,
    )?;
    run.expect_code(1);
    assert!(run.stderr.contains("--model"), "{run:#?}");

    // A key is required unless --no-auth.
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Keyless",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
        ],
        None,
    )?;
    run.expect_code(1);
    assert!(run.stderr.contains("--api-key-stdin"), "{run:#?}");

    // Same label twice (case-insensitively) is refused.
    add_local(&world, "Twin", "m")?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "twin",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--no-auth",
            "--allow-local",
        ],
        None,
    )?;
    run.expect_code(1);
    assert!(run.stderr.contains("--label"), "{run:#?}");
    let list = world.run(&["provider", "list", "--json"], None)?.json()?;
    assert_eq!(
        list["providers"].as_array().map(Vec::len),
        Some(1),
        "nothing invalid was saved"
    );
    Ok(())
}

#[test]
fn control_characters_in_a_hand_edited_label_do_not_reach_the_terminal() -> TestResult {
    let world = World::new()?;
    add_local(&world, "Plain", "m")?;
    let text = std::fs::read_to_string(world.config_file())?;
    std::fs::write(
        world.config_file(),
        text.replace("\"Plain\"", "\"Pl\\u001b[31main\""),
    )?;
    let run = world.run(&["provider", "list"], None)?;
    run.expect_code(0);
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stderr.contains('\u{1b}'),
        "{run:#?}"
    );
    Ok(())
}

#[test]
fn a_metadata_address_is_refused_at_save_time_naming_the_flag() -> TestResult {
    let world = World::new()?;
    for (url, allowance) in [
        ("http://169.254.169.254/v1", "--allow-private"),
        ("http://100.100.100.200/v1", "--allow-private"),
        ("https://[fe80::1]/v1", "--allow-local"),
    ] {
        let run = world.run(
            &[
                "provider",
                "add",
                "--label",
                "Forbidden",
                "--base-url",
                url,
                "--model",
                "m",
                "--no-auth",
                allowance,
                "--json",
            ],
            None,
        )?;
        run.expect_code(1);
        let error = &run.json()?["error"];
        assert_eq!(error["kind"], "invalid_input", "{url}");
        assert_eq!(error["fields"][0]["flag"], "--base-url", "{url}: {error}");
    }
    let id = add_local(&world, "Allowed", "m")?;
    let run = world.run(
        &[
            "provider",
            "edit",
            &id,
            "--base-url",
            "http://169.254.169.254/v1",
            "--allow-private",
        ],
        None,
    )?;
    run.expect_code(1);
    assert!(
        run.stderr.contains("--base-url") && run.stderr.contains("metadata"),
        "{run:#?}"
    );
    let list = world.run(&["provider", "list", "--json"], None)?.json()?;
    assert_eq!(list["providers"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        list["providers"][0]["base_url"],
        "http://127.0.0.1:11434/v1"
    );
    Ok(())
}

#[test]
fn a_tailnet_address_needs_the_private_allowance_and_its_metadata_address_never_passes(
) -> TestResult {
    let world = World::new()?;
    let tailnet = "http://100.101.102.103:11434/v1";
    let remote = world.run(&["check-url", tailnet, "--no-dns", "--json"], None)?;
    remote.expect_code(1);
    assert_eq!(remote.json()?["reason"], "cgnat", "{remote:#?}");
    assert!(
        remote.stdout.contains("Private network"),
        "says what to do: {remote:#?}"
    );
    world.expect(0, &["check-url", tailnet, "--allow-private", "--no-dns"])?;
    let metadata = world.run(
        &[
            "check-url",
            "http://100.100.100.200/latest/meta-data",
            "--allow-private",
            "--no-dns",
            "--json",
        ],
        None,
    )?;
    metadata.expect_code(1);
    assert_eq!(metadata.json()?["reason"], "metadata", "{metadata:#?}");
    Ok(())
}
