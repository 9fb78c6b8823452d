//! A pairing request while the window is closed raises a desktop
//! notification, and choosing it brings the window back. The notification
//! service is a stand-in on the tests' private session bus: it owns
//! `org.freedesktop.Notifications` for the test, records what it is asked to
//! show, and emits `ActionInvoked(id, "default")` as a click would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use patchbay_tests::app::{
    app_pid_in, is_patchbay_app, patchbay_processes_for, AppSession, UI_TIMEOUT,
};
use patchbay_tests::wait;
use serde_json::{json, Value};
use zbus::zvariant::OwnedValue;

#[derive(Debug, Clone)]
struct Shown {
    id: u32,
    app_name: String,
    summary: String,
    body: String,
    actions: Vec<String>,
}

#[derive(Debug, Default, Clone)]
struct FakeNotifications {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let id = u32::try_from(shown.len()).unwrap_or(u32::MAX - 1) + 1;
        shown.push(Shown {
            id,
            app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".to_owned(), "body".to_owned()]
    }

    fn close_notification(&self, _id: u32) {}

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "patchbay-test".to_owned(),
            "patchbay".to_owned(),
            "1".to_owned(),
            "1.2".to_owned(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

const PATH: &str = "/org/freedesktop/Notifications";

fn has_web_process(pid: u32) -> bool {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries.filter_map(Result::ok).any(|entry| {
                let Some(child) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    return false;
                };
                let stat =
                    std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
                let parent = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|ppid| ppid.parse::<u32>().ok());
                let name =
                    std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
                parent == Some(pid) && name.starts_with("WebKitWebProces")
            })
        })
        .unwrap_or(false)
}

/// `host.pair` from a host app, in the background (it waits for the person).
fn pair_in_background(socket: &Path) -> std::thread::JoinHandle<Value> {
    let socket = socket.to_owned();
    std::thread::spawn(move || {
        let mut stream = UnixStream::connect(&socket).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(90)))
            .expect("timeout");
        let frame = json!({"jsonrpc": "2.0", "id": 1, "method": "host.pair",
            "params": {"app_id": "com.example.jotter", "app_name": "Example Jotter"}});
        writeln!(stream, "{frame}").expect("send");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("answer");
        serde_json::from_str(&line).unwrap_or(Value::Null)
    })
}

#[test]
fn a_pairing_request_while_the_window_is_closed_notifies_and_the_notification_opens_the_window() {
    let service = FakeNotifications::default();
    let shown = Arc::clone(&service.shown);
    let bus = zbus::blocking::connection::Builder::session()
        .and_then(|builder| builder.name("org.freedesktop.Notifications"))
        .and_then(|builder| builder.serve_at(PATH, service))
        .and_then(zbus::blocking::connection::Builder::build)
        .expect("the stand-in notification service on the private session bus");

    let session = AppSession::start();
    let runtime = session.runtime_dir();
    let socket = runtime.join("ipc.sock");
    wait::until("the IPC socket", UI_TIMEOUT, || {
        UnixStream::connect(&socket).ok().map(drop)
    });
    let pid = app_pid_in(&runtime).expect("the app's pid");
    session.script(
        "setTimeout(() => window.__TAURI__.window.getCurrentWindow().close(), 50); return true;",
    );
    session.wait_visible("[data-testid=\"close-dialog\"]");
    session.click("[data-testid=\"close-keep\"]");
    // The background server takes over from the app (see background.rs).
    wait::until("the background server to take over", UI_TIMEOUT, || {
        app_pid_in(&runtime)
            .filter(|holder| *holder != pid && is_patchbay_app(*holder))
            .filter(|_| UnixStream::connect(&socket).is_ok())
    });

    let pairing = pair_in_background(&socket);
    let notification = wait::until("a notification about the request", UI_TIMEOUT, || {
        shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            // Its own app's name: the stand-in service may also have been
            // sent another test's notifications while this one waited for
            // the window.
            .find(|shown| shown.summary.contains("Example Jotter"))
            .cloned()
    });
    assert_eq!(notification.app_name, "Patchbay");
    assert!(
        notification
            .summary
            .contains("asks to use your AI endpoints"),
        "{notification:?}"
    );
    assert!(
        notification.body.contains("allow or deny"),
        "{notification:?}"
    );
    assert!(
        notification
            .actions
            .iter()
            .any(|action| action == "default"),
        "choosing the notification is an action: {notification:?}"
    );

    // Choosing it brings the window back (where the prompt is shown). The
    // click is repeated until it lands: the server starts listening for it
    // a moment after the notification is shown, as a person cannot click
    // within microseconds either (only the first click counts).
    let emitter = bus
        .object_server()
        .interface::<_, FakeNotifications>(PATH)
        .expect("the interface");
    // While the request waits, the window follows the background server,
    // which keeps serving, so the request is not lost.
    wait::until("the window to come back", UI_TIMEOUT, || {
        let shown = patchbay_processes_for(&runtime)
            .into_iter()
            .find(|process| has_web_process(*process));
        if shown.is_none() {
            zbus::block_on(FakeNotifications::action_invoked(
                emitter.signal_emitter(),
                notification.id,
                "default",
            ))
            .expect("emit ActionInvoked");
            std::thread::sleep(Duration::from_millis(300));
        }
        shown
    });

    // The request is still waiting for the person; deny it from the CLI so
    // the host gets its answer.
    session.deny_the_pending_request();
    let answer = pairing.join().expect("the host's answer");
    assert!(
        answer["error"].is_object(),
        "the host was refused: {answer}"
    );
}
