//! `patchbay provider move` and `patchbay model add|remove|hide|show|rename|move`:
//! one change at a time, the file's order followed by `entries`, and every
//! refusal naming what to do with the list left as it was.

use crate::support::{add_local, TestResult, World};

fn entry_ids(world: &World) -> Result<Vec<String>, String> {
    let run = world
        .run(&["entries", "--json"], None)
        .map_err(|error| error.to_string())?;
    let json = run.json()?;
    Ok(json["entries"]
        .as_array()
        .ok_or("entries")?
        .iter()
        .filter_map(|entry| entry["id"].as_str().map(str::to_owned))
        .collect())
}

#[test]
fn providers_move_before_another_or_to_a_position_and_entries_follow() -> TestResult {
    let world = World::new()?;
    for label in ["One", "Two", "Three"] {
        add_local(&world, label, &format!("{}-model", label.to_lowercase()))?;
    }
    assert_eq!(
        entry_ids(&world)?,
        ["one/one-model", "two/two-model", "three/three-model"]
    );

    let moved = world.run(
        &["provider", "move", "three", "--before", "one", "--json"],
        None,
    )?;
    moved.expect_code(0);
    assert_eq!(
        moved.json()?["order"],
        serde_json::json!(["three", "one", "two"])
    );
    assert_eq!(
        entry_ids(&world)?,
        ["three/three-model", "one/one-model", "two/two-model"]
    );

    let text = world.run(&["provider", "move", "three", "--to", "3"], None)?;
    text.expect_code(0);
    assert!(
        text.stdout
            .contains("three is now provider 3 of 3: one, two, three."),
        "{text:#?}"
    );
    world.expect(0, &["provider", "move", "two", "--to", "99"])?;
    assert_eq!(
        entry_ids(&world)?,
        ["one/one-model", "three/three-model", "two/two-model"]
    );

    // The list order of `provider list --json` is the same one.
    let list = world.run(&["provider", "list", "--json"], None)?.json()?;
    let ids: Vec<&str> = list["providers"]
        .as_array()
        .ok_or("providers")?
        .iter()
        .filter_map(|provider| provider["id"].as_str())
        .collect();
    assert_eq!(ids, ["one", "three", "two"]);

    // Refusals: an unknown anchor, itself, neither or both flags.
    let before = world.config_bytes();
    let unknown = world.run(
        &["provider", "move", "one", "--before", "nope", "--json"],
        None,
    )?;
    unknown.expect_code(1);
    assert_eq!(unknown.json()?["error"]["fields"][0]["field"], "position");
    world.expect(1, &["provider", "move", "one", "--before", "one"])?;
    world.expect(1, &["provider", "move", "missing", "--to", "1"])?;
    world.expect(2, &["provider", "move", "one"])?;
    world.expect(
        2,
        &["provider", "move", "one", "--to", "1", "--before", "two"],
    )?;
    world.expect(2, &["provider", "move", "one", "--to", "0"])?;
    assert_eq!(world.config_bytes(), before, "nothing written by a refusal");
    Ok(())
}

