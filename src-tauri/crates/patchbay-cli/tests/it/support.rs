//! Shared helpers: run the real `patchbay` binary against a private config
//! directory and keychain service, and read what it printed.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use patchbay_testkit::TempWorld;
use serde_json::Value;

pub(crate) type TestResult = patchbay_testkit::TestResult;

/// A private Patchbay world (the test kit's [`TempWorld`]: its own config
/// directory, runtime directory and keychain service name, so tests running
/// in parallel never see each other's providers), plus extra environment
/// for the `patchbay` runs in it.
#[derive(Debug)]
pub(crate) struct World {
    world: TempWorld,
    /// The keychain service name every run uses.
    pub(crate) service: String,
    extra_env: Vec<(String, String)>,
}

impl World {
    pub(crate) fn new() -> Result<Self, std::io::Error> {
        let world = TempWorld::new()?;
        let service = world.keyring_service().to_owned();
        Ok(Self {
            world,
            service,
            extra_env: Vec::new(),
        })
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.world.config_dir()
    }

    /// The world's own directory, for files a test hands the CLI.
    pub(crate) fn path(&self) -> PathBuf {
        self.world.root().to_path_buf()
    }

    pub(crate) fn runtime_dir(&self) -> PathBuf {
        self.world.runtime_dir()
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.world.runtime_dir().join("ipc.sock")
    }

    pub(crate) fn config_file(&self) -> PathBuf {
        self.world.config_dir().join("providers.json")
    }

    /// The config file's bytes, or empty when it does not exist yet.
    pub(crate) fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.config_file()).unwrap_or_default()
    }

    /// Sets an extra environment variable for every later run.
    pub(crate) fn with_env(mut self, name: &str, value: &str) -> Self {
        self.extra_env.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_patchbay"));
        command
            .args(args)
            .envs(self.world.envs())
            .env_remove("PATCHBAY_LOG")
            .env_remove("RUST_LOG")
            // Probe traffic must never leave loopback, and must not be
            // diverted through a proxy configured on the test machine.
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            // Which roots the system trust store gives is the machine's
            // business: tests that need one set these themselves.
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR");
        for (name, value) in &self.extra_env {
            command.env(name, value);
        }
        command
    }

    /// Runs `patchbay ARGS` without stdin and checks its exit status.
    pub(crate) fn expect(&self, code: i32, args: &[&str]) -> Result<Run, std::io::Error> {
        let run = self.run(args, None)?;
        run.expect_code(code);
        Ok(run)
    }

    /// Runs `patchbay ARGS` with `stdin` piped in (or closed).
    pub(crate) fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Run, std::io::Error> {
        run_command(self.command(args), stdin)
    }
}

pub(crate) fn run_command(
    mut command: Command,
    stdin: Option<&str>,
) -> Result<Run, std::io::Error> {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(mut pipe) = child.stdin.take() {
        if let Some(text) = stdin {
            match pipe.write_all(text.as_bytes()) {
                // A command that fails before reading stdin (a usage error)
                // closes it early; that is its answer, not a test failure.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        drop(pipe);
    }
    let output = child.wait_with_output()?;
    Ok(Run::from(output))
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Stdout parsed as JSON.
    pub(crate) fn json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.stdout)
            .map_err(|error| format!("stdout is not JSON ({error}): {self:?}"))
    }

    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        self
    }
}

/// Adds a no-auth provider on loopback and returns its id.
pub(crate) fn add_local(world: &World, label: &str, model: &str) -> Result<String, String> {
    let run = world
        .run(
            &[
                "provider",
                "add",
                "--label",
                label,
                "--base-url",
                "http://127.0.0.1:11434/v1",
                "--model",
                model,
                "--no-auth",
                "--allow-local",
                "--json",
            ],
            None,
        )
        .map_err(|error| error.to_string())?;
    if run.code != Some(0) {
        return Err(format!("add failed: {run:#?}"));
    }
    let json = run.json()?;
    json["provider"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no id in {json}"))
}

/// True when a Secret Service is reachable (the tests' documented command
/// starts one). Keychain tests fail loudly without it rather than pass.
pub(crate) fn require_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "keychain tests need a Secret Service: run them inside\n  HOME=$(mktemp -d) dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec cargo test -p patchbay-cli'"
    );
}

/// `secret-tool lookup service S username ACCOUNT`: the stored secret, if
/// any, after the line naming the origin it was given for (which every item
/// Patchbay writes starts with; see [`keychain_item`]).
pub(crate) fn keychain_lookup(
    service: &str,
    account: &str,
) -> Result<Option<String>, std::io::Error> {
    Ok(keychain_item(service, account)?.map(|(_origin, secret)| secret))
}

/// The stored item as `(origin, secret)`.
pub(crate) fn keychain_item(
    service: &str,
    account: &str,
) -> Result<Option<(String, String)>, std::io::Error> {
    let output = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()?;
    if !output.status.success() || output.stdout.is_empty() {
        return Ok(None);
    }
    let stored = String::from_utf8_lossy(&output.stdout).into_owned();
    let (origin, secret) = stored
        .strip_prefix("patchbay-origin ")
        .and_then(|rest| rest.split_once('\n'))
        .ok_or_else(|| std::io::Error::other(format!("{account}: no origin line")))?;
    Ok(Some((origin.to_owned(), secret.to_owned())))
}

/// A key nobody would type, to search every output for.
pub(crate) fn canary() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let unique = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("sk-canary-{}-{unique}-Zq7XkP2mW9vL4rT8", std::process::id())
}
