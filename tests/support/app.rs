//! The real Patchbay window for end-to-end tests: `tauri-driver` (with
//! WebKitWebDriver) on free loopback ports, launching `target/debug/patchbay-app`
//! with a private config directory, data directory and runtime directory, so
//! every test starts from a clean slate and never touches the user's files.
//!
//! tauri-driver launches the app with its own environment, so the variables
//! are set on the tauri-driver process and inherited from there.
//!
//! Missing pieces (the app binary, tauri-driver, WebKitWebDriver, a display)
//! fail the test loudly: a skipped end-to-end test would hide a broken app.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use tempfile::TempDir;

use crate::wait;
use crate::webdriver::{Element, WebDriver};

/// One window at a time: the machine has two cores, and WebKit processes
/// starting in parallel make timings flaky.
static ONE_WINDOW_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long the UI gets to react to something.
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug)]
pub struct AppSession {
    pub driver: WebDriver,
    tauri_driver: Child,
    config_dir: TempDir,
    _private_home: TempDir,
    _one_window: MutexGuard<'static, ()>,
}

impl AppSession {
    /// Starts the app with an empty config directory.
    pub fn start() -> Self {
        let config_dir = tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        Self::start_in(config_dir)
    }

    /// Starts the app on an existing config directory (pre-filled by the test).
    pub fn start_in(config_dir: TempDir) -> Self {
        let private_home =
            tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        Self::launch(config_dir, private_home)
    }

    /// Starts the app on a config directory and a private home the test
    /// prepared: its runtime directory ([`AppSession::runtime_dir_in`])
    /// and data directory live there, so a test can start `patchbay serve`
    /// on the app's socket before the window opens.
    pub fn start_with_home(config_dir: TempDir, private_home: TempDir) -> Self {
        Self::launch(config_dir, private_home)
    }

    /// Starts the app with extra environment variables (for example
    /// `PATCHBAY_TRAY`, or `HOME` in the private home for start at login).
    pub fn start_with_env(
        config_dir: TempDir,
        private_home: TempDir,
        env: &[(&str, &Path)],
    ) -> Self {
        Self::launch_with(config_dir, private_home, env)
    }

    /// The private home (`HOME` for tests that pass it with
    /// [`AppSession::start_with_env`]).
    pub fn private_home(&self) -> &Path {
        self._private_home.path()
    }

