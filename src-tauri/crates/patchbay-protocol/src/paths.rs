//! Where Patchbay's files live on each platform: the shared config directory
//! (`providers.json`) and the runtime directory of the IPC socket. Host apps
//! use the same functions, so the app, the CLI and every host agree.
//!
//! | what | override | Linux / BSD | macOS | Windows |
//! | --- | --- | --- | --- | --- |
//! | config dir | `PATCHBAY_CONFIG_DIR` | `$XDG_CONFIG_HOME/patchbay`, else `~/.config/patchbay` | `~/Library/Application Support/patchbay` | `%APPDATA%\patchbay` |
//! | runtime dir | `PATCHBAY_RUNTIME_DIR` | `$XDG_RUNTIME_DIR/patchbay`, else `$XDG_STATE_HOME/patchbay/run`, else `~/.local/state/patchbay/run` | `$TMPDIR/patchbay` | `%LOCALAPPDATA%\patchbay` (the published pipe name, the server's lock file) |
//! | IPC endpoint | `PATCHBAY_PIPE_NAME` (Windows) | `<runtime dir>/ipc.sock` | `<runtime dir>/ipc.sock` | `<runtime dir>\ipc.pipe`, a file naming the server's pipe `\\.\pipe\patchbay-<USERNAME>-<32 random hex digits>` |
//!
//! On Windows the pipe's name is chosen at random by each server and
//! published in the (per-user) runtime directory, so another user can
//! neither guess it nor create it first; `PATCHBAY_PIPE_NAME` (tests,
//! side-by-side set-ups) names a fixed pipe instead and skips the file.
//!
//! Empty or relative values of the `XDG_*` variables are ignored, as the XDG
//! Base Directory specification requires.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Overrides the config directory (tests, portable set-ups).
pub const CONFIG_DIR_ENV: &str = "PATCHBAY_CONFIG_DIR";
/// Overrides the runtime directory that holds the IPC socket.
pub const RUNTIME_DIR_ENV: &str = "PATCHBAY_RUNTIME_DIR";
/// Names a fixed pipe on Windows instead of the published one (tests,
/// side-by-side set-ups): a full `\\.\pipe\…` name, or a bare name that
/// gets that prefix.
pub const PIPE_NAME_ENV: &str = "PATCHBAY_PIPE_NAME";
/// The shared config file's name inside the config directory.
pub const CONFIG_FILE_NAME: &str = "providers.json";
/// The IPC socket's name inside the runtime directory (Unix).
pub const SOCKET_FILE_NAME: &str = "ipc.sock";
/// The file inside the runtime directory that holds the running server's
/// pipe name (Windows).
pub const PIPE_FILE_NAME: &str = "ipc.pipe";
/// The file inside the runtime directory naming the running gateway's base
/// URL (`{"base_url": "http://127.0.0.1:4141/v1"}`), present while it runs.
pub const GATEWAY_FILE_NAME: &str = "gateway.json";
/// Patchbay's own settings file inside the config directory (the gateway's
/// address and switch), beside `providers.json`.
pub const SETTINGS_FILE_NAME: &str = "settings.json";
/// Overrides the gateway's address (`127.0.0.1:4141`; port 0 picks one).
pub const GATEWAY_ADDR_ENV: &str = "PATCHBAY_GATEWAY_ADDR";
/// Every local named pipe's name starts with this.
pub const PIPE_PREFIX: &str = r"\\.\pipe\";

/// The directory holding `providers.json`, or `None` when the platform's
/// home/config directory cannot be determined (no `HOME`, no `APPDATA`).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = non_empty_env(CONFIG_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    platform_config_dir().map(|dir| dir.join("patchbay"))
}

/// `<config_dir>/providers.json`.
pub fn config_file() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join(CONFIG_FILE_NAME))
}

/// `<runtime_dir>/gateway.json`, where the running gateway's base URL is
/// published.
pub fn gateway_file() -> Option<PathBuf> {
    runtime_dir().map(|dir| dir.join(GATEWAY_FILE_NAME))
}

