//! `patchbay serve --resident`: Patchbay in the background. The app hands
//! over to it when its window closes (and starts it at login), so what stays
//! resident is this small process — no WebKit, no GTK — serving host apps
//! (the IPC socket and the gateway) exactly as the window did.
//!
//! - It holds the app's single-instance endpoint (`app.sock`), taken over
//!   from the window that started it ([`instance::claim_when_free`]).
//! - A second launch of the app, the tray's "Open Settings" or a click on a
//!   pairing notification asks it to show the window. It starts the app
//!   beside it with `--take-over` and hands everything back (it stops
//!   serving and exits; the app claims the endpoint and the socket). While a
//!   pairing request waits for an answer it keeps serving instead and starts
//!   the app with `--follow`, which follows it and shows the prompt, so the
//!   request is not lost in a hand-over.
//! - Pairing requests raise a desktop notification; the tray icon (a
//!   StatusNotifierItem, where the desktop shows them) has Open Settings, the
//!   gateway with its address, the requests waiting, and Quit.
//! - Quit (tray, `patchbay-app --quit`, SIGTERM, Ctrl-C) stops serving
//!   cleanly and exits.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use patchbay_ipc::instance::{self, Activation};
use patchbay_ipc::{HostSupervisor, HostsObserver};
use patchbay_protocol::rpc::PendingPairing;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::hosting::gateway_options;
use crate::output::Output;
use crate::provider::open_service;

/// How long the window that started us may take to let go of `app.sock`
/// (it drains the gateway's requests in flight first).
const HANDOVER_WAIT: Duration = Duration::from_secs(30);

/// What the resident reacts to, from every source, in one queue.
#[derive(Debug)]
pub(crate) enum Event {
    /// Show the window (a second launch, the tray, a notification).
    Show,
    Quit,
    /// A host asks to pair.
    Pairing(Box<PendingPairing>),
    /// Connected apps or the server's status changed (the tray follows).
    Changed,
    /// The tray's gateway item (no tray on this platform sends it yet).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    ToggleGateway,
}

struct Observer(UnboundedSender<Event>);

impl HostsObserver for Observer {
    fn pairing_requested(&self, request: &PendingPairing) {
        // The receiver lives as long as the process serves.
        drop(self.0.send(Event::Pairing(Box::new(request.clone()))));
    }

    fn changed(&self, _what: &str) {
        drop(self.0.send(Event::Changed));
    }
}

