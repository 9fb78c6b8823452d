//! A corrupt config file at start: the window still opens, and a banner says
//! where the file was moved so nothing in it is lost.

use patchbay_tests::app::AppSession;

#[test]
fn a_corrupt_config_opens_the_window_with_a_banner_naming_where_the_file_went() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("providers.json"),
        b"{\"version\": 1, \"providers\": [",
    )
    .expect("write");
    let session = AppSession::start_in(dir);

    let banner = session.text("#config-banner");
    let moved: Vec<String> = std::fs::read_dir(session.config_dir())
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("providers.json.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        banner.contains(&moved[0]),
        "the banner names the moved file: {banner}"
    );
    session.wait_visible("#empty-state");

    session.click("#config-banner-dismiss");
    session.wait_gone("#config-banner");
}

/// A record edited by hand to a URL the egress rules refuse is not used: the
/// window lists the rest and says which entry was skipped and why.
#[test]
fn a_hand_edited_metadata_url_is_skipped_with_the_reason_in_a_banner() {
    let dir = tempfile::tempdir().expect("temp dir");
    patchbay_tests::seed::seed(
        dir.path(),
        &[patchbay_testkit::Draft::new("Kept").local("http://127.0.0.1:11434/v1")],
    );
    let file = dir.path().join("providers.json");
    let mut document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let mut refused = document["providers"][0].clone();
    refused["id"] = "refused".into();
    refused["label"] = "Refused".into();
    refused["base_url"] = "https://169.254.169.254/v1".into();
    refused["network"] = "remote".into();
    document["providers"]
        .as_array_mut()
        .expect("providers")
        .push(refused);
    std::fs::write(&file, serde_json::to_vec(&document).expect("json")).expect("write");
    let session = AppSession::start_in(dir);

    let banner = session.text("#config-banner");
    assert!(
        banner.contains("Entry 2") && banner.contains("metadata"),
        "the banner says which entry and why: {banner}"
    );
    session.wait_visible("[data-testid=\"provider-item-kept\"]");
    assert!(session
        .driver
        .find("[data-testid=\"provider-item-refused\"]")
        .is_err());
}
