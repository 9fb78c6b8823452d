//! The tray, driven as a desktop's tray host drives it. A stand-in
//! StatusNotifierWatcher owns `org.kde.StatusNotifierWatcher` on the tests'
//! private session bus for this test: the app then finds a tray host and
//! shows its icon, and after the window closes the background server
//! registers its own item, whose menu (com.canonical.dbusmenu) the test reads
//! and clicks: the gateway switch, a pairing request waiting, then Quit.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use patchbay_tests::app::{app_pid_in, is_patchbay_app, AppSession, UI_TIMEOUT};
use patchbay_tests::wait;
use serde_json::{json, Value};
use zbus::zvariant::{OwnedValue, Value as Variant};

#[derive(Debug, Default, Clone)]
struct FakeWatcher {
    /// (the service name given, the caller's unique bus name)
    items: Arc<Mutex<Vec<(String, String)>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl FakeWatcher {
    fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(ToString::to_string).unwrap_or_default();
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((service, sender));
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(service, _)| service.clone())
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The menu item labels of the item at `service`, by id.
fn menu_labels(bus: &zbus::blocking::Connection, service: &str) -> Vec<(i32, String)> {
    let reply = bus
        .call_method(
            Some(service),
            "/MenuBar",
            Some("com.canonical.dbusmenu"),
            "GetGroupProperties",
            &((1..=8).collect::<Vec<i32>>(), vec!["label".to_owned()]),
        )
        .expect("GetGroupProperties");
    let items: Vec<(i32, HashMap<String, OwnedValue>)> =
        reply.body().deserialize().expect("the menu's properties");
    items
        .into_iter()
        .filter_map(|(id, properties)| {
            let label = properties.get("label")?;
            let label: String = label.try_clone().ok()?.try_into().ok()?;
            Some((id, label))
        })
        .collect()
}

fn click(bus: &zbus::blocking::Connection, service: &str, id: i32) {
    bus.call_method(
        Some(service),
        "/MenuBar",
        Some("com.canonical.dbusmenu"),
        "Event",
        &(id, "clicked", Variant::from(0_i32), 0_u32),
    )
    .expect("click the menu item");
}

fn item_labelled(labels: &[(i32, String)], starts: &str) -> Option<(i32, String)> {
    labels
        .iter()
        .find(|(_, label)| label.starts_with(starts))
        .cloned()
}

#[test]
fn with_a_tray_host_both_processes_show_an_icon_and_the_background_menu_works() {
    let watcher = FakeWatcher::default();
    let items = Arc::clone(&watcher.items);
    let bus = zbus::blocking::connection::Builder::session()
        .and_then(|builder| builder.name("org.kde.StatusNotifierWatcher"))
        .and_then(|builder| builder.serve_at("/StatusNotifierWatcher", watcher))
        .and_then(zbus::blocking::connection::Builder::build)
        .expect("the stand-in tray host on the private session bus");

    let session = AppSession::start();
    let runtime = session.runtime_dir();
    let socket = runtime.join("ipc.sock");
    let status = session.script("return window.__TAURI__.core.invoke('background_status');");
    assert_eq!(
        status["tray"],
        json!(true),
        "a tray host is there: {status}"
    );
    let pid = app_pid_in(&runtime).expect("the app's pid");

    // Close the window: the background server takes over and shows its icon.
    session.script(
        "setTimeout(() => window.__TAURI__.window.getCurrentWindow().close(), 50); return true;",
    );
    session.wait_visible("[data-testid=\"close-dialog\"]");
    let where_text = session.text("[data-testid=\"close-where\"]");
    assert!(where_text.contains("stays in the tray"), "{where_text}");
    session.click("[data-testid=\"close-keep\"]");
    let resident = wait::until("the background server to take over", UI_TIMEOUT, || {
        app_pid_in(&runtime)
            .filter(|holder| *holder != pid && is_patchbay_app(*holder))
            .filter(|_| UnixStream::connect(&socket).is_ok())
    });
    let service = wait::until_or_none(UI_TIMEOUT, || {
        items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(service, _)| service.clone())
            .find(|service| service.starts_with(&format!("org.kde.StatusNotifierItem-{resident}-")))
    })
    .unwrap_or_else(|| {
        panic!(
            "the background server ({resident}) registered no tray item; registered: {:?}",
            items.lock().unwrap_or_else(PoisonError::into_inner)
        )
    });

    // Its menu: Open Settings, the gateway with its address, requests, Quit.
    let labels = wait::until("the gateway's address in the menu", UI_TIMEOUT, || {
        let labels = menu_labels(&bus, &service);
        item_labelled(&labels, "Gateway on — http://127.0.0.1:").map(|_| labels)
    });
    assert!(
        item_labelled(&labels, "Open Settings").is_some(),
        "{labels:?}"
    );
    assert!(
        item_labelled(&labels, "No pairing requests").is_some(),
        "{labels:?}"
    );
    let (gateway, _) = item_labelled(&labels, "Gateway on").expect("the gateway item");
    let (quit, _) = item_labelled(&labels, "Quit Patchbay").expect("Quit");

    // The gateway switch: saved in settings.json, and the gateway stops.
    click(&bus, &service, gateway);
    wait::until("the gateway to stop", UI_TIMEOUT, || {
        (!runtime.join("gateway.json").exists()).then_some(())
    });
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(session.config_dir().join("settings.json")).expect("settings"),
    )
    .expect("JSON");
    assert_eq!(settings["gateway"]["enabled"], json!(false), "{settings}");
    wait::until("the menu to say so", UI_TIMEOUT, || {
        item_labelled(&menu_labels(&bus, &service), "Gateway off")
    });

    // A pairing request shows in the menu while it waits.
    let host_socket = socket.clone();
    let pairing = std::thread::spawn(move || {
        patchbay_tests::rpc_call(
            &host_socket,
            "host.pair",
            json!({"app_id": "com.example.notes", "app_name": "Example Notes"}),
        )
    });
    wait::until("the request in the menu", UI_TIMEOUT, || {
        item_labelled(&menu_labels(&bus, &service), "1 app asks to pair")
    });
    session.deny_the_pending_request();
    assert!(pairing.join().expect("the host's answer")["error"].is_object());
    wait::until("the menu to drop the request", UI_TIMEOUT, || {
        item_labelled(&menu_labels(&bus, &service), "No pairing requests")
    });

    // Quit from the tray stops everything.
    click(&bus, &service, quit);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while is_patchbay_app(resident) {
        assert!(
            std::time::Instant::now() < deadline,
            "Quit did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!socket.exists(), "Quit removes the IPC socket");
}