pub(crate) fn run(args: &ServeArgs, output: Output) -> Result<ExitCode, CliError> {
    let ipc = patchbay_ipc::default_endpoint().map_err(CliError::Ipc)?;
    let app = patchbay_desktop::current_exe()
        .and_then(|cli| patchbay_desktop::app_beside(&cli))
        .map_err(CliError::Desktop)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async move {
        // First of all: be the one Patchbay (the window that started us lets
        // go of the endpoint once it has stopped serving).
        let endpoint = instance::instance_endpoint(&ipc);
        let Some(claimed) = instance::claim_when_free(&endpoint, HANDOVER_WAIT)
            .await
            .map_err(CliError::Ipc)?
        else {
            output.notice("Patchbay already runs for you; nothing to do.");
            return Ok(ExitCode::SUCCESS);
        };
        // No key is read up front (unlike a `patchbay serve` in a terminal,
        // nobody would see the report, and it could ask to unlock the
        // keychain at every hand-over): requests read what they need.
        let service = Arc::new(open_service()?);
        let config_dir = service.store().paths().dir.clone();
        let gateway = gateway_options(args, &config_dir, output)?;
        let (events, mut queue) = unbounded_channel();
        let activations = events.clone();
        let instance = claimed.serve(move |activation| {
            let event = match activation {
                Activation::Show => Event::Show,
                Activation::Quit => Event::Quit,
                Activation::Background => return,
            };
            drop(activations.send(event));
        });
        let supervisor = Arc::new(HostSupervisor::new(&config_dir).with_gateway(gateway));
        let observer: Arc<dyn HostsObserver> = Arc::new(Observer(events.clone()));
        {
            let supervisor = Arc::clone(&supervisor);
            let service = Arc::clone(&service);
            tokio::spawn(async move { supervisor.run(service, ipc, observer).await });
        }
        let tray = tray::start(events.clone()).await;
        if tray.is_none() && std::env::var_os(patchbay_desktop::ANNOUNCE_BACKGROUND_ENV).is_some_and(|value| value == "1") {
            notify::show(
                "Patchbay keeps serving your apps".to_owned(),
                "No tray icon shows it on this desktop. Open Patchbay again to see its window or to quit it."
                    .to_owned(),
                events.clone(),
            );
        }
        stop_on_signals(events.clone());
        tracing::info!("serving in the background");
        while let Some(event) = queue.recv().await {
            match event {
                Event::Show => {
                    if open_window(&app, &supervisor).await {
                        break;
                    }
                }
                Event::Quit => break,
                Event::Pairing(request) => {
                    notify::pairing(&request, events.clone());
                    tray::refresh(tray.as_ref(), &supervisor).await;
                }
                Event::Changed => tray::refresh(tray.as_ref(), &supervisor).await,
                Event::ToggleGateway => {
                    toggle_gateway(&config_dir, &supervisor, output).await;
                    tray::refresh(tray.as_ref(), &supervisor).await;
                }
            }
        }
        tray::stop(tray).await;
        supervisor.shutdown(&patchbay_ipc::Silent).await;
        instance.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Starts the app to show the window. `true` when serving was handed over
/// to it (this process then stops); with requests waiting for an answer the
/// app follows this process instead, so they are not lost.
async fn open_window(app: &Path, supervisor: &HostSupervisor) -> bool {
    let waiting = supervisor
        .pending()
        .await
        .map(|pending| !pending.is_empty())
        .unwrap_or(false);
    let flag = if waiting { "--follow" } else { "--take-over" };
    match spawn_detached(app, flag) {
        Ok(()) => !waiting,
        Err(error) => {
            tracing::error!(%error, app = %app.display(), "could not open the window");
            false
        }
    }
}

/// Starts `app flag` on its own: no terminal, not waited for.
fn spawn_detached(app: &Path, flag: &str) -> std::io::Result<()> {
    let mut command = Command::new(app);
    command
        .arg(flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn()?;
    // Reaped by a thread so it never lingers as a zombie under us.
    std::thread::spawn(move || {
        let mut child = child;
        drop(child.wait());
    });
    Ok(())
}

/// Flips the gateway's switch in `settings.json` and applies it now.
async fn toggle_gateway(config_dir: &Path, supervisor: &HostSupervisor, output: Output) {
    let on = supervisor
        .status()
        .gateway
        .is_some_and(|gateway| gateway.state == "on");
    let dir: PathBuf = config_dir.to_path_buf();
    let saved = tokio::task::spawn_blocking(move || {
        let mut current = patchbay_core::settings::load(&dir).unwrap_or_default();
        current.gateway.enabled = !on;
        patchbay_core::settings::save(&dir, &current)
    })
    .await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => {
            tracing::warn!(problem, "could not save the gateway switch");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "could not save the gateway switch");
            return;
        }
    }
    let args = ServeArgs {
        gateway_addr: None,
        no_gateway: false,
        resident: true,
    };
    match gateway_options(&args, config_dir, output) {
        Ok(options) => drop(supervisor.switch_gateway(options).await),
        Err(error) => tracing::warn!(%error, "the gateway stays as it was"),
    }
}

/// SIGTERM and Ctrl-C quit as cleanly as the Quit item.
fn stop_on_signals(events: UnboundedSender<Event>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut terminate) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        drop(tokio::signal::ctrl_c().await);
        drop(events.send(Event::Quit));
    });
}

mod notify {
    //! Desktop notifications; choosing one shows the window.

    use super::{Event, PendingPairing, UnboundedSender};

    pub(super) fn pairing(request: &PendingPairing, events: UnboundedSender<Event>) {
        show(
            format!("{} asks to use your AI endpoints", request.app_name),
            "Open Patchbay to allow or deny it.".to_owned(),
            events,
        );
    }