/// The directory holding the IPC socket. The server creates it with mode
/// 0700; clients only read it.
pub fn runtime_dir() -> Option<PathBuf> {
    if let Some(dir) = non_empty_env(RUNTIME_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    platform_runtime_dir()
}

/// `<runtime_dir>/ipc.sock`: the Unix domain socket of the IPC server.
pub fn socket_path() -> Option<PathBuf> {
    runtime_dir().map(|dir| dir.join(SOCKET_FILE_NAME))
}

/// `<runtime_dir>\ipc.pipe`: the file in which the IPC server on Windows
/// publishes the name of the pipe it listens on. Only its user can write
/// the runtime directory, so only that user's server can say where it is.
pub fn pipe_file() -> Option<PathBuf> {
    runtime_dir().map(|dir| dir.join(PIPE_FILE_NAME))
}

/// Where the IPC server listens by default, and where clients find it:
/// [`socket_path`] on Unix; on Windows the pipe named by
/// `PATCHBAY_PIPE_NAME` if set, else [`pipe_file`]. `None` when the
/// platform's runtime directory cannot be determined.
pub fn ipc_endpoint() -> Option<PathBuf> {
    #[cfg(windows)]
    {
        if let Some(name) = pipe_name_override() {
            return Some(PathBuf::from(name));
        }
        pipe_file()
    }
    #[cfg(not(windows))]
    {
        socket_path()
    }
}

/// The fixed pipe name `PATCHBAY_PIPE_NAME` asks for (Windows), if any.
#[cfg(windows)]
pub fn pipe_name_override() -> Option<String> {
    pipe_name_override_from(
        non_empty_env(PIPE_NAME_ENV).map(|name| name.to_string_lossy().into_owned()),
    )
}

/// [`pipe_name_override`] without the environment: a full `\\.\pipe\…`
/// name is kept, a bare name gets that prefix, an empty one is no override.
pub fn pipe_name_override_from(value: Option<String>) -> Option<String> {
    let name = value.filter(|name| !name.is_empty())?;
    Some(if is_local_pipe_name(&name) {
        name
    } else {
        format!("{PIPE_PREFIX}{name}")
    })
}

/// `\\.\pipe\patchbay-<user>-<nonce>`: the name a server publishes in
/// [`pipe_file`]. The user part (characters a pipe name cannot hold, `\`
/// and controls, replaced by `_`) only says whose it is; the nonce (128
/// random bits in hex, drawn by the server) is what nobody else can guess.
pub fn published_pipe_name(user: Option<&str>, nonce: &str) -> String {
    let user: String = user
        .filter(|user| !user.is_empty())
        .unwrap_or("user")
        .chars()
        .map(|character| {
            if character == '\\' || character.is_control() {
                '_'
            } else {
                character
            }
        })
        .collect();
    format!("{PIPE_PREFIX}patchbay-{user}-{nonce}")
}

/// Whether `name` starts with `\\.\pipe\` (ASCII case-insensitive, as
/// Windows compares it).
pub fn is_local_pipe_name(name: &str) -> bool {
    name.get(..PIPE_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(PIPE_PREFIX))
}

/// Whether `endpoint` names a pipe, on this machine (`\\.\pipe\…`) or
/// another (`\\host\pipe\…`), rather than a file. Endpoints that are not
/// pipes are published-name files on Windows.
pub fn names_a_pipe(endpoint: &Path) -> bool {
    let Some(text) = endpoint.to_str() else {
        return false;
    };
    let Some(rest) = text.strip_prefix(r"\\") else {
        return false;
    };
    let mut parts = rest.split('\\');
    let host = parts.next().unwrap_or_default();
    let namespace = parts.next();
    !host.is_empty()
        && host != "?"
        && parts.next().is_some()
        && namespace.is_some_and(|namespace| namespace.eq_ignore_ascii_case("pipe"))
}

fn non_empty_env(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|value| !value.is_empty())
}

/// An `XDG_*` variable, honoured only when absolute (the spec says relative
/// values are invalid and must be ignored).
#[cfg(all(unix, not(target_os = "macos")))]
fn xdg_dir(name: &str) -> Option<PathBuf> {
    non_empty_env(name)
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
}

