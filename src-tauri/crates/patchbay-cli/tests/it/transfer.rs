//! `patchbay export` / `patchbay import`: a round trip onto a fresh config
//! gives the same providers and models and no secret; each conflict
//! choice; `--dry-run` writes nothing; corrupt and newer files are refused
//! with the config untouched; widening needs a yes per provider; Zed's and
//! Continue's settings are read without their keys.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{canary, require_secret_service, TestResult, World};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn ids(config: &Value) -> Vec<String> {
    config["providers"]
        .as_array()
        .map(|providers| {
            providers
                .iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn config(world: &World) -> Value {
    serde_json::from_slice(&world.config_bytes()).unwrap_or(Value::Null)
}

/// A source machine: a keyed provider with a secret header, a display
/// name and a hidden model, and a local one with a plain header.
fn source(world: &World, key: &str) -> TestResult {
    require_secret_service();
    let added = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Cloud",
            "--base-url",
            "https://api.cloud.example/v1",
            "--model",
            "big",
            "--model",
            "small",
            "--api-key-stdin",
            "--secret-header",
            "X-Gateway-Token",
        ],
        Some(&format!("{key}\nheader-secret-{key}\n")),
    )?;
    added.expect_code(0);
    world.expect(0, &["model", "rename", "cloud", "big", "Big one"])?;
    world.expect(0, &["model", "hide", "cloud", "small"])?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Box",
            "--base-url",
            "http://127.0.0.1:8000/v1",
            "--model",
            "qwen:7b",
            "--no-auth",
            "--allow-local",
            "--header",
            "X-Team: blue",
        ],
    )?;
    Ok(())
}