    pub(super) fn show(summary: String, body: String, events: UnboundedSender<Event>) {
        patchbay_desktop::notify(summary, body, move || drop(events.send(Event::Show)));
    }
}

#[cfg(target_os = "linux")]
mod tray {
    //! The tray icon: a StatusNotifierItem with a D-Bus menu (`ksni`), shown
    //! by KDE, Xfce, Cinnamon, MATE and GNOME with the AppIndicator
    //! extension. Where nothing shows tray icons, there is none.

    use ksni::menu::{CheckmarkItem, StandardItem};
    use ksni::{MenuItem, TrayMethods};

    use super::{Event, HostSupervisor, UnboundedSender};

    pub(super) struct ResidentTray {
        events: UnboundedSender<Event>,
        gateway: Option<String>,
        waiting: usize,
    }

    impl ResidentTray {
        fn send(&self, event: Event) {
            drop(self.events.send(event));
        }
    }

    impl ksni::Tray for ResidentTray {
        fn id(&self) -> String {
            "patchbay".to_owned()
        }

        fn title(&self) -> String {
            "Patchbay".to_owned()
        }

        fn icon_name(&self) -> String {
            "patchbay-app".to_owned()
        }

        fn activate(&mut self, _x: i32, _y: i32) {
            self.send(Event::Show);
        }

        fn menu(&self) -> Vec<MenuItem<Self>> {
            let gateway = match &self.gateway {
                Some(url) => format!("Gateway on — {url}"),
                None => "Gateway off".to_owned(),
            };
            let pairing = match self.waiting {
                0 => "No pairing requests".to_owned(),
                1 => "1 app asks to pair…".to_owned(),
                n => format!("{n} apps ask to pair…"),
            };
            vec![
                StandardItem {
                    label: "Open Settings".to_owned(),
                    activate: Box::new(|tray: &mut Self| tray.send(Event::Show)),
                    ..Default::default()
                }
                .into(),
                CheckmarkItem {
                    label: gateway,
                    checked: self.gateway.is_some(),
                    activate: Box::new(|tray: &mut Self| tray.send(Event::ToggleGateway)),
                    ..Default::default()
                }
                .into(),
                StandardItem {
                    label: pairing,
                    enabled: self.waiting > 0,
                    activate: Box::new(|tray: &mut Self| tray.send(Event::Show)),
                    ..Default::default()
                }
                .into(),
                MenuItem::Separator,
                StandardItem {
                    label: "Quit Patchbay".to_owned(),
                    activate: Box::new(|tray: &mut Self| tray.send(Event::Quit)),
                    ..Default::default()
                }
                .into(),
            ]
        }
    }

    pub(super) type Handle = ksni::Handle<ResidentTray>;

    pub(super) async fn start(events: UnboundedSender<Event>) -> Option<Handle> {
        if std::env::var("PATCHBAY_TRAY").as_deref() == Ok("off") {
            return None;
        }
        let tray = ResidentTray {
            events,
            gateway: None,
            waiting: 0,
        };
        match tray.spawn().await {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::info!(%error, "no tray icon: nothing on this desktop shows them");
                None
            }
        }
    }

    pub(super) async fn refresh(handle: Option<&Handle>, supervisor: &HostSupervisor) {
        let Some(handle) = handle else {
            return;
        };
        let gateway = supervisor
            .status()
            .gateway
            .filter(|gateway| gateway.state == "on")
            .and_then(|gateway| gateway.base_url);
        let waiting = supervisor
            .pending()
            .await
            .map(|pending| pending.len())
            .unwrap_or(0);
        handle
            .update(move |tray| {
                tray.gateway = gateway;
                tray.waiting = waiting;
            })
            .await;
    }

    pub(super) async fn stop(handle: Option<Handle>) {
        if let Some(handle) = handle {
            handle.shutdown().await;
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod tray {
    use super::{Event, HostSupervisor, UnboundedSender};

    pub(super) type Handle = ();

    pub(super) async fn start(_events: UnboundedSender<Event>) -> Option<Handle> {
        None
    }

    pub(super) async fn refresh(_handle: Option<&Handle>, _supervisor: &HostSupervisor) {}

    pub(super) async fn stop(_handle: Option<Handle>) {}
}