#[test]
fn models_are_added_hidden_renamed_moved_and_removed_one_at_a_time() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Local", "first")?;

    let added = world.run(
        &[
            "model",
            "add",
            &id,
            "hf.co/org/m-GGUF:Q6_K",
            "--name",
            "Quantised M",
            "--json",
        ],
        None,
    )?;
    added.expect_code(0);
    let provider = added.json()?;
    assert_eq!(provider["models"][1]["id"], "hf.co/org/m-GGUF:Q6_K");
    assert_eq!(provider["models"][1]["display_name"], "Quantised M");
    world.expect(0, &["model", "add", &id, "third"])?;

    world.expect(0, &["model", "hide", &id, "first"])?;
    // The default is now the first model still offered; the hidden one is no entry.
    assert_eq!(
        entry_ids(&world)?,
        ["local/hf.co/org/m-GGUF:Q6_K", "local/third"]
    );
    let entries = world.run(&["entries", "--json"], None)?.json()?;
    assert_eq!(entries["entries"][0]["label"], "Quantised M · Local");
    assert_eq!(entries["entries"][0]["is_default"], true);
    let shown = world.run(&["provider", "show", &id], None)?;
    assert!(
        shown.stdout.contains("first (hidden from apps)"),
        "{shown:#?}"
    );
    assert!(
        shown
            .stdout
            .contains("hf.co/org/m-GGUF:Q6_K \"Quantised M\" (default)"),
        "{shown:#?}"
    );

    // Hiding the last offered model is refused with what to do instead.
    world.expect(0, &["model", "hide", &id, "third"])?;
    let last = world.run(&["model", "hide", &id, "hf.co/org/m-GGUF:Q6_K"], None)?;
    last.expect_code(1);
    assert!(last.stderr.contains("disable the provider"), "{last:#?}");
    world.expect(0, &["model", "show", &id, "first"])?;

    world.expect(0, &["model", "rename", &id, "first", "The First"])?;
    world.expect(
        0,
        &["model", "rename", &id, "hf.co/org/m-GGUF:Q6_K", "--clear"],
    )?;
    world.expect(2, &["model", "rename", &id, "first"])?;
    world.expect(0, &["model", "move", &id, "third", "--to", "1"])?;
    world.expect(0, &["model", "move", &id, "first", "--before", "third"])?;
    let config: serde_json::Value = serde_json::from_slice(&world.config_bytes())?;
    let models = &config["providers"][0]["models"];
    let ids: Vec<&str> = models
        .as_array()
        .ok_or("models")?
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(ids, ["first", "third", "hf.co/org/m-GGUF:Q6_K"]);
    assert_eq!(models[0]["display_name"], "The First");
    assert!(models[2].get("display_name").is_none(), "{models}");
    assert_eq!(models[1]["hidden"], true);

    // Unknown models are named with the ones there are; duplicates say where.
    let unknown = world.run(&["model", "remove", &id, "nope"], None)?;
    unknown.expect_code(1);
    assert!(
        unknown.stderr.contains(
            "Local has no model `nope`; its models are: first, third, hf.co/org/m-GGUF:Q6_K."
        ),
        "{unknown:#?}"
    );
    let duplicate = world.run(&["model", "add", &id, "third"], None)?;
    duplicate.expect_code(1);
    assert!(
        duplicate.stderr.contains("already model 2 of Local"),
        "{duplicate:#?}"
    );
    let bad = world.run(&["model", "add", &id, "has space", "--json"], None)?;
    bad.expect_code(1);
    assert_eq!(bad.json()?["error"]["fields"][0]["field"], "model");

    world.expect(0, &["model", "remove", &id, "third"])?;
    world.expect(0, &["model", "remove", &id, "hf.co/org/m-GGUF:Q6_K"])?;
    let only = world.run(&["model", "remove", &id, "first"], None)?;
    only.expect_code(1);
    assert!(only.stderr.contains("only model of Local"), "{only:#?}");
    Ok(())
}

#[test]
fn entries_with_apps_name_who_used_each_entry_last() -> TestResult {
    let world = World::new()?;
    let id = add_local(&world, "Local", "m1")?;
    world.expect(0, &["model", "add", &id, "m2"])?;
    let line = serde_json::json!({"at": "2026-12-05T10:00:00Z", "app_id": "com.editor", "app_name": "Editor",
        "entry_id": "local/m2", "endpoint": "chat/completions", "status": 200, "duration_ms": 3});
    std::fs::write(
        world.config_dir().join("activity.jsonl"),
        format!("{line}\n"),
    )?;
    let json = world.run(&["entries", "--apps", "--json"], None)?.json()?;
    assert_eq!(json["entries"][0]["used_by"], serde_json::json!([]));
    assert_eq!(json["entries"][1]["used_by"][0]["app_name"], "Editor");
    assert_eq!(json["entries"][1]["used_by"][0]["via"], "gateway");
    let text = world.run(&["entries", "--apps"], None)?;
    assert!(
        text.stdout.contains("USED BY")
            && text
                .stdout
                .contains("Editor (gateway, 2026-12-05T10:00:00Z)"),
        "{text:#?}"
    );
    // Without --apps the JSON shape is the documented one, without used_by.
    let plain = world.run(&["entries", "--json"], None)?.json()?;
    assert!(plain["entries"][1].get("used_by").is_none());
    Ok(())
}
