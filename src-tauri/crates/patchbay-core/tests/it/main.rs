//! patchbay-core's integration tests: one binary. `keychain` needs a real
//! Secret Service; run the whole binary inside a private D-Bus session with
//! an unlocked gnome-keyring:
//!
//! ```sh
//! HOME=$(mktemp -d) dbus-run-session -- sh -c 'echo -n pw | \
//!   gnome-keyring-daemon --unlock --components=secrets >/dev/null; \
//!   exec cargo test -p patchbay-core'
//! ```
//!
//! (keep `RUSTUP_HOME`/`CARGO_HOME` pointing at the real toolchain when
//! `HOME` changes). The other modules use temp directories and, where a
//! test is about other processes, re-run this binary as a child process.

mod config;
mod entries;
#[cfg(unix)]
mod keychain;
#[cfg(windows)]
mod keychain_windows;
mod origin;
mod store;
mod support;
