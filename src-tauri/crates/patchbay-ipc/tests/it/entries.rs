//! `entries.list`, `entries.subscribe`, `providers.list` against real config
//! files.

use std::time::Duration;

use patchbay_client::Client;
use patchbay_core::curation::{ModelChange, Placement};
use serde_json::json;

use crate::support::{Raw, TestEnv, LOCAL};
use patchbay_testkit::Draft;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_cover_enabled_providers_with_raw_model_ids() {
    let env = TestEnv::new();
    let router = env.add(
        Draft::new("OpenRouter")
            .key("sk-or-v1-entries-canary-0001")
            .models(&["google/gemini-2.5-flash", "meta/llama:70b"])
            .json(),
    );
    let ollama = env.add(
        Draft::new("Ollama")
            .local(LOCAL)
            .models(&["hf.co/org/model-GGUF:Q6_K"])
            .json(),
    );
    let groq = env.add(
        Draft::new("Groq")
            .key("gsk-entries-canary-0002")
            .models(&["llama-3.3-70b"])
            .json(),
    );
    env.store.set_enabled(&groq, false).expect("disable");
    let server = env.start().await;

    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let hello = client.hello().await.expect("hello");
    assert_eq!(hello.protocol, 2, "patchbay-client speaks protocol 2");
    assert!(hello
        .methods
        .iter()
        .any(|method| method == "entries.resolve"));

    let entries = client.list_entries().await.expect("entries");
    let ids: Vec<&str> = entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("{router}/google/gemini-2.5-flash"),
            format!("{router}/meta/llama:70b"),
            format!("{ollama}/hf.co/org/model-GGUF:Q6_K"),
        ]
    );
    assert_eq!(entries[1].model_id, "meta/llama:70b");
    assert_eq!(entries[2].model_id, "hf.co/org/model-GGUF:Q6_K");
    assert!(entries[0].is_default && !entries[1].is_default && entries[2].is_default);
    assert!(entries.iter().all(|entry| entry.byok));
    assert_eq!(
        patchbay_client::split_entry_id(&entries[2].id),
        Some((ollama.as_str(), "hf.co/org/model-GGUF:Q6_K"))
    );

    // providers.list has no secrets at all.
    let providers = client.list_providers().await.expect("providers");
    assert_eq!(providers.len(), 3);
    let text = serde_json::to_string(&providers).expect("json");
    assert!(!text.contains("entries-canary"));
    assert!(text.contains("\"key_hint\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_survive_a_label_change_and_a_disable_enable() {
    let env = TestEnv::new();
    let id = env.add(
        Draft::new("Local")
            .local(LOCAL)
            .models(&["qwen2.5:7b", "a/b"])
            .json(),
    );
    let server = env.start().await;
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    let before: Vec<String> = subscription
        .initial()
        .iter()
        .map(|entry| entry.id.clone())
        .collect();
    assert_eq!(before.len(), 2);

    // Rename through the store (the app's path), then tell the server.
    let mut draft = Draft::new("Renamed local")
        .local(LOCAL)
        .models(&["qwen2.5:7b", "a/b"])
        .json();
    draft["key"] = json!({"action": "keep"});
    env.store
        .edit(&id, serde_json::from_value(draft).expect("draft"))
        .expect("edit");
    server.notify_config_changed().expect("refresh");
    let renamed = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time")
        .expect("list");
    assert_eq!(
        renamed
            .iter()
            .map(|entry| entry.id.clone())
            .collect::<Vec<_>>(),
        before
    );
    assert!(renamed[0].label.ends_with("· Renamed local"));

    env.store.set_enabled(&id, false).expect("disable");
    server.notify_config_changed().expect("refresh");
    let disabled = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time")
        .expect("list");
    assert!(disabled.is_empty());

    env.store.set_enabled(&id, true).expect("enable");
    server.notify_config_changed().expect("refresh");
    let enabled = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("in time")
        .expect("list");
    assert_eq!(
        enabled
            .iter()
            .map(|entry| entry.id.clone())
            .collect::<Vec<_>>(),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_edit_of_the_config_file_reaches_subscribers() {
    let env = TestEnv::new();
    env.add(Draft::new("Local").local(LOCAL).models(&["m1"]).json());
    let server = env.start().await;
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    assert_eq!(subscription.initial().len(), 1);

    // Edit the file by hand (no store, no poke): the watcher must notice.
    let path = env.store.paths().file.clone();
    let text = std::fs::read_to_string(&path).expect("config");
    let edited = text.replacen("\"m1\"", "\"m1\"}, {\"id\": \"m2:hand/edited\"", 1);
    assert_ne!(text, edited, "the model list was found");
    std::fs::write(&path, edited).expect("hand edit");

    let changed = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("watcher in time")
        .expect("list");
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[1].model_id, "m2:hand/edited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorder_hide_or_rename_reaches_subscribers_in_the_new_order() {
    let env = TestEnv::new();
    let first = env.add(Draft::new("First").local(LOCAL).models(&["a", "b"]).json());
    let second = env.add(Draft::new("Second").local(LOCAL).models(&["c"]).json());
    let server = env.start().await;
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    let ids = |entries: &[patchbay_client::PickerEntry]| -> Vec<String> {
        entries.iter().map(|entry| entry.id.clone()).collect()
    };
    assert_eq!(
        ids(subscription.initial()),
        ["first/a", "first/b", "second/c"]
    );

    env.store
        .move_provider(&second, Placement::Before(first.to_string()))
        .expect("moved");
    let moved = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("in time")
        .expect("list");
    assert_eq!(ids(&moved), ["second/c", "first/a", "first/b"]);

    env.store
        .change_model(&first, ModelChange::Hide { id: "a".into() })
        .expect("hidden");
    env.store
        .change_model(
            &first,
            ModelChange::Rename {
                id: "b".into(),
                display_name: Some("Bee".into()),
            },
        )
        .expect("renamed");
    let curated = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let list = subscription.next().await.expect("list");
            if list.iter().any(|entry| entry.label.starts_with("Bee")) {
                return list;
            }
        }
    })
    .await
    .expect("in time");
    assert_eq!(ids(&curated), ["second/c", "first/b"]);
    assert_eq!(curated[1].label, "Bee · First");
    assert!(
        curated[1].is_default,
        "the first model offered is the default"
    );
    let listed = client.list_entries().await.expect("entries");
    assert_eq!(listed, curated);
}