fn home_dir() -> Option<PathBuf> {
    #[cfg(windows)]
    let home = non_empty_env("USERPROFILE");
    #[cfg(not(windows))]
    let home = non_empty_env("HOME");
    home.map(PathBuf::from).filter(|path| path.is_absolute())
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_config_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME").or_else(|| home_dir().map(|home| home.join(".config")))
}

#[cfg(target_os = "macos")]
fn platform_config_dir() -> Option<PathBuf> {
    home_dir().map(|home| home.join("Library").join("Application Support"))
}

#[cfg(windows)]
fn platform_config_dir() -> Option<PathBuf> {
    non_empty_env("APPDATA")
        .map(PathBuf::from)
        .or_else(|| home_dir().map(|home| home.join("AppData").join("Roaming")))
}

#[cfg(not(any(unix, windows)))]
fn platform_config_dir() -> Option<PathBuf> {
    home_dir().map(|home| home.join(".config"))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_runtime_dir() -> Option<PathBuf> {
    if let Some(dir) = xdg_dir("XDG_RUNTIME_DIR") {
        return Some(dir.join("patchbay"));
    }
    // Never a shared directory such as /tmp, where another user could
    // create it first and have host apps talk to their server: the user's
    // own state directory.
    xdg_dir("XDG_STATE_HOME")
        .or_else(|| home_dir().map(|home| home.join(".local").join("state")))
        .map(|dir| dir.join("patchbay").join("run"))
}

#[cfg(target_os = "macos")]
fn platform_runtime_dir() -> Option<PathBuf> {
    // macOS's $TMPDIR is already per user (/var/folders/…).
    Some(env::temp_dir().join("patchbay"))
}

/// Windows: per user (`%LOCALAPPDATA%` is private to its user by default);
/// it holds the file naming the server's pipe and the server's lock file.
#[cfg(windows)]
fn platform_runtime_dir() -> Option<PathBuf> {
    non_empty_env("LOCALAPPDATA")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| home_dir().map(|home| home.join("AppData").join("Local")))
        .map(|dir| dir.join("patchbay"))
}

#[cfg(not(any(unix, windows)))]
fn platform_runtime_dir() -> Option<PathBuf> {
    Some(env::temp_dir().join("patchbay"))
}

