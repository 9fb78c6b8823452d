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
