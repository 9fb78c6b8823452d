//! The stored model catalog: `models ID --refresh` records what the server
//! listed; a later refresh that fails (the server now serves a web page)
//! keeps that list, marked stale with when and why, and `models ID` shows it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::{TestResult, World};
use patchbay_testkit::{handler, models_body, Canned, Server};

#[test]
fn a_failed_refresh_keeps_the_last_good_list_marked_stale() -> TestResult {
    let broken = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&broken);
    let server = Server::background_http(handler(move |_| {
        if switch.load(Ordering::SeqCst) {
            Canned::html(200, "<!doctype html><html><body>Maintenance</body></html>")
        } else {
            Canned::json(200, models_body(&["kept-model", "other-model"]))
        }
    }))?;
    let world = World::new()?;
    world.expect(
        0,
        &[
            "provider",
            "add",
            "--label",
            "Flaky",
            "--base-url",
            &server.at("/v1"),
            "--model",
            "kept-model",
            "--model",
            "retired-model",
            "--no-auth",
            "--allow-local",
        ],
    )?;

    // Never refreshed: the chosen models, with a note, and no fetch time.
    let never = world.run(&["models", "flaky", "--json"], None)?;
    never.expect_code(0);
    let json = never.json()?;
    assert_eq!(json["models"][1]["id"], "retired-model");
    assert!(json["fetched_at"].is_null(), "{json}");
    assert_eq!(json["stale"], false);
    assert!(never.stderr.contains("--refresh"), "{never:#?}");

    let refreshed = world.run(&["models", "flaky", "--refresh", "--json"], None)?;
    refreshed.expect_code(0);
    let json = refreshed.json()?;
    assert_eq!(json["stale"], false);
    let fetched_at = json["fetched_at"].as_str().ok_or("fetched_at")?.to_owned();

    broken.store(true, Ordering::SeqCst);
    let failed = world.run(&["models", "flaky", "--refresh", "--json"], None)?;
    failed.expect_code(1);
    assert_eq!(failed.json()?["error"]["kind"], "not_json");

    let stored = world.run(&["models", "flaky", "--json"], None)?;
    stored.expect_code(0);
    let json = stored.json()?;
    let ids: Vec<&str> = json["models"]
        .as_array()
        .ok_or("models")?
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["kept-model", "other-model"],
        "the last good list is kept"
    );
    assert_eq!(json["stale"], true);
    assert_eq!(
        json["fetched_at"],
        fetched_at.as_str(),
        "when the kept list was fetched"
    );
    let reason = json["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("web page"), "{reason}");
    assert!(
        !reason.contains("Maintenance"),
        "never the raw body: {reason}"
    );
    assert!(json["last_attempt_at"].is_string());
    let retired = json["chosen"]
        .as_array()
        .and_then(|chosen| chosen.iter().find(|model| model["id"] == "retired-model"))
        .ok_or("retired-model among the chosen")?;
    assert_eq!(
        retired["missing_upstream"], true,
        "marked by the good refresh, kept by the failed one"
    );

    let human = world.run(&["models", "flaky"], None)?;
    human.expect_code(0);
    assert!(human.stdout.contains("other-model"), "{human:#?}");
    assert!(
        human.stdout.contains(&format!("fetched {fetched_at}")),
        "{human:#?}"
    );
    assert!(
        human.stdout.contains("stale: last refresh failed at "),
        "{human:#?}"
    );
    assert!(human.stdout.contains("web page"), "{human:#?}");

    let shown = world
        .run(&["provider", "show", "flaky", "--json"], None)?
        .json()?;
    assert_eq!(shown["catalog"]["stale"], true);
    assert_eq!(shown["catalog"]["count"], 2);

    // The server recovers: the next refresh clears the stale mark.
    broken.store(false, Ordering::SeqCst);
    world.expect(0, &["models", "flaky", "--refresh"])?;
    let json = world.run(&["models", "flaky", "--json"], None)?.json()?;
    assert_eq!(json["stale"], false);
    assert!(json.get("last_error").is_none(), "{json}");
    Ok(())
}