    /// The environment that points a process (a second launch, the CLI,
    /// `patchbay-app --quit`) at this session's config and runtime dirs.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("PATCHBAY_CONFIG_DIR", self.config_dir.path().to_path_buf()),
            ("PATCHBAY_RUNTIME_DIR", self.runtime_dir()),
            ("XDG_DATA_HOME", self.data_home()),
        ]
    }

    /// `PATCHBAY_RUNTIME_DIR` of a session started on `private_home`.
    pub fn runtime_dir_in(private_home: &Path) -> PathBuf {
        private_home.join("runtime")
    }

    /// Closes the window and opens it again on the same config, data and
    /// runtime directories, as a person quitting and reopening the app.
    pub fn restart(mut self) -> Self {
        let spare = || tempfile::tempdir().unwrap_or_else(|error| panic!("no temp dir: {error}"));
        let config_dir = std::mem::replace(&mut self.config_dir, spare());
        let private_home = std::mem::replace(&mut self._private_home, spare());
        drop(self);
        Self::launch(config_dir, private_home)
    }

    fn launch(config_dir: TempDir, private_home: TempDir) -> Self {
        Self::launch_with(config_dir, private_home, &[])
    }

    fn launch_with(config_dir: TempDir, private_home: TempDir, env: &[(&str, &Path)]) -> Self {
        let one_window = ONE_WINDOW_AT_A_TIME
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let application = app_binary();
        let tauri_driver_binary = tauri_driver();
        let native_driver = native_driver();
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            panic!("no display: run the end-to-end tests under `xvfb-run -a` (see README / scripts/test.sh)");
        }
        let runtime_dir = Self::runtime_dir_in(private_home.path());
        let data_home = private_home.path().join("data");
        for dir in [&runtime_dir, &data_home] {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
        }

        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(&tauri_driver_binary);
        // The machine's trust-store overrides are not the test's: a test
        // that needs one passes it in `env`.
        command
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        command.envs(env.iter().map(|(name, value)| (*name, *value)));
        let tauri_driver = command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&native_driver)
            .env("PATCHBAY_CONFIG_DIR", config_dir.path())
            .env("PATCHBAY_RUNTIME_DIR", &runtime_dir)
            .env("XDG_DATA_HOME", &data_home)
            // A free port each: the gateway never takes the default one.
            .env("PATCHBAY_GATEWAY_ADDR", "127.0.0.1:0")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("could not start {}: {error}", tauri_driver_binary.display())
            });

        let mut session = Self {
            driver: WebDriver::new(port),
            tauri_driver,
            config_dir,
            _private_home: private_home,
            _one_window: one_window,
        };
        session.wait_for_driver();
        if let Err(error) = session.driver.start_session(&application) {
            panic!(
                "tauri-driver could not open {}: {error}",
                application.display()
            );
        }
        wait::until(
            "the panel to finish loading",
            Duration::from_secs(30),
            || {
                session
                    .driver
                    .execute(
                        "return document.body && document.body.dataset.ready === 'true';",
                        Vec::new(),
                    )
                    .ok()
                    .filter(|ready| ready == &Value::Bool(true))
            },
        );
        session
    }

    fn wait_for_driver(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.driver.is_ready() {
            if let Ok(Some(status)) = self.tauri_driver.try_wait() {
                panic!("tauri-driver exited early with {status}");
            }
            if Instant::now() >= deadline {
                panic!("tauri-driver did not answer /status within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn config_dir(&self) -> &Path {
        self.config_dir.path()
    }

    /// `PATCHBAY_RUNTIME_DIR` of the app: where its IPC socket (`ipc.sock`) lives.
    pub fn runtime_dir(&self) -> PathBuf {
        Self::runtime_dir_in(self._private_home.path())
    }

    /// `XDG_DATA_HOME` of the app: its own UI state lives in
    /// `dev.patchbay.settings/ui-state.json` there.
    pub fn data_home(&self) -> PathBuf {
        self._private_home.path().join("data")
    }

    /// Denies the one pairing request waiting, with `patchbay hosts pending`
    /// and `patchbay hosts deny` (whichever process serves this session).
    pub fn deny_the_pending_request(&self) {
        let cli = crate::target_debug_dir().join("patchbay");
        let pending = Command::new(&cli)
            .envs(self.env())
            .args(["hosts", "pending", "--json"])
            .output()
            .unwrap_or_else(|error| panic!("patchbay hosts pending: {error}"));
        let pending: Value = serde_json::from_slice(&pending.stdout)
            .unwrap_or_else(|error| panic!("hosts pending is not JSON: {error}"));
        let request_id = pending["pending"][0]["request_id"]
            .as_str()
            .unwrap_or_else(|| panic!("one request waits: {pending}"))
            .to_owned();
        let denied = Command::new(&cli)
            .envs(self.env())
            .args(["hosts", "deny", &request_id])
            .output()
            .unwrap_or_else(|error| panic!("patchbay hosts deny: {error}"));
        assert!(denied.status.success(), "{denied:?}");
    }

    /// Presses keys on whatever has focus (see [`WebDriver::press`]).
    pub fn press(&self, keys: &[&str]) {
        if let Err(error) = self.driver.press(&[], keys) {
            self.fail(&format!("could not press {keys:?}: {error}"));
        }
    }

    /// Presses `keys` while holding `modifiers` (Alt+↓ and the like).
    pub fn press_with(&self, modifiers: &[&str], keys: &[&str]) {
        if let Err(error) = self.driver.press(modifiers, keys) {
            self.fail(&format!("could not press {modifiers:?}+{keys:?}: {error}"));
        }
    }

    /// Shift+Tab.
    pub fn press_shift_tab(&self) {
        let tab = crate::webdriver::keys::TAB;
        if let Err(error) = self.driver.press(&[crate::webdriver::keys::SHIFT], &[tab]) {
            self.fail(&format!("could not press Shift+Tab: {error}"));
        }
    }

    /// What has keyboard focus: its `id`, else its `data-testid`, else its
    /// tag name; `body` when nothing does.
    pub fn focused(&self) -> String {
        let script = "const el = document.activeElement; \
                      if (!el || el === document.body) return 'body'; \
                      return el.id || el.dataset.testid || el.tagName.toLowerCase();";
        match self.script(script) {
            Value::String(name) => name,
            other => self.fail(&format!("unexpected focus answer {other}")),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.path().join("providers.json")
    }

    /// The config file as JSON (`null` when it does not exist yet).
    pub fn config_json(&self) -> Value {
        match std::fs::read(self.config_file()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("providers.json is not JSON: {error}")),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Value::Null,
            Err(error) => panic!("cannot read providers.json: {error}"),
        }
    }

    /// Whether the element stays where it is for a moment. A WebDriver click
    /// lands on coordinates, so clicking while an answer from Rust is still
    /// reshaping the layout would hit whatever moved there instead.
    fn holds_still(&self, element: &Element) -> bool {
        let script = "const r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height].join(',');";
        let rect = || self.driver.execute(script, vec![element.to_json()]).ok();
        let before = rect();
        std::thread::sleep(Duration::from_millis(150));
        before.is_some() && before == rect()
    }

    /// Waits until an element matching `css` exists and is displayed.
    pub fn wait_visible(&self, css: &str) -> Element {
        self.wait_until(&format!("`{css}` to be visible"), || {
            let element = self.driver.find(css).ok()?;
            self.is_visible(&element).then_some(element)
        })
    }

    /// Waits until nothing matching `css` is displayed.
    pub fn wait_gone(&self, css: &str) {
        self.wait_until(&format!("`{css}` to disappear"), || {
            let elements = self.driver.find_all(css).ok()?;
            elements
                .iter()
                .all(|element| !self.is_visible(element))
                .then_some(())
        })
    }

    /// A radio button that is not checked (false for anything else).
    fn is_unchosen_radio(&self, element: &Element) -> bool {
        let script =
            "const el = arguments[0]; return !!(el && el.type === 'radio' && !el.checked);";
        matches!(
            self.driver.execute(script, vec![element.to_json()]),
            Ok(Value::Bool(true))
        )
    }

    /// Whether the element takes up space (not `hidden`, not in a hidden ancestor).
    pub fn is_visible(&self, element: &Element) -> bool {
        let script = "const el = arguments[0]; return !!(el && el.getClientRects().length > 0);";
        matches!(
            self.driver.execute(script, vec![element.to_json()]),
            Ok(Value::Bool(true))
        )
    }

    /// Clicks the element matching `css` once it is visible. The list is
    /// re-rendered when the config changes, so a stale reference is looked up
    /// again rather than failing the test.
    pub fn click(&self, css: &str) {
        let mut last_error = String::new();
        let clicked = wait::until_or_none(UI_TIMEOUT, || {
            let element = self.driver.find(css).ok()?;
            if !self.is_visible(&element) || !self.holds_still(&element) {
                return None;
            }
            match self.driver.click(&element) {
                // A radio must end up chosen: if the layout moved under the
                // pointer (a message appearing above it), the click went
                // elsewhere; clicking a radio again is harmless.
                Ok(()) if self.is_unchosen_radio(&element) => {
                    last_error = format!("`{css}` was clicked but is not chosen");
                    None
                }
                Ok(()) => Some(()),
                Err(error) if error.error == "stale element reference" => None,
                Err(error)
                    if error.error == "element click intercepted"
                        || error.error == "element not interactable" =>
                {
                    // Under the form's sticky footer (WebDriver scrolls only
                    // as far as the element's edge): bring it to the middle,
                    // as a person would scroll, and click again.
                    self.scroll_to_middle(&element);
                    last_error = error.to_string();
                    None
                }
                Err(error) => {
                    last_error = error.to_string();
                    None
                }
            }
        });
        if clicked.is_none() {
            self.fail(&format!(
                "could not click `{css}` within {UI_TIMEOUT:?}: {last_error}"
            ));
        }
    }

    /// Clicks the element matching `css`, then waits for `effect`.
    ///
    /// WebKitWebDriver now and then reports a click as done that the page
    /// never received (seen on CI on a button clicked right after the
    /// window switched views). So when the effect has not begun after a few
    /// seconds and the element is still there, the click is sent once more;
    /// the effect must still appear within [`UI_TIMEOUT`], so a button that
    /// does nothing still fails the test. Use it only for clicks whose effect
    /// a second click cannot change (Test connection ignores a click while a
    /// test runs).
    pub fn click_expecting<T>(
        &self,
        css: &str,
        what: &str,
        mut effect: impl FnMut() -> Option<T>,
    ) -> T {
        self.click(css);
        if let Some(value) = wait::until_or_none(Duration::from_secs(3), &mut effect) {
            return value;
        }
        if self
            .driver
            .find(css)
            .is_ok_and(|element| self.is_visible(&element))
        {
            eprintln!("clicking `{css}` again: no sign of {what} after 3 s");
            self.click(css);
        }
        self.wait_until(what, effect)
    }

    /// Clicks "Test connection" in the details (or, with `#form-test`, in
    /// the form) and waits until its report shows.
    pub fn start_test(&self, button: &str) {
        let report = match button {
            "#form-test" => "form-test-report",
            _ => "test-report",
        };
        let script = format!("return document.getElementById('{report}').hidden === false;");
        self.click_expecting(button, "the test report", || {
            matches!(
                self.driver.execute(&script, Vec::new()),
                Ok(Value::Bool(true))
            )
            .then_some(())
        });
    }

    /// Polls `probe` until it answers, or fails the test with what the
    /// window shows (its text and a screenshot under `target/e2e-failures/`).
    pub fn wait_until<T>(&self, what: &str, probe: impl FnMut() -> Option<T>) -> T {
        match wait::until_or_none(UI_TIMEOUT, probe) {
            Some(value) => value,
            None => self.fail(&format!(
                "timed out after {UI_TIMEOUT:?} waiting for {what}"
            )),
        }
    }

    /// Panics with `message`, the window's visible text and a screenshot.
    pub fn fail(&self, message: &str) -> ! {
        let text = self
            .driver
            .execute("return document.body.innerText;", Vec::new())
            .map(|value| value.as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|error| format!("(no text: {error})"));
        let shot = self.save_screenshot();
        panic!("{message}\n--- the window shows ---\n{text}\n--- screenshot: {shot}");
    }

    /// Scrolls `element` to the middle of its page (a failure only means
    /// the next step sees where it is).
    fn scroll_to_middle(&self, element: &Element) {
        if let Err(error) = self.driver.execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![element.to_json()],
        ) {
            eprintln!("could not scroll an element into view: {error}");
        }
    }

    /// Saves what the window shows as `target/debug/screenshots/<name>`
    /// (a PNG): the pictures a reviewer looks at after a test run.
    pub fn keep_screenshot(&self, name: &str) -> PathBuf {
        let encoded = self
            .driver
            .screenshot_base64()
            .unwrap_or_else(|error| self.fail(&format!("no screenshot: {error}")));
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_else(|error| self.fail(&format!("the screenshot is not base64: {error}")));
        let dir = crate::target_debug_dir().join("screenshots");
        let path = dir.join(name);
        if let Err(error) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png))
        {
            self.fail(&format!("could not save {}: {error}", path.display()));
        }
        path
    }

    fn save_screenshot(&self) -> String {
        let Ok(encoded) = self.driver.screenshot_base64() else {
            return "(none)".to_owned();
        };
        let dir = crate::target_debug_dir().join("e2e-failures");
        let path = dir.join(format!("{}.png.base64", std::process::id()));
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, encoded)) {
            Ok(()) => format!("{} (base64 PNG)", path.display()),
            Err(error) => format!("(could not save: {error})"),
        }
    }

    /// Selects a provider in the list and waits for its details.
    pub fn select_provider(&self, id: &str) {
        self.click(&format!("[data-testid=\"provider-select-{id}\"]"));
        let script = format!(
            "return !!document.querySelector('[data-testid=\"provider-item-{id}\"].selected') \
             && !document.getElementById('provider-detail').hidden \
             && document.getElementById('detail-subtitle').textContent.endsWith('ID {id}');"
        );
        self.wait_until(&format!("the details of `{id}`"), || {
            matches!(
                self.driver.execute(&script, Vec::new()),
                Ok(Value::Bool(true))
            )
            .then_some(())
        });
    }

    /// Replaces the text of the input matching `css`.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_visible(css);
        // In the middle of the page, clear of the form's sticky footer.
        self.scroll_to_middle(&element);
        if let Err(error) = self.driver.clear(&element) {
            panic!("could not clear `{css}`: {error}");
        }
        if let Err(error) = self.driver.send_keys(&element, text) {
            panic!("could not type into `{css}`: {error}");
        }
    }

    /// The rendered text (`innerText`) of the element matching `css`.
    /// WebKitWebDriver's own "element text" stops early inside buttons with
    /// several blocks (a provider row gives just its avatar letter).
    pub fn text(&self, css: &str) -> String {
        let script = "const el = document.querySelector(arguments[0]); \
                      return el && el.getClientRects().length > 0 ? el.innerText : null;";
        self.wait_until(&format!("`{css}` to be visible"), || {
            match self
                .driver
                .execute(script, vec![Value::String(css.to_owned())])
            {
                Ok(Value::String(text)) => Some(text),
                _ => None,
            }
        })
    }

    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_visible(css);
        self.driver
            .attribute(&element, name)
            .unwrap_or_else(|error| panic!("no attribute {name} on `{css}`: {error}"))
    }

    /// The status (`ok`, `failed`, `skipped`, …) of a test stage row:
    /// `prefix` is `form-` in the form's own test, empty on the Connection card.
    pub fn stage_status(&self, prefix: &str, stage: &str) -> Option<String> {
        self.script(&format!(
            "const el = document.querySelector('[data-testid=\"{prefix}stage-{stage}\"]'); return el ? el.dataset.status : null;"
        ))
        .as_str()
        .map(str::to_owned)
    }

    /// Runs a script and returns its value; panics on a script error.
    pub fn script(&self, script: &str) -> Value {
        self.driver
            .execute(script, Vec::new())
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// The DOM `checked` state of the checkbox matching `css` (which may be
    /// visually replaced by a switch track, so only presence is required).
    pub fn is_checked(&self, css: &str) -> bool {
        let script =
            "const el = document.querySelector(arguments[0]); return el ? el.checked : null;";
        wait::until(&format!("`{css}` to exist"), UI_TIMEOUT, || {
            match self
                .driver
                .execute(script, vec![Value::String(css.to_owned())])
            {
                Ok(Value::Bool(checked)) => Some(checked),
                _ => None,
            }
        })
    }
}

