//! Helpers shared by Patchbay's cross-crate test binaries: a small W3C
//! WebDriver client, the running app under tauri-driver with a private
//! config directory, providers seeded before it opens, and polling with a
//! deadline. Tests talk only to
//! loopback.

pub mod app;
pub mod seed;
pub mod wait;
pub mod webdriver;

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Where cargo puts binaries for this workspace (`CARGO_TARGET_DIR` honoured).
pub fn target_debug_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("debug"),
        None => workspace_root().join("target").join("debug"),
    }
}

/// With `PATCHBAY_SCREENSHOT_DIR` set, captures the X screen as `name` there
/// (after the page settles): the pictures a person checks, and the docs'.
pub fn screenshot(name: &str) {
    let Some(dir) = std::env::var_os("PATCHBAY_SCREENSHOT_DIR") else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(600));
    let path = std::path::PathBuf::from(dir).join(name);
    let status = std::process::Command::new("/usr/bin/import")
        .args(["-window", "root"])
        .arg(&path)
        .status();
    assert!(
        matches!(status, Ok(status) if status.success()),
        "import failed for {}: {status:?}",
        path.display()
    );
}

/// One chat request for entry `local/m` through the gateway at `base_url`
/// with `token`: the status code, or `None` when nothing accepts the
/// connection.
pub fn gateway_chat(base_url: &str, token: &str) -> Option<u16> {
    use std::io::{Read, Write};

    let authority = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/v1");
    let mut stream = std::net::TcpStream::connect(authority).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    let body = r#"{"model":"local/m","messages":[]}"#;
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// One JSON-RPC call on the IPC socket, as a host app makes it: the whole
/// answer frame.
pub fn rpc_call(
    socket: &std::path::Path,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    use std::io::{BufRead, BufReader, Write};

    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|error| panic!("connect {}: {error}", socket.display()));
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("read timeout");
    let frame = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    writeln!(stream, "{frame}").expect("send a frame");
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .expect("read the answer");
    serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
}
