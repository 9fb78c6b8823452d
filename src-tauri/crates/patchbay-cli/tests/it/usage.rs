//! Exit status 2 for usage errors (clap's), including the combinations the
//! domain would refuse, checked before anything is read or written.

use crate::support::{TestResult, World};

#[test]
fn no_auth_with_api_key_stdin_is_exit_2_and_saves_nothing() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Both",
            "--base-url",
            "https://api.example.com/v1",
            "--model",
            "m",
            "--no-auth",
            "--api-key-stdin",
        ],
        Some("sk-should-not-matter"),
    )?;
    run.expect_code(2);
    assert!(run.stderr.contains("--no-auth"), "{run:#?}");
    assert!(
        world.config_bytes().is_empty(),
        "a usage error must not write the config"
    );
    Ok(())
}

#[test]
fn two_network_allowances_are_exit_2() -> TestResult {
    let world = World::new()?;
    let run = world.run(
        &[
            "provider",
            "add",
            "--label",
            "Net",
            "--base-url",
            "http://127.0.0.1:1/v1",
            "--model",
            "m",
            "--no-auth",
            "--allow-local",
            "--allow-private",
        ],
        None,
    )?;
    run.expect_code(2);
    Ok(())
}

#[test]
fn unknown_flags_missing_arguments_and_bad_ids_are_exit_2() -> TestResult {
    let world = World::new()?;
    world.expect(2, &[])?;
    world.expect(2, &["provider", "frobnicate"])?;
    world.expect(
        2,
        &["provider", "add", "--base-url", "https://h", "--model", "m"],
    )?;
    world.expect(2, &["provider", "show", "Not/An/Id"])?;
    world.expect(2, &["provider", "set-key", "abc"])?;
    world.expect(
        2,
        &["provider", "add", "--label", "x", "--header", "no-colon"],
    )?;
    // There is no way to pass a key as an argument.
    world.expect(
        2,
        &[
            "provider",
            "add",
            "--label",
            "x",
            "--base-url",
            "https://h",
            "--api-key",
            "sk-x",
        ],
    )?;
    Ok(())
}

#[test]
fn help_and_version_exit_0() -> TestResult {
    let world = World::new()?;
    let help = world.run(&["provider", "add", "--help"], None)?;
    help.expect_code(0);
    assert!(help.stdout.contains("--api-key-stdin"));
    world.expect(0, &["--version"])?;
    Ok(())
}
