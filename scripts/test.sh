#!/usr/bin/env bash
# Runs every Patchbay test on a Debian/Ubuntu machine, installing what is
# missing first. The end-to-end and keychain tests need real components, so
# this script starts them and stops them afterwards:
#   - a private D-Bus session bus with an unlocked gnome-keyring (Secret Service),
#   - Xvfb (the app's real window), WebKitWebDriver via tauri-driver (started by the tests),
#   - Wine, for the IPC server and client on Windows: the ipc, client and protocol test
#     binaries are cross-built for x86_64-pc-windows-gnu and run on real named pipes.
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

echo "== Windows: named pipes under Wine (cross-built for x86_64-pc-windows-gnu)"
windows_started=$(date +%s)
windows_target=x86_64-pc-windows-gnu
# One build, so the five packages resolve features once: the CLI is built
# (not run); protocol, ipc and client run whole; patchbay-core runs its
# Credential Manager tests (keychain_windows: set, get, replace, delete).
windows_tests=$(cargo test --no-run --locked --target "$windows_target" \
    -p patchbay-protocol -p patchbay-ipc -p patchbay-client -p patchbay-cli -p patchbay-core \
    --message-format=json-render-diagnostics | python3 -c '
import json, os, sys
filters = {"patchbay-protocol": "", "patchbay-ipc": "", "patchbay-client": "", "patchbay-core": "keychain_windows::"}
for line in sys.stdin:
    message = json.loads(line)
    package = os.path.basename(os.path.dirname(message.get("manifest_path", "")))
    target = message.get("target", {}).get("name", "")
    is_test = message.get("profile", {}).get("test", False)
    if not (is_test and message.get("executable") and package in filters):
        continue
    # patchbay-core: only its integration binary, and in it the Windows keychain tests.
    if package == "patchbay-core" and target != "it":
        continue
    print(message["executable"] + ("@" + filters[package] if filters[package] else ""))
')
# A private Wine prefix in the sandbox (never ~/.wine); created once, ~8 s.
# Wine 8 lacks bcryptprimitives.dll (Rust's std needs ProcessPrng from it):
# a tiny shim (scripts/wine/) goes into the prefix's system32.
export WINEPREFIX="$sandbox/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
HOME="$sandbox/home" wineboot --init >/dev/null 2>&1
x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32
windows_failed=0
windows_count=0
for test_spec in $windows_tests; do
  test_binary=${test_spec%@*}
  test_filter=()
  if [ "$test_spec" != "$test_binary" ]; then test_filter=("${test_spec#*@}"); fi
  echo "-- wine $(basename "$test_binary") ${test_filter[*]}"
  if output=$(HOME="$sandbox/home" wine "$test_binary" "${test_filter[@]}" 2>&1); then
    printf '%s\n' "$output" | grep -E '^test result' || true
  else
    windows_failed=1
    printf '%s\n' "$output"
  fi
  windows_count=$(( windows_count + $(printf '%s\n' "$output" | grep -cE '^test .* ok$' || true) ))
  if [ ${#test_filter[@]} -gt 0 ] && ! grep -qE "^test ${test_filter[0]}.* ok$" <<<"$output"; then
    echo "no ${test_filter[0]} test ran in $(basename "$test_binary")" >&2
    windows_failed=1
  fi
done
wineserver -k || true
if [ "$windows_failed" -ne 0 ] || [ -z "$windows_tests" ]; then
  echo "== Windows tests FAILED" >&2
  exit 1
fi
echo "== Windows: $windows_count tests passed under Wine in $(( $(date +%s) - windows_started )) s"

echo "== packages: .deb and .rpm bundled from the debug build; install, run, remove"
package_started=$(date +%s)
bash scripts/check-package.sh
echo "== packages checked in $(( $(date +%s) - package_started )) s"

echo "== all tests passed in $(( $(date +%s) - started )) s"