/// The process's uid without `libc` (the workspace forbids `unsafe`): the
/// owner of `/proc/self` is the process's effective uid; where there is no
/// procfs, the owner of a file we just created is.
#[cfg(unix)]
pub fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;

    if let Ok(metadata) = std::fs::metadata("/proc/self") {
        return Some(metadata.uid());
    }
    let probe = env::temp_dir().join(format!(".patchbay-uid-probe-{}", std::process::id()));
    let file = std::fs::File::create(&probe).ok()?;
    let uid = file.metadata().ok().map(|metadata| metadata.uid());
    drop(file);
    if let Err(error) = std::fs::remove_file(&probe) {
        // Only a stray empty file is left behind; the uid is still right.
        eprintln!("patchbay: could not remove {}: {error}", probe.display());
    }
    uid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_pipe_names_are_per_user_and_random() {
        assert_eq!(
            published_pipe_name(Some("alice"), "00ff"),
            r"\\.\pipe\patchbay-alice-00ff"
        );
        assert_eq!(
            published_pipe_name(None, "1a"),
            r"\\.\pipe\patchbay-user-1a"
        );
        assert_eq!(
            published_pipe_name(Some("odd\\name\n"), "2b"),
            r"\\.\pipe\patchbay-odd_name_-2b"
        );
    }

    #[test]
    fn the_pipe_name_override_is_full_or_bare() {
        assert_eq!(
            pipe_name_override_from(Some("pbtest-1".to_owned())),
            Some(r"\\.\pipe\pbtest-1".to_owned())
        );
        assert_eq!(
            pipe_name_override_from(Some(r"\\.\PIPE\custom".to_owned())),
            Some(r"\\.\PIPE\custom".to_owned())
        );
        assert_eq!(pipe_name_override_from(Some(String::new())), None);
        assert_eq!(pipe_name_override_from(None), None);
    }

    #[test]
    fn pipes_and_published_name_files_are_told_apart() {
        for pipe in [
            r"\\.\pipe\patchbay-alice",
            r"\\.\PIPE\x",
            r"\\otherhost\pipe\patchbay",
            r"\\.\pipe\",
        ] {
            assert!(names_a_pipe(Path::new(pipe)), "{pipe}");
        }
        for file in [
            r"C:\Users\a\AppData\Local\patchbay\ipc.pipe",
            r"\\?\C:\patchbay\ipc.pipe",
            r"\\server\share\ipc.pipe",
            r"\\server\pipe",
            "/run/user/1/patchbay/ipc.sock",
            "ipc.pipe",
        ] {
            assert!(!names_a_pipe(Path::new(file)), "{file}");
        }
        assert!(is_local_pipe_name(r"\\.\Pipe\a"));
        assert!(!is_local_pipe_name(r"\\host\pipe\a"));
        assert!(!is_local_pipe_name(r"\\."));
    }

    /// The only test of this crate that reads or changes the environment,
    /// so changing it cannot race another test.
    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn overrides_xdg_and_fallbacks() {
        let names = [
            CONFIG_DIR_ENV,
            RUNTIME_DIR_ENV,
            "XDG_CONFIG_HOME",
            "XDG_RUNTIME_DIR",
            "HOME",
        ];
        let saved: Vec<Option<OsString>> = names.iter().map(env::var_os).collect();

        env::set_var(CONFIG_DIR_ENV, "/custom/config");
        env::set_var(RUNTIME_DIR_ENV, "/custom/run");
        assert_eq!(config_dir(), Some(PathBuf::from("/custom/config")));
        assert_eq!(
            config_file(),
            Some(PathBuf::from("/custom/config/providers.json"))
        );
        assert_eq!(socket_path(), Some(PathBuf::from("/custom/run/ipc.sock")));

        env::set_var(CONFIG_DIR_ENV, "");
        env::remove_var(RUNTIME_DIR_ENV);
        env::set_var("XDG_CONFIG_HOME", "/xdg/config");
        env::set_var("XDG_RUNTIME_DIR", "/run/user/4242");
        env::set_var("HOME", "/home/someone");
        assert_eq!(config_dir(), Some(PathBuf::from("/xdg/config/patchbay")));
        assert_eq!(
            runtime_dir(),
            Some(PathBuf::from("/run/user/4242/patchbay"))
        );
        assert_eq!(
            socket_path(),
            Some(PathBuf::from("/run/user/4242/patchbay/ipc.sock"))
        );

        // Relative XDG values are invalid and ignored (XDG spec).
        env::set_var("XDG_CONFIG_HOME", "relative/dir");
        env::remove_var("XDG_RUNTIME_DIR");
        assert_eq!(
            config_dir(),
            Some(PathBuf::from("/home/someone/.config/patchbay"))
        );
        // Without XDG_RUNTIME_DIR: under the user's home, never in /tmp.
        let saved_state = env::var_os("XDG_STATE_HOME");
        env::remove_var("XDG_STATE_HOME");
        assert_eq!(
            runtime_dir(),
            Some(PathBuf::from("/home/someone/.local/state/patchbay/run"))
        );
        env::set_var("XDG_STATE_HOME", "/xdg/state");
        assert_eq!(
            runtime_dir(),
            Some(PathBuf::from("/xdg/state/patchbay/run"))
        );
        match saved_state {
            Some(value) => env::set_var("XDG_STATE_HOME", value),
            None => env::remove_var("XDG_STATE_HOME"),
        }
        let uid = current_uid().expect("uid");
        {
            // The uid is the owner of files this process creates.
            use std::os::unix::fs::MetadataExt;
            let dir = env::temp_dir().join(format!("patchbay-paths-test-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create test dir");
            let owner = std::fs::metadata(&dir).expect("stat").uid();
            std::fs::remove_dir(&dir).expect("remove test dir");
            assert_eq!(uid, owner);
        }

        env::remove_var("XDG_CONFIG_HOME");
        env::remove_var("HOME");
        assert_eq!(config_dir(), None);

        for (name, value) in names.iter().zip(saved) {
            match value {
                Some(value) => env::set_var(name, value),
                None => env::remove_var(name),
            }
        }
    }
}
