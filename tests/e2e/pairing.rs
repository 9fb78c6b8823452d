//! Pairing in the real window: a host (raw JSON lines over the app's IPC
//! socket, as a host in any language would) asks to pair, the prompt "Allow
//! <app> to use your AI endpoints?" appears, Allow hands the host its token,
//! the app is listed under Connected apps with its use in the log, and
//! Revoke (after confirming) makes the token useless. Deny gives no token.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use patchbay_testkit::Draft;
use patchbay_tests::app::{AppSession, UI_TIMEOUT};
use patchbay_tests::rpc_call;
use patchbay_tests::seed::seed;
use patchbay_tests::wait;
use serde_json::{json, Value};

/// A provider with no authentication, so resolving needs no keychain item.
fn socket_of(session: &AppSession) -> PathBuf {
    let socket = session.runtime_dir().join("ipc.sock");
    wait::until("the app's IPC socket", UI_TIMEOUT, || {
        UnixStream::connect(&socket).ok().map(drop)
    });
    socket
}

fn pair_in_background(
    socket: &Path,
    app_id: &'static str,
    app_name: &'static str,
) -> std::thread::JoinHandle<Value> {
    let socket = socket.to_owned();
    std::thread::spawn(move || {
        rpc_call(
            &socket,
            "host.pair",
            json!({"app_id": app_id, "app_name": app_name}),
        )
    })
}

#[test]
fn a_pairing_request_is_prompted_allow_pairs_the_app_and_revoke_refuses_its_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Local Ollama")
            .local("http://127.0.0.1:11434/v1")
            .models(&["llama3.2:3b"])
            .preset("ollama")],
    );
    let session = AppSession::start_in(dir);
    let socket = socket_of(&session);

    let host = pair_in_background(&socket, "com.example.editor", "Example Editor");
    session.wait_visible("#pairing-dialog");
    let title = session.text("#pairing-title");
    assert_eq!(title, "Allow Example Editor to use your AI endpoints?");
    assert!(session
        .text("#pairing-dialog")
        .contains("com.example.editor"));
    let focused = session.script("return document.activeElement && document.activeElement.id;");
    assert_eq!(focused, "pairing-deny", "Deny is the safe default");
    assert_eq!(
        session.text("[data-testid=\"hosts-pending-count\"]"),
        "1",
        "the sidebar counts the waiting request"
    );
    patchbay_tests::screenshot("screenshot-pairing.png");

    session.click("#pairing-allow");
    session.wait_gone("#pairing-dialog");
    let answer = host.join().expect("the host thread");
    let token = answer["result"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned();
    let page = session.script("return document.documentElement.outerHTML;");
    assert!(
        !page.to_string().contains(&token),
        "the token never reaches the window"
    );

    // Listed, with its use in the log.
    let resolved = rpc_call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "local-ollama/llama3.2:3b", "protocol": 2}),
    );
    assert_eq!(
        resolved["result"]["model_id"], "local-ollama/llama3.2:3b",
        "{resolved}"
    );
    assert_eq!(
        resolved["result"]["headers"]["Authorization"],
        format!("Bearer {token}"),
        "the app's own token, for the gateway: {resolved}"
    );
    session.click("#open-hosts");
    session.wait_visible("#hosts-view");
    let row = "[data-testid=\"paired-com.example.editor\"]";
    let listed = session.text(row);
    assert!(
        listed.contains("Example Editor") && listed.contains("com.example.editor"),
        "{listed}"
    );
    assert!(listed.contains("Paired"), "{listed}");
    wait::until("the resolve in the log and last used", UI_TIMEOUT, || {
        session.click("#hosts-refresh");
        let log = session.text("#hosts-view");
        (log.contains("local-ollama/llama3.2:3b") && session.text(row).contains("Last used"))
            .then_some(())
    });
    assert!(
        session.text("#hosts-status").contains("ipc.sock"),
        "the status names the socket"
    );
    patchbay_tests::screenshot("screenshot-hosts.png");

    // Revoke asks first; Cancel keeps the app.
    session.click("[data-testid=\"revoke-com.example.editor\"]");
    session.wait_visible("#confirm-dialog");
    assert!(session.text("#confirm-title").contains("Example Editor"));
    session.click("#confirm-cancel");
    session.wait_gone("#confirm-dialog");
    session.wait_visible(row);
    session.click("[data-testid=\"revoke-com.example.editor\"]");
    session.click("#confirm-ok");
    session.wait_gone(row);
    session.wait_visible("#hosts-paired-empty");
    let refused = rpc_call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "local-ollama/llama3.2:3b"}),
    );
    assert_eq!(
        refused["error"]["data"]["kind"], "unauthorized",
        "{refused}"
    );

    // Deny: the host gets no token, nothing is listed.
    let denied_host = pair_in_background(&socket, "org.example.terminal", "Terminal");
    session.wait_visible("#pairing-dialog");
    assert_eq!(
        session.text("#pairing-title"),
        "Allow Terminal to use your AI endpoints?"
    );
    session.click("#pairing-deny");
    session.wait_gone("#pairing-dialog");
    let denied = denied_host.join().expect("the host thread");
    assert_eq!(
        denied["error"]["data"]["kind"], "pairing_denied",
        "{denied}"
    );
    session.wait_gone("[data-testid=\"hosts-pending-count\"]");
    assert!(
        session
            .driver
            .find("[data-testid=\"paired-org.example.terminal\"]")
            .is_err(),
        "a denied app is not listed"
    );
}