impl Drop for AppSession {
    fn drop(&mut self) {
        // The app's pid, read before the session ends (the lock file holds it).
        let app_pid = app_pid_in(&self.runtime_dir());
        if let Err(error) = self.driver.end_session() {
            eprintln!("could not end the WebDriver session: {error}");
        }
        // SIGTERM lets tauri-driver stop WebKitWebDriver too; SIGKILL would orphan it.
        match Command::new("kill")
            .arg("-TERM")
            .arg(self.tauri_driver.id().to_string())
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("kill -TERM tauri-driver exited with {status}"),
            Err(error) => eprintln!("could not signal tauri-driver: {error}"),
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.tauri_driver.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) | Err(_) => {
                    if let Err(error) = self.tauri_driver.kill() {
                        eprintln!("could not kill tauri-driver: {error}");
                    }
                    if let Err(error) = self.tauri_driver.wait() {
                        eprintln!("could not reap tauri-driver: {error}");
                    }
                    break;
                }
            }
        }
        stop_patchbay(app_pid, &self.runtime_dir());
    }
}

/// The pid of the Patchbay app holding the instance endpoint in
/// `runtime_dir`, from its lock file (`app.sock.lock`).
pub fn app_pid_in(runtime_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(runtime_dir.join("app.sock.lock"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a running Patchbay — the app, or the background server
/// it hands over to (`patchbay serve --resident`) — not a recycled pid, not
/// a zombie.
pub fn is_patchbay_app(pid: u32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let running = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z");
    running
        && exe.is_some_and(|exe| {
            exe.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("patchbay"))
        })
}

/// Makes sure no Patchbay outlives its test: the app (`pid`) and any
/// Patchbay process started for this test's runtime directory (the
/// background server the app may have handed over to, which starts a moment
/// later), found by the `PATCHBAY_RUNTIME_DIR` in their environment. Each
/// gets SIGTERM (which quits cleanly), then SIGKILL after 5 s.
pub fn stop_patchbay(pid: Option<u32>, runtime_dir: &Path) {
    stop_background_app(pid);
    let mut quiet_rounds = 0;
    while quiet_rounds < 3 {
        let started_for_us = patchbay_processes_for(runtime_dir);
        if started_for_us.is_empty() {
            quiet_rounds += 1;
            std::thread::sleep(Duration::from_millis(100));
        } else {
            quiet_rounds = 0;
            for pid in started_for_us {
                stop_background_app(Some(pid));
            }
        }
    }
}

/// The running Patchbay processes whose environment names `runtime_dir`.
pub fn patchbay_processes_for(runtime_dir: &Path) -> Vec<u32> {
    let wanted = format!("PATCHBAY_RUNTIME_DIR={}", runtime_dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| is_patchbay_app(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|variable| variable == wanted.as_bytes())
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Stops one Patchbay process: SIGTERM, then SIGKILL after 5 s.
pub fn stop_background_app(pid: Option<u32>) {
    let Some(pid) = pid else {
        return;
    };
    if !is_patchbay_app(pid) {
        return;
    }
    let signal = |name: &str| {
        if let Err(error) = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
        {
            eprintln!("could not signal Patchbay ({pid}): {error}");
        }
    };
    signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_patchbay_app(pid) {
        if Instant::now() >= deadline {
            eprintln!("Patchbay ({pid}) ignored SIGTERM for 5 s; killing it");
            signal("KILL");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    let listener =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("no free port: {error}"));
    listener
        .local_addr()
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("no port: {error}"))
}

/// `target/debug/patchbay-app`, which `cargo build -p patchbay-app` produces
/// (`PATCHBAY_TEST_APP` points the tests at another build, e.g. the release
/// one for the memory figures).
pub fn app_binary() -> PathBuf {
    let path = std::env::var_os("PATCHBAY_TEST_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_debug_dir().join("patchbay-app"));
    if !path.is_file() {
        panic!(
            "{} is missing: run `cargo build -p patchbay-app` before the end-to-end tests",
            path.display()
        );
    }
    path
}

fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("tauri-driver"))
                .collect()
        })
        .unwrap_or_default();
    for home in [
        std::env::var_os("CARGO_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")),
    ]
    .into_iter()
    .flatten()
    {
        candidates.push(home.join("bin").join("tauri-driver"));
    }
    candidates.push(PathBuf::from("/root/.cargo/bin/tauri-driver"));
    candidates.into_iter().find(|path| path.is_file()).unwrap_or_else(|| {
        panic!("tauri-driver is missing: `cargo install tauri-driver --locked`, or set TAURI_DRIVER to its path")
    })
}

fn native_driver() -> PathBuf {
    let path = std::env::var_os("WEBKIT_WEBDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/WebKitWebDriver"));
    if !path.is_file() {
        panic!("{} is missing: install `webkit2gtk-driver`", path.display());
    }
    path
}