#[test]
fn an_export_imports_onto_a_fresh_config_with_the_same_providers_and_no_secret() -> TestResult {
    let key = canary();
    let from = World::new()?;
    source(&from, &key)?;
    let file = from.path().join("export.json");
    let exported = from.run(&["export", "--output", file.to_str().ok_or("path")?], None)?;
    exported.expect_code(0);
    assert!(
        exported.stdout.contains("Exported 2 providers"),
        "{exported:#?}"
    );
    let text = std::fs::read_to_string(&file)?;
    assert!(!text.contains(&key), "the key is not in the export");
    assert!(!text.contains("header-secret"), "no secret header value");
    assert!(
        !text.contains("key_hint") && !text.contains("…"),
        "not even the hint: {text}"
    );
    let document: Value = serde_json::from_str(&text)?;
    assert_eq!(document["format"], "patchbay-export");
    assert_eq!(document["version"], 1);
    // Also to stdout, and only some providers.
    let one = from.run(&["export", "--providers", "box"], None)?.json()?;
    assert_eq!(one["providers"].as_array().map(Vec::len), Some(1));

    let to = World::new()?;
    // The local provider widens what Patchbay reaches: without a yes it is skipped.
    let without = to.run(&["import", file.to_str().ok_or("path")?], None)?;
    without.expect_code(0);
    assert!(
        without.stdout.contains("needs a key")
            && without.stdout.contains("(allow with --allow box)")
            && without
                .stdout
                .contains("needs the value of the secret header X-Gateway-Token")
            && without.stdout.contains("Imported: 1 added")
            && without.stdout.contains("set-key"),
        "{without:#?}"
    );
    assert_eq!(ids(&config(&to)), ["cloud"]);
    let with = to
        .run(
            &[
                "import",
                file.to_str().ok_or("path")?,
                "--allow",
                "box",
                "--json",
            ],
            None,
        )?
        .json()?;
    assert_eq!(
        (with["adds"].clone(), with["applied"].clone()),
        (1.into(), true.into())
    );

    let before = config(&from);
    let after = config(&to);
    assert_eq!(ids(&after), ["cloud", "box"]);
    for (index, id) in ["cloud", "box"].iter().enumerate() {
        for field in ["label", "base_url", "auth", "network", "enabled"] {
            assert_eq!(
                after["providers"][index][field], before["providers"][index][field],
                "{id}.{field}"
            );
        }
        let models = |config: &Value| -> Vec<(Value, Value, Value)> {
            config["providers"][index]["models"]
                .as_array()
                .map(|models| {
                    models
                        .iter()
                        .map(|m| {
                            (
                                m["id"].clone(),
                                m["display_name"].clone(),
                                m["hidden"].clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            models(&after),
            models(&before),
            "{id}: the same models, names and hidden flags"
        );
    }
    assert!(
        after["providers"][0].get("key_hint").is_none(),
        "needs a key"
    );
    assert_eq!(after["providers"][1]["headers"][0]["value"], "blue");
    let shown = to.run(&["provider", "list"], None)?;
    assert!(
        shown.stdout.contains("missing"),
        "the list says the key is missing: {shown:#?}"
    );
    assert!(!String::from_utf8_lossy(&to.config_bytes()).contains(&key));
    Ok(())
}

#[test]
fn conflicts_are_skipped_renamed_or_replaced_as_chosen_and_dry_run_writes_nothing() -> TestResult {
    let key = canary();
    let world = World::new()?;
    source(&world, &key)?;
    let file = world.path().join("export.json");
    world.expect(0, &["export", "--output", file.to_str().ok_or("path")?])?;
    let path = file.to_str().ok_or("path")?;
    // Change the file: Cloud gets another label and a model more.
    let mut document: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    document["providers"][0]["label"] = "Cloud v2".into();
    document["providers"][0]["models"]
        .as_array_mut()
        .ok_or("models")?
        .push(serde_json::json!({"id": "new-model"}));
    std::fs::write(&file, serde_json::to_vec(&document)?)?;
    let before = world.config_bytes();

    let dry = world.run(
        &[
            "import",
            path,
            "--dry-run",
            "--on-conflict",
            "replace",
            "--allow",
            "box",
        ],
        None,
    )?;
    dry.expect_code(0);
    assert!(
        dry.stdout.contains("changes label,models") && dry.stdout.contains("Nothing was written"),
        "{dry:#?}"
    );
    assert!(
        dry.stdout.contains("unchanged"),
        "Box is the same: {dry:#?}"
    );
    assert_eq!(world.config_bytes(), before, "--dry-run writes nothing");

    let skipped = world.run(&["import", path, "--json"], None)?.json()?;
    assert_eq!(
        (skipped["adds"].clone(), skipped["replaces"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(world.config_bytes(), before, "skip is the default");

    let renamed = world
        .run(
            &["import", path, "--choose", "cloud=rename", "--json"],
            None,
        )?
        .json()?;
    assert_eq!(renamed["items"][0]["action"], "add");
    assert_eq!(renamed["items"][0]["label"], "Cloud v2");
    let after_rename = config(&world);
    assert_eq!(ids(&after_rename), ["cloud", "box", "cloud-v2"]);
    assert!(after_rename["providers"][2].get("key_hint").is_none());

    world.expect(0, &["import", path, "--choose", "cloud=replace"])?;
    let replaced = config(&world);
    // "Cloud v2" is the renamed copy's label now: labels stay unique.
    assert_eq!(replaced["providers"][0]["label"], "Cloud v2 (imported)");
    assert_eq!(replaced["providers"][0]["models"][2]["id"], "new-model");
    assert!(
        replaced["providers"][0]["key_hint"].is_string(),
        "a replaced provider keeps its key"
    );
    assert_eq!(
        replaced["providers"][0]["headers"][0]["secret"], true,
        "and its secret header"
    );
    Ok(())
}

#[test]
fn a_corrupt_or_newer_file_is_refused_and_the_config_is_untouched() -> TestResult {
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Here",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--no-auth",
            "--allow-local",
        ],
    )?;
    let before = world.config_bytes();
    let newer = world.path().join("newer.json");
    std::fs::write(
        &newer,
        r#"{"format": "patchbay-export", "version": 7, "providers": []}"#,
    )?;
    let refused = world.run(&["import", newer.to_str().ok_or("path")?, "--json"], None)?;
    refused.expect_code(1);
    let error = refused.json()?;
    assert_eq!(error["error"]["kind"], "unsupported_version");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("newer Patchbay"),
        "{error}"
    );

    let corrupt = world.path().join("corrupt.json");
    std::fs::write(
        &corrupt,
        r#"{"format": "patchbay-export", "version": 1, "providers": [{"id": 3}]}"#,
    )?;
    let refused = world.run(&["import", corrupt.to_str().ok_or("path")?], None)?;
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("damaged") && refused.stderr.contains("nothing was imported"),
        "{refused:#?}"
    );

    let garbage = world.path().join("garbage.bin");
    std::fs::write(&garbage, [0xff_u8, 0xfe, 0x00, 0x12])?;
    world.expect(1, &["import", garbage.to_str().ok_or("path")?])?;
    world.expect(
        1,
        &[
            "import",
            world.path().join("missing.json").to_str().ok_or("path")?,
        ],
    )?;
    assert_eq!(world.config_bytes(), before, "nothing changed");
    Ok(())
}

#[test]
fn zed_settings_and_a_continue_config_are_imported_without_their_keys() -> TestResult {
    let world = World::new()?;
    let zed = world.run(
        &[
            "import",
            fixture("zed-settings.json").to_str().ok_or("path")?,
            "--allow",
            "ollama",
        ],
        None,
    )?;
    zed.expect_code(0);
    assert!(
        zed.stderr
            .contains("not imported: Zed: language_models.anthropic"),
        "{zed:#?}"
    );
    let imported = config(&world);
    assert_eq!(ids(&imported), ["together-ai", "ollama"]);
    assert_eq!(
        imported["providers"][0]["models"][0]["display_name"],
        "Together Mixtral 8x7B"
    );
    assert_eq!(
        imported["providers"][0]["models"][0]["metadata"]["context_window"],
        32768
    );
    assert_eq!(
        imported["providers"][1]["base_url"],
        "http://localhost:11434/v1"
    );
    assert_eq!(imported["providers"][1]["network"], "local");

    let other = World::new()?;
    let continue_run = other.run(
        &[
            "import",
            fixture("continue-config.yaml").to_str().ok_or("path")?,
            "--dry-run",
            "--json",
        ],
        None,
    )?;
    continue_run.expect_code(0);
    let plan = continue_run.json()?;
    let labels: Vec<&str> = plan["items"]
        .as_array()
        .ok_or("items")?
        .iter()
        .filter_map(|item| item["label"].as_str())
        .collect();
    assert_eq!(labels, ["OpenAI", "localhost:8000", "Ollama"]);
    assert_eq!(plan["source"], "continue");
    let skipped = plan["skipped"].to_string();
    assert!(
        skipped.contains("apiKey of GPT-4o")
            && skipped.contains("anthropic")
            && skipped.contains("embed")
            && skipped.contains("headers"),
        "{skipped}"
    );
    assert!(
        !continue_run
            .stdout
            .contains("sk-proj-continue-fixture-canary"),
        "the key is never read into anything"
    );
    let applied = other.run(
        &[
            "import",
            fixture("continue-config.yaml").to_str().ok_or("path")?,
            "--allow",
            "localhost-8000",
            "--allow",
            "ollama",
        ],
        None,
    )?;
    applied.expect_code(0);
    let config_text = String::from_utf8_lossy(&other.config_bytes()).into_owned();
    assert!(!config_text.contains("sk-proj-continue-fixture-canary"));
    let imported = config(&other);
    assert_eq!(ids(&imported), ["openai", "localhost-8000", "ollama"]);
    assert_eq!(
        imported["providers"][2]["models"][0]["metadata"]["context_window"],
        8192
    );
    assert_eq!(
        imported["providers"][0]["models"][0]["metadata"]["supports_tools"],
        true
    );
    Ok(())
}