/// `entries.list` carries a tag of the list; a host that sends it back as
/// `if_none_match` gets a few bytes while nothing changed, the full list once
/// something did, and a restarted server gives the same list the same tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_the_host_already_holds_is_not_sent_again() {
    let env = TestEnv::new();
    env.add(
        Draft::new("Ollama")
            .local(LOCAL)
            .models(&["llama3.2:3b", "qwen/qwen3:8b"])
            .json(),
    );
    let server = env.start().await;
    let mut raw = Raw::connect(server.endpoint()).await;

    let first = raw.call(1, "entries.list", None).await;
    let etag = first["result"]["etag"].as_str().expect("a tag").to_owned();
    assert_eq!(etag.len(), 32, "{etag}");
    assert_eq!(first["result"]["entries"].as_array().map(Vec::len), Some(2));

    let unchanged = raw
        .call(2, "entries.list", Some(json!({"if_none_match": etag})))
        .await;
    assert_eq!(
        unchanged["result"],
        json!({"etag": etag, "unchanged": true})
    );
    // A tag that is not the current one gets the whole list.
    let other = raw
        .call(
            3,
            "entries.list",
            Some(json!({"if_none_match": "0123abcd"})),
        )
        .await;
    assert_eq!(other["result"]["etag"], json!(etag));
    assert_eq!(other["result"]["entries"].as_array().map(Vec::len), Some(2));
    // A tag of the wrong type is a clear error; the connection stays usable.
    let wrong = raw
        .call(4, "entries.list", Some(json!({"if_none_match": 7})))
        .await;
    assert_eq!(wrong["error"]["code"], -32602);
    assert_eq!(wrong["error"]["data"]["kind"], "invalid_params");
    assert!(
        wrong["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("if_none_match")),
        "{wrong}"
    );

    // A change: subscribers and `entries.list` agree on the new tag, and the
    // old tag now gets the new list.
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let mut subscription = client.subscribe().await.expect("subscribe");
    assert_eq!(subscription.initial().etag(), etag);
    env.add(
        Draft::new("LM Studio")
            .local(LOCAL)
            .models(&["qwen2.5-7b-instruct"])
            .json(),
    );
    server.notify_config_changed().expect("refresh");
    let changed = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("in time")
        .expect("a list");
    assert_eq!(changed.len(), 3);
    assert_ne!(changed.etag(), etag);
    let after = raw
        .call(5, "entries.list", Some(json!({"if_none_match": etag})))
        .await;
    assert_eq!(after["result"]["etag"], json!(changed.etag()));
    assert_eq!(after["result"]["entries"].as_array().map(Vec::len), Some(3));
    // The client crate sends its held tag by itself and hands the list back.
    let listed = client.list_entries().await.expect("list");
    assert_eq!(listed, changed);

    // A restarted server tags the same entries the same way.
    let tag = changed.etag().to_owned();
    drop((subscription, client, raw));
    server.shutdown().await;
    let server = env.start().await;
    let mut raw = Raw::connect(server.endpoint()).await;
    let again = raw
        .call(1, "entries.list", Some(json!({"if_none_match": tag})))
        .await;
    assert_eq!(again["result"], json!({"etag": tag, "unchanged": true}));
}

/// Lists larger than the 1 MiB cap on what a client sends (4 providers ×
/// 1,024 models, about 1.5 MB of JSON) reach hosts whole, as answers and as
/// notifications: the server's frames have their own, larger cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_list_larger_than_a_request_frame_reaches_hosts_whole() {
    let env = TestEnv::new();
    for provider in 0..4 {
        let models: Vec<String> = (0..1024)
            .map(|model| format!("vendor-{provider}/a-fairly-long-model-name-{model}:q4_K_M"))
            .collect();
        let models: Vec<&str> = models.iter().map(String::as_str).collect();
        env.add(
            Draft::new(&format!("Big {provider}"))
                .local(LOCAL)
                .models(&models)
                .json(),
        );
    }
    let server = env.start().await;
    let client = Client::connect_to(server.endpoint())
        .await
        .expect("connect");
    let listed = tokio::time::timeout(Duration::from_secs(10), client.list_entries())
        .await
        .expect("in time")
        .expect("the whole list");
    assert_eq!(listed.len(), 4096);
    let size = serde_json::to_vec(&listed).expect("json").len();
    assert!(
        size > patchbay_protocol::rpc::MAX_FRAME_BYTES,
        "the list must exceed the request cap for this test to mean anything ({size} bytes)"
    );

    let mut subscription = client.subscribe().await.expect("subscribe");
    assert_eq!(subscription.initial().len(), 4096);
    env.add(
        Draft::new("One more")
            .local(LOCAL)
            .models(&["llama3.2:3b"])
            .json(),
    );
    server.notify_config_changed().expect("refresh");
    let changed = tokio::time::timeout(Duration::from_secs(10), subscription.next())
        .await
        .expect("in time")
        .expect("a list");
    assert_eq!(changed.len(), 4097);
}