/// `patchbay serve` (the real CLI binary) on the socket the app would use,
/// stopped with SIGTERM as Ctrl-C would, or killed if the test fails first.
struct Serve {
    child: std::process::Child,
}

impl Serve {
    fn start(config_dir: &Path, runtime_dir: &Path) -> Self {
        let cli = patchbay_tests::target_debug_dir().join("patchbay");
        assert!(
            cli.is_file(),
            "{} is missing: build it first (`cargo build --workspace`; scripts/test.sh does)",
            cli.display()
        );
        let child = Command::new(&cli)
            .arg("serve")
            .env("PATCHBAY_CONFIG_DIR", config_dir)
            .env("PATCHBAY_RUNTIME_DIR", runtime_dir)
            // A free port: the gateway never takes the default one in tests.
            .env("PATCHBAY_GATEWAY_ADDR", "127.0.0.1:0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {}: {error}", cli.display()));
        let socket = runtime_dir.join("ipc.sock");
        wait::until("patchbay serve to answer", UI_TIMEOUT, || {
            UnixStream::connect(&socket).ok().map(drop)
        });
        Self { child }
    }

    fn stop(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        assert!(
            matches!(status, Ok(status) if status.success()),
            "could not signal patchbay serve: {status:?}"
        );
        let exited = wait::until("patchbay serve to exit", UI_TIMEOUT, || {
            self.child.try_wait().ok().flatten()
        });
        assert!(exited.success(), "patchbay serve exited with {exited}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            if let Err(error) = self.child.kill() {
                eprintln!("could not kill patchbay serve: {error}");
            }
            if let Err(error) = self.child.wait() {
                eprintln!("could not reap patchbay serve: {error}");
            }
        }
    }
}

fn hosts_state(session: &AppSession) -> Value {
    session.script("return document.getElementById('hosts-status').dataset.state || null;")
}

#[test]
fn a_request_to_another_patchbay_process_is_prompted_live_and_the_window_takes_over_when_it_stops()
{
    let dir = tempfile::tempdir().expect("temp dir");
    seed(
        dir.path(),
        &[Draft::new("Local Ollama")
            .local("http://127.0.0.1:11434/v1")
            .models(&["llama3.2:3b"])
            .preset("ollama")],
    );
    let private_home = tempfile::tempdir().expect("temp dir");
    let runtime_dir = AppSession::runtime_dir_in(private_home.path());
    let serve = Serve::start(dir.path(), &runtime_dir);
    let socket = runtime_dir.join("ipc.sock");

    let session = AppSession::start_with_home(dir, private_home);
    session.wait_until("the window to see the other server", || {
        (hosts_state(&session) == "elsewhere").then_some(())
    });

    // The host asks the serve process, not the window; the prompt appears
    // without anyone opening Connected apps.
    let host = pair_in_background(&socket, "com.example.notes", "Example Notes");
    session.wait_visible("#pairing-dialog");
    assert_eq!(
        session.text("#pairing-title"),
        "Allow Example Notes to use your AI endpoints?"
    );
    assert!(
        !session.is_visible(&session.driver.find("#hosts-view").expect("the section")),
        "Connected apps was never opened"
    );
    session.click("#pairing-allow");
    session.wait_gone("#pairing-dialog");
    let answer = host.join().expect("the host thread");
    let token = answer["result"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned();
    // Protocol 2: the serving process's gateway and the app's own token.
    let resolved = rpc_call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "local-ollama/llama3.2:3b", "protocol": 2}),
    );
    assert_eq!(
        resolved["result"]["model_id"], "local-ollama/llama3.2:3b",
        "{resolved}"
    );
    let base_url = resolved["result"]["base_url"].as_str().unwrap_or_default();
    assert!(
        base_url.starts_with("http://127.0.0.1:") && base_url != "http://127.0.0.1:11434/v1",
        "{resolved}"
    );
    assert_eq!(
        resolved["result"]["headers"]["Authorization"],
        format!("Bearer {token}")
    );

    // The serve process stops: the window takes the socket over, and a host
    // asking now is prompted by the window's own server.
    serve.stop();
    session.wait_until("the window to serve host apps itself", || {
        (hosts_state(&session) == "running").then_some(())
    });
    let second = pair_in_background(&socket, "org.example.shell", "Shell");
    session.wait_visible("#pairing-dialog");
    assert_eq!(
        session.text("#pairing-title"),
        "Allow Shell to use your AI endpoints?"
    );
    session.click("#pairing-deny");
    session.wait_gone("#pairing-dialog");
    let denied = second.join().expect("the host thread");
    assert_eq!(
        denied["error"]["data"]["kind"], "pairing_denied",
        "{denied}"
    );
    // The token from the other server's pairing still works here: both
    // servers share hosts.json.
    let again = rpc_call(
        &socket,
        "entries.resolve",
        json!({"token": token, "entry_id": "local-ollama/llama3.2:3b", "protocol": 2}),
    );
    assert_eq!(
        again["result"]["model_id"], "local-ollama/llama3.2:3b",
        "{again}"
    );
}
