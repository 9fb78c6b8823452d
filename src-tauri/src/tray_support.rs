//! Linux: can a tray icon be shown here? Two questions, answered without
//! loading anything (the tray crate panics when its library is missing, and
//! the workspace forbids the `unsafe` a `dlopen` of our own would need):
//!
//! 1. Is the AppIndicator library installed? The same file names the tray
//!    crate loads (`libayatana-appindicator3.so.1`, `libappindicator3.so.1`,
//!    and the unversioned names), looked up where the dynamic loader looks:
//!    `LD_LIBRARY_PATH`, the directories of `/etc/ld.so.conf` (and the files
//!    it includes), and the default directories.
//! 2. Does a tray host run? Tray icons are StatusNotifierItems; a desktop
//!    that shows them owns `org.kde.StatusNotifierWatcher` on the session
//!    bus (KDE, Xfce, Cinnamon, MATE, GNOME with the AppIndicator
//!    extension). Stock GNOME does not.

use std::path::{Path, PathBuf};

/// The names the tray crate (`libappindicator-sys`) tries, in its order.
const LIBRARY_NAMES: &[&str] = &[
    "libayatana-appindicator3.so.1",
    "libappindicator3.so.1",
    "libayatana-appindicator3.so",
    "libappindicator3.so",
];

const DEFAULT_DIRS: &[&str] = &["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"];

/// The installed AppIndicator library, or why there is none.
pub(crate) fn appindicator_library() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    dirs.extend(ld_so_conf_dirs(Path::new("/etc/ld.so.conf"), 0));
    dirs.extend(DEFAULT_DIRS.iter().map(PathBuf::from));
    find_library(&dirs).ok_or_else(|| {
        "the AppIndicator library is not installed (package libayatana-appindicator3-1)".to_owned()
    })
}

fn find_library(dirs: &[PathBuf]) -> Option<PathBuf> {
    LIBRARY_NAMES.iter().find_map(|name| {
        dirs.iter()
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The directories an `ld.so.conf` names, following `include` lines (with
/// `*` globs in the file name only, as Debian's `ld.so.conf.d/*.conf`).
fn ld_so_conf_dirs(file: &Path, depth: usize) -> Vec<PathBuf> {
    if depth > 4 {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include") {
            for included in expand(pattern.trim()) {
                dirs.extend(ld_so_conf_dirs(&included, depth + 1));
            }
        } else if line.starts_with('/') {
            dirs.push(PathBuf::from(line));
        }
    }
    dirs
}

/// `dir/*.conf` → the matching files, sorted; a plain path → itself.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![path.to_path_buf()];
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|candidate| {
            candidate
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| {
                    n.starts_with(prefix)
                        && n.ends_with(suffix)
                        && n.len() >= prefix.len() + suffix.len()
                })
        })
        .collect();
    files.sort();
    files
}

/// `Ok` when a tray host owns `org.kde.StatusNotifierWatcher`.
pub(crate) fn status_notifier_host() -> Result<(), String> {
    let connection = zbus::blocking::Connection::session()
        .map_err(|error| format!("no session bus to show a tray icon on ({error})"))?;
    let proxy = zbus::blocking::fdo::DBusProxy::new(&connection)
        .map_err(|error| format!("the session bus did not answer ({error})"))?;
    let name = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher")
        .map_err(|error| error.to_string())?;
    match proxy.name_has_owner(name) {
        Ok(true) => Ok(()),
        Ok(false) => Err(
            "nothing on this desktop shows tray icons (no StatusNotifierWatcher on the session bus; on GNOME, the AppIndicator extension adds one)"
                .to_owned(),
        ),
        Err(error) => Err(format!("the session bus did not answer ({error})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ld_so_conf_includes_are_followed_and_the_library_found() {
        let root = tempfile::tempdir().expect("temp dir");
        let conf_d = root.path().join("ld.so.conf.d");
        let lib_dir = root.path().join("multiarch");
        std::fs::create_dir_all(&conf_d).expect("conf.d");
        std::fs::create_dir_all(&lib_dir).expect("lib dir");
        let conf = root.path().join("ld.so.conf");
        std::fs::write(
            &conf,
            format!("# comment\ninclude {}/*.conf\n", conf_d.display()),
        )
        .expect("conf");
        std::fs::write(
            conf_d.join("x86_64-linux-gnu.conf"),
            format!("{}\n", lib_dir.display()),
        )
        .expect("included conf");
        std::fs::write(conf_d.join("README"), "/not/this\n").expect("readme");
        let dirs = ld_so_conf_dirs(&conf, 0);
        assert_eq!(dirs, vec![lib_dir.clone()]);
        assert_eq!(find_library(&dirs), None);
        std::fs::write(lib_dir.join("libappindicator3.so.1"), b"").expect("library");
        assert_eq!(
            find_library(&dirs),
            Some(lib_dir.join("libappindicator3.so.1"))
        );
        // Ayatana comes first when both are there, as the tray crate loads it.
        std::fs::write(lib_dir.join("libayatana-appindicator3.so.1"), b"").expect("library");
        assert_eq!(
            find_library(&dirs),
            Some(lib_dir.join("libayatana-appindicator3.so.1"))
        );
    }
}
