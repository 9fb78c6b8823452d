//! The egress policy at save time and in the live preview: a base URL the
//! client would never connect to (a metadata address, a LAN address without
//! the private allowance) is refused on the `base_url` field before anything
//! is saved, and the preview shows the verdict while the user types.

use serde_json::json;

use crate::support::{draft, TestApp};

#[test]
fn saving_a_metadata_base_url_is_invalid_input_on_base_url_and_saves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let mut metadata = draft("Metadata", "http://169.254.169.254/v1");
    metadata["network"] = json!("private");
    let error = app
        .invoke("add_provider", json!({"draft": metadata}))
        .expect_err("a metadata address");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    let fields = error["fields"].as_array().expect("fields");
    assert!(
        fields.iter().any(|field| field["field"] == "base_url"
            && field["message"]
                .as_str()
                .is_some_and(|message| message.contains("metadata"))),
        "{error}"
    );
    let listing = app
        .invoke("list_providers", json!({}))
        .expect("list_providers");
    assert_eq!(listing["providers"], json!([]));
}

#[test]
fn editing_a_provider_to_a_lan_address_without_the_private_allowance_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    app.invoke(
        "add_provider",
        json!({"draft": draft("Gateway", "https://api.example.com/v1")}),
    )
    .expect("add");
    let mut lan = draft("Gateway", "https://10.1.2.3/v1");
    lan["key"] = json!({"action": "keep"});
    let error = app
        .invoke(
            "edit_provider",
            json!({"id": "gateway", "draft": lan.clone()}),
        )
        .expect_err("LAN under remote");
    assert_eq!(error["kind"], "invalid_input", "{error}");
    assert_eq!(error["fields"][0]["field"], "base_url", "{error}");
    let kept = app
        .invoke("get_provider", json!({"id": "gateway"}))
        .expect("get");
    assert_eq!(kept["base_url"], "https://api.example.com/v1");
    lan["network"] = json!("private");
    // Another origin: the stored key goes there only with the person's yes.
    lan["move_key"] = json!(true);
    let saved = app
        .invoke("edit_provider", json!({"id": "gateway", "draft": lan}))
        .expect("allowed with private");
    assert_eq!(saved["provider"]["base_url"], "https://10.1.2.3/v1");
}

#[test]
fn the_preview_carries_the_policy_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = TestApp::new(dir.path());
    let refused = app
        .invoke(
            "preview_base_url",
            json!({"input": "http://169.254.169.254/latest", "network": "local"}),
        )
        .expect("preview");
    assert_eq!(
        refused["ok"], true,
        "the URL itself is well-formed: {refused}"
    );
    assert_eq!(refused["policy"]["allowed"], false, "{refused}");
    assert_eq!(refused["policy"]["reason"], "metadata", "{refused}");
    assert!(refused["policy"]["message"]
        .as_str()
        .is_some_and(|message| !message.is_empty()));
    let allowed = app
        .invoke(
            "preview_base_url",
            json!({"input": "http://127.0.0.1:11434/v1", "network": "local"}),
        )
        .expect("preview");
    assert_eq!(allowed["policy"]["allowed"], true, "{allowed}");
    let malformed = app
        .invoke(
            "preview_base_url",
            json!({"input": "ftp://x", "network": "remote"}),
        )
        .expect("preview");
    assert!(
        malformed.get("policy").is_none(),
        "no verdict without a normalised URL: {malformed}"
    );
}
