//! `patchbay presets` and `--preset`.

use crate::support::{TestResult, World};

#[test]
fn presets_lists_local_and_remote_presets() -> TestResult {
    let world = World::new()?;
    let run = world.run(&["presets"], None)?;
    run.expect_code(0);
    let header = run.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("PRESET") && header.contains("BASE URL"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("openrouter") && run.stdout.contains("ollama"),
        "{run:#?}"
    );

    let json = world.expect(0, &["presets", "--json"])?.json()?;
    let presets = json["presets"]
        .as_array()
        .ok_or("presets is not an array")?;
    assert!(presets.len() >= 16, "every preset of the issue: {json}");
    let ollama = presets
        .iter()
        .find(|preset| preset["id"] == "ollama")
        .ok_or("no ollama preset")?;
    assert_eq!(ollama["auth"], "none");
    assert_eq!(ollama["network"], "local");
    for key in [
        "id", "name", "base_url", "auth", "network", "key_url", "docs_url", "models", "note",
    ] {
        assert!(
            ollama.get(key).is_some(),
            "preset JSON lacks `{key}`: {ollama}"
        );
    }
    Ok(())
}

#[test]
fn preset_fills_base_url_auth_and_network() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "My Ollama",
            "--preset",
            "ollama",
            "--model",
            "qwen3:8b",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let provider = &run.json()?["provider"];
    assert_eq!(provider["preset"], "ollama");
    assert_eq!(provider["auth"], "none");
    assert_eq!(provider["network"], "local");
    let base_url = provider["base_url"].as_str().ok_or("no base_url")?;
    assert!(base_url.contains(":11434"), "{provider}");
    Ok(())
}

#[test]
fn explicit_flags_override_the_preset() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "LAN Ollama",
            "--preset",
            "ollama",
            "--base-url",
            "http://192.168.1.20:11434/v1",
            "--allow-private",
            "--model",
            "llama3.2",
            "--json",
        ],
        None,
    )?;
    run.expect_code(0);
    let provider = &run.json()?["provider"];
    assert_eq!(provider["base_url"], "http://192.168.1.20:11434/v1");
    assert_eq!(provider["network"], "private");
    assert_eq!(provider["auth"], "none");
    Ok(())
}

#[test]
fn unknown_preset_is_exit_1_naming_the_flag() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "X",
            "--preset",
            "no-such-preset",
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
    assert_eq!(error["fields"][0]["flag"], "--preset");
    assert!(run.stderr.contains("--preset"), "{run:#?}");
    Ok(())
}
