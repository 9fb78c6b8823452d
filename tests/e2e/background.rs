//! Patchbay outside its window: closing the window keeps host apps served
//! (IPC and gateway) with the webview gone, one instance per user (a second
//! launch exits at once and brings the first window forward), Quit stops
//! everything and removes the socket, and the start-at-login switch writes
//! and removes the XDG autostart entry. The provider is a server on
//! 127.0.0.1.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use patchbay_testkit::{handler, Canned, Draft, Server};
use patchbay_tests::app::{
    app_binary, app_pid_in, is_patchbay_app, patchbay_processes_for, AppSession, UI_TIMEOUT,
};
use patchbay_tests::seed::seed;
use patchbay_tests::wait;
use patchbay_tests::{gateway_chat, rpc_call};
use serde_json::{json, Value};

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;

fn gateway_url(runtime_dir: &Path) -> String {
    let published: Value = wait::until("gateway.json", UI_TIMEOUT, || {
        std::fs::read(runtime_dir.join("gateway.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
    });
    published["base_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no base_url in {published}"))
        .to_owned()
}

/// `patchbay hosts issue`: a token for a test app, printed once.
fn issue_token(session: &AppSession) -> String {
    let output = Command::new(patchbay_tests::target_debug_dir().join("patchbay"))
        .envs(session.env())
        .args([
            "hosts",
            "issue",
            "--app-id",
            "test.editor",
            "--app-name",
            "Editor",
            "--json",
        ])
        .output()
        .expect("run patchbay hosts issue");
    assert!(output.status.success(), "{output:?}");
    let issued: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    issued["token"].as_str().expect("a token").to_owned()
}

/// A memory figure of `pid` from /proc/PID/status, in KiB: `VmRSS` (all
/// resident pages, shared libraries included) or `RssAnon` (its own).
fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The memory of `pid` and its WebKit children, as a line for the log.
fn memory_line(pid: u32) -> String {
    let children: Vec<String> = webkit_child_pids(pid)
        .into_iter()
        .map(|(child, name)| {
            format!(
                "{name} VmRSS {} KiB (RssAnon {} KiB)",
                memory_kib(child, "VmRSS"),
                memory_kib(child, "RssAnon")
            )
        })
        .collect();
    format!(
        "VmRSS {} KiB (own RssAnon {} KiB); WebKit children: {}",
        memory_kib(pid, "VmRSS"),
        memory_kib(pid, "RssAnon"),
        children.join(", ")
    )
}

/// The WebKit processes `pid` started (its children), by name.
fn webkit_children(pid: u32) -> Vec<String> {
    webkit_child_pids(pid)
        .into_iter()
        .map(|(_, name)| name)
        .collect()
}

/// The WebKit processes `pid` started: pid and name.
fn webkit_child_pids(pid: u32) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            parent == Some(pid)
        })
        .map(|child| {
            let name = std::fs::read_to_string(format!("/proc/{child}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            (child, name)
        })
        .filter(|(_, name)| name.starts_with("WebKit"))
        .collect()
}

/// Whether a WebKit web process (one per page) runs for `pid`.
fn has_web_process(pid: u32) -> bool {
    webkit_children(pid)
        .iter()
        .any(|name| name.starts_with("WebKitWebProces"))
}

fn wait_for_exit(pid: u32, within: Duration) {
    let deadline = Instant::now() + within;
    while is_patchbay_app(pid) {
        assert!(
            Instant::now() < deadline,
            "Patchbay ({pid}) still runs {} s after it was asked to quit",
            within.as_secs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn closing_the_window_keeps_apps_served_and_quit_stops_everything() {
    let upstream = Server::background_http(handler(|_| Canned::json(200, COMPLETION)))
        .expect("a loopback server");
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Local")
            .local(&upstream.at("/v1"))
            .models(&["m"])],
    );
    let session = AppSession::start_in(dir);
    let runtime = session.runtime_dir();
    let socket = runtime.join("ipc.sock");
    let base_url = gateway_url(&runtime);
    let token = issue_token(&session);
    assert_eq!(
        gateway_chat(&base_url, &token),
        Some(200),
        "the gateway answers with the window open"
    );
    let pid = app_pid_in(&runtime).expect("the app's pid in app.sock.lock");
    let with_window = memory_line(pid);

    // The first close asks; "Keep serving" closes the window.
    session.script(
        "setTimeout(() => window.__TAURI__.window.getCurrentWindow().close(), 50); return true;",
    );
    session.wait_visible("[data-testid=\"close-dialog\"]");
    let where_text = session.text("[data-testid=\"close-where\"]");
    assert!(
        where_text.contains("No tray icon here") && where_text.contains("open Patchbay again"),
        "without a tray host the dialog says how to get back: {where_text}"
    );
    patchbay_tests::screenshot("close-dialog.png");
    session.click("[data-testid=\"close-keep\"]");

    // The app (WebKit and all) exits; the background server takes over.
    wait_for_exit(pid, Duration::from_secs(15));
    let resident = wait::until("the background server to take over", UI_TIMEOUT, || {
        app_pid_in(&runtime)
            .filter(|holder| *holder != pid && is_patchbay_app(*holder))
            .filter(|_| UnixStream::connect(&socket).is_ok())
    });
    let exe = std::fs::read_link(format!("/proc/{resident}/exe")).expect("its executable");
    assert_eq!(
        exe.file_name().and_then(|name| name.to_str()),
        Some("patchbay"),
        "the CLI's `serve --resident` serves, not the app"
    );
    assert!(
        webkit_children(resident).is_empty(),
        "no WebKit in the background"
    );
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(session.config_dir().join("settings.json"))
            .expect("settings.json"),
    )
    .expect("JSON");
    assert_eq!(
        settings["background"]["keep_serving"],
        json!(true),
        "{settings}"
    );
    let listed = rpc_call(&socket, "entries.list", json!({}));
    assert_eq!(
        listed["result"]["entries"][0]["id"],
        json!("local/m"),
        "{listed}"
    );
    // The tests' gateway takes a free port each time it starts; the default
    // one (127.0.0.1:4141) stays the same across the hand-over.
    let background_url = gateway_url(&runtime);
    assert_eq!(
        gateway_chat(&background_url, &token),
        Some(200),
        "the gateway answers with the window closed"
    );
    assert_eq!(upstream.seen().len(), 2);
    eprintln!(
        "memory with the window: {with_window}\nmemory in the background: {}",
        memory_line(resident)
    );

    // A second launch brings the window back: the background server hands
    // serving back to a new app process and exits.
    let started = Instant::now();
    let second = Command::new(app_binary())
        .envs(session.env())
        .output()
        .expect("launch Patchbay again");
    assert!(second.status.success(), "{second:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a second launch exits within a second, took {:?}",
        started.elapsed()
    );
    wait_for_exit(resident, Duration::from_secs(15));
    let app = wait::until("the window to come back", UI_TIMEOUT, || {
        app_pid_in(&runtime)
            .filter(|holder| *holder != resident && is_patchbay_app(*holder))
            .filter(|holder| has_web_process(*holder))
    });
    wait::until("the app to serve again", UI_TIMEOUT, || {
        UnixStream::connect(&socket).ok().map(drop)
    });
    let base_url = gateway_url(&runtime);
    assert_eq!(
        gateway_chat(&base_url, &token),
        Some(200),
        "served by the app again"
    );

    // Quit (what the tray's Quit runs), asked by `patchbay-app --quit`.
    let quit = Command::new(app_binary())
        .envs(session.env())
        .arg("--quit")
        .output()
        .expect("patchbay-app --quit");
    assert!(
        String::from_utf8_lossy(&quit.stdout).contains("quitting"),
        "{quit:?}"
    );
    wait_for_exit(app, Duration::from_secs(10));
    assert!(!socket.exists(), "Quit removes the IPC socket");
    assert!(
        !runtime.join("gateway.json").exists(),
        "Quit unpublishes the gateway"
    );
    assert!(
        !runtime.join("app.sock").exists(),
        "Quit releases the instance endpoint"
    );
    assert_eq!(
        gateway_chat(&base_url, &token),
        None,
        "nothing listens on the gateway's port"
    );
    assert!(
        patchbay_processes_for(&runtime).is_empty(),
        "no Patchbay process is left"
    );
}

#[test]
fn a_second_launch_exits_at_once_and_brings_the_window_forward() {
    let session = AppSession::start();
    let pid = app_pid_in(&session.runtime_dir()).expect("the app's pid");
    let before = session.script("return window.__TAURI__.core.invoke('background_status');");
    assert_eq!(before["activations"], json!(0), "{before}");
    assert_eq!(before["pid"], json!(pid), "{before}");

    let started = Instant::now();
    let second = Command::new(app_binary())
        .envs(session.env())
        .output()
        .expect("launch Patchbay again");
    let took = started.elapsed();
    assert!(second.status.success(), "{second:?}");
    assert!(
        took < Duration::from_secs(1),
        "a second launch exits within a second, took {took:?}"
    );
    assert_eq!(
        app_pid_in(&session.runtime_dir()),
        Some(pid),
        "still the first process"
    );

    let after = session.wait_until("the window to be brought forward", || {
        let status = session.script("return window.__TAURI__.core.invoke('background_status');");
        (status["activations"] == json!(1)).then_some(status)
    });
    assert_eq!(after["pid"], json!(pid));
    let focused = session.script("return document.hasFocus();");
    assert_eq!(focused, json!(true), "the first window has the focus");
}

#[test]
fn quit_in_the_window_stops_serving_and_removes_the_socket() {
    let session = AppSession::start();
    let runtime = session.runtime_dir();
    let socket = runtime.join("ipc.sock");
    let base_url = gateway_url(&runtime);
    wait::until("the IPC socket", UI_TIMEOUT, || {
        UnixStream::connect(&socket).ok().map(drop)
    });
    let pid = app_pid_in(&runtime).expect("the app's pid");
    // The click is answered by a process that is exiting: clicked from the
    // page, so WebDriver does not wait on it.
    session
        .script("setTimeout(() => document.getElementById('quit-app').click(), 50); return true;");
    wait_for_exit(pid, Duration::from_secs(10));
    assert!(!socket.exists(), "Quit removes the IPC socket");
    assert!(!runtime.join("gateway.json").exists());
    assert_eq!(
        gateway_chat(&base_url, "pbt_none"),
        None,
        "nothing listens on the gateway's port"
    );
}

#[test]
fn the_start_at_login_switch_writes_and_removes_the_autostart_entry_and_the_tray_shows_where_it_can(
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = tempfile::tempdir().expect("temp dir");
    let private_home = home.path().to_path_buf();
    let session = AppSession::start_with_env(
        dir,
        home,
        &[
            ("HOME", &private_home),
            ("PATCHBAY_TRAY", Path::new("force")),
        ],
    );
    let entry = private_home.join(".config/autostart/patchbay.desktop");
    session.click("#open-hosts");
    session.wait_visible("[data-testid=\"background-card\"]");
    let status = session.script("return window.__TAURI__.core.invoke('background_status');");
    assert_eq!(
        status["tray"],
        json!(true),
        "PATCHBAY_TRAY=force shows the tray icon: {status}"
    );
    assert_eq!(
        status["autostart"]["enabled"],
        json!(false),
        "off by default: {status}"
    );
    assert!(!session.is_checked("[data-testid=\"autostart\"]"));
    assert!(
        session.is_checked("[data-testid=\"keep-serving\"]"),
        "on by default"
    );
    patchbay_tests::screenshot("background-card.png");

    session.click("label[for=\"autostart\"]");
    wait::until("the autostart entry", UI_TIMEOUT, || {
        entry.is_file().then_some(())
    });
    let text = std::fs::read_to_string(&entry).expect("the entry");
    let exec = text
        .lines()
        .find_map(|line| line.strip_prefix("Exec="))
        .unwrap_or_else(|| panic!("no Exec line in {text}"));
    assert!(
        exec.ends_with("patchbay-app --background"),
        "the entry starts the app in the background: {exec}"
    );
    session.wait_until("the switch to show it", || {
        session
            .text("[data-testid=\"autostart-status\"]")
            .contains("Starts at login")
            .then_some(())
    });

    session.click("label[for=\"autostart\"]");
    wait::until("the entry to go", UI_TIMEOUT, || {
        (!entry.exists()).then_some(())
    });

    // Keep serving off: closing the window quits.
    let pid = app_pid_in(&session.runtime_dir()).expect("the app's pid");
    session.click("label[for=\"keep-serving\"]");
    session.wait_until("the setting to be saved", || {
        std::fs::read_to_string(session.config_dir().join("settings.json"))
            .ok()
            .filter(|text| text.contains("\"keep_serving\": false"))
    });
    session.script(
        "setTimeout(() => window.__TAURI__.window.getCurrentWindow().close(), 50); return true;",
    );
    wait_for_exit(pid, Duration::from_secs(10));
    assert!(!session.runtime_dir().join("ipc.sock").exists());
}
