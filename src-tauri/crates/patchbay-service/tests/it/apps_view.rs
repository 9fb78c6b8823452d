//! "What apps see": the entries host apps get, each with the app that used
//! it last through the gateway or by resolving it.

use patchbay_protocol::rpc::ResolveRecord;
use patchbay_testkit::Draft;
use serde_json::json;
use time::macros::datetime;

use crate::support::World;

#[test]
fn each_entry_names_the_apps_that_used_it_last_and_how() {
    let world = World::new("apps-view");
    for draft in [
        Draft::new("Local")
            .local("http://127.0.0.1:9/v1")
            .models(&["a", "b"]),
        Draft::new("Off")
            .local("http://127.0.0.1:9/v1")
            .models(&["c"])
            .enabled(false),
    ] {
        world.service.add_provider(draft.parse()).expect("saved");
    }
    let dir = world.service.store().paths().dir.clone();
    let activity = [
        json!({"at": "2026-12-05T10:00:00Z", "app_id": "com.editor", "app_name": "Editor", "entry_id": "local/a", "endpoint": "chat/completions", "status": 200, "duration_ms": 5}),
        json!({"at": "2026-12-05T11:00:00Z", "app_id": "com.editor", "app_name": "Editor", "entry_id": "local/a", "endpoint": "chat/completions", "status": 200, "duration_ms": 5}),
        json!({"at": "2026-12-05T09:00:00Z", "app_id": "com.notes", "app_name": "Notes", "endpoint": "models", "status": 200, "duration_ms": 1}),
    ];
    let lines: Vec<String> = activity.iter().map(ToString::to_string).collect();
    std::fs::write(dir.join("activity.jsonl"), lines.join("\n") + "\n").expect("activity");
    let resolves = [ResolveRecord {
        app_id: "com.notes".into(),
        app_name: "Notes".into(),
        entry_id: "local/a".into(),
        at: datetime!(2026-12-05 12:00 UTC),
        requester: None,
    }];

    let seen = world.service.what_apps_see(&resolves).expect("seen");
    let ids: Vec<&str> = seen.iter().map(|entry| entry.entry.id.as_str()).collect();
    assert_eq!(ids, ["local/a", "local/b"], "exactly the entries apps get");
    let used: Vec<(&str, &str, String)> = seen[0]
        .used_by
        .iter()
        .map(|used| (used.app_name.as_str(), used.via, used.at.to_string()))
        .collect();
    assert_eq!(
        used,
        [
            (
                "Notes",
                "resolve",
                datetime!(2026-12-05 12:00 UTC).to_string()
            ),
            (
                "Editor",
                "gateway",
                datetime!(2026-12-05 11:00 UTC).to_string()
            ),
        ]
    );
    assert!(seen[1].used_by.is_empty());
    let json = serde_json::to_value(&seen[0]).expect("json");
    assert_eq!(json["id"], "local/a");
    assert_eq!(json["is_default"], true);
    assert_eq!(json["used_by"][0]["via"], "resolve");
}
