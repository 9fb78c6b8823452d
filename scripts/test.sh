#!/usr/bin/env bash
# Runs every Patchbay test on a Debian/Ubuntu machine, installing what is
# missing first. The end-to-end and keychain tests need real components, so
# this script starts them and stops them afterwards:
#   - a private D-Bus session bus with an unlocked gnome-keyring (Secret Service),
#   - Xvfb (the app's real window), WebKitWebDriver via tauri-driver (started by the tests).
# Nothing touches your own keyring or config: HOME, XDG dirs and Patchbay's
# config/runtime dirs all point into a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"

# Keep the toolchain where it is while HOME moves to a sandbox.
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

started=$(date +%s)
echo "== format (cargo fmt --check)"
cargo fmt --all --check

echo "== build (one build of every crate, the app included)"
cargo build --workspace --all-targets --locked

sandbox=$(mktemp -d)
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/home" "$sandbox/run" "$sandbox/config" "$sandbox/data"
chmod 700 "$sandbox/run"

echo "== tests (private D-Bus session + gnome-keyring + Xvfb)"
HOME="$sandbox/home" \
XDG_RUNTIME_DIR="$sandbox/run" \
XDG_CONFIG_HOME="$sandbox/config" \
XDG_DATA_HOME="$sandbox/data" \
PATCHBAY_TEST_SANDBOX="$sandbox" \
dbus-run-session -- bash -c '
  set -euo pipefail
  printf %s patchbay-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked --no-fail-fast
'

echo "== all tests passed in $(( $(date +%s) - started )) s"
