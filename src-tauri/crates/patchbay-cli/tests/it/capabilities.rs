//! `patchbay model check`: nothing is sent without the person's yes; with
//! it, what each probe found is printed and recorded, and `entries
//! --supports` filters on it.

use patchbay_testkit::shapes::{capability_fake, Behaviour, FakeModel};
use patchbay_testkit::Server;

use crate::support::{TestResult, World};

#[test]
fn nothing_is_probed_without_a_yes_and_the_findings_are_recorded_with_it() -> TestResult {
    let server = Server::background_http(capability_fake(
        &["good", "plain"],
        FakeModel {
            streaming: Behaviour::Supports,
            tools: Behaviour::Supports,
            image_input: Behaviour::Lacks,
            json_output: Behaviour::RateLimits,
        },
    ))?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Fake",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "good",
            "--model",
            "plain",
            "--no-auth",
            "--allow-local",
        ],
    )?;

    // Not a terminal and no --yes: the plan is shown, nothing is sent.
    let refused = world.run(&["model", "check", "fake", "good", "--json"], None)?;
    refused.expect_code(1);
    assert_eq!(refused.json()?["error"]["fields"][0]["field"], "yes");
    assert!(
        refused.stderr.contains("4 small chat requests"),
        "{refused:#?}"
    );
    assert!(refused.stderr.contains("tokens"), "{refused:#?}");
    assert!(server.seen().is_empty(), "nothing sent without consent");

    let checked = world.run(&["model", "check", "fake", "good", "--yes"], None)?;
    checked.expect_code(0);
    assert!(
        checked.stdout.contains("tool calls") && checked.stdout.contains("yes — Called the tool"),
        "{checked:#?}"
    );
    assert!(
        checked.stdout.contains("image input") && checked.stdout.contains("no — Refused"),
        "{checked:#?}"
    );
    assert!(
        checked.stdout.contains("JSON output") && checked.stdout.contains("could not tell"),
        "{checked:#?}"
    );
    assert!(
        checked.stdout.contains("32768 tokens (advertised)"),
        "{checked:#?}"
    );

    let config: serde_json::Value = serde_json::from_slice(&world.config_bytes())?;
    let probed = &config["providers"][0]["models"][0]["probed"];
    assert_eq!(probed["tools"]["supported"], true);
    assert_eq!(probed["image_input"]["supported"], false);
    assert!(probed["json_output"]["supported"].is_null());
    assert_eq!(probed["json_output"]["reason"], "rate_limited");
    assert!(probed["at"].is_string());

    let tools = world
        .run(&["entries", "--supports", "tools", "--json"], None)?
        .json()?;
    let ids: Vec<&str> = tools["entries"]
        .as_array()
        .ok_or("entries")?
        .iter()
        .filter_map(|entry| entry["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["fake/good"],
        "only the probed model is known to call tools"
    );
    let json = world
        .run(&["entries", "--supports", "json_output", "--json"], None)?
        .json()?;
    assert_eq!(
        json["entries"].as_array().map(Vec::len),
        Some(0),
        "a rate limit is not support"
    );
    let table = world.run(&["entries"], None)?;
    assert!(table.stdout.contains("stream,tools"), "{table:#?}");
    world.expect(2, &["entries", "--supports", "telepathy"])?;

    // A model not in the list is refused before anything is sent.
    let before = server.seen().len();
    world.expect(1, &["model", "check", "fake", "missing", "--yes"])?;
    assert_eq!(server.seen().len(), before);
    Ok(())
}
