#!/usr/bin/env bash
# CI's package check (called by scripts/test.sh after the tests): bundles the
# debug build already made into a .deb and an .rpm, installs the .deb with
# apt-get (which resolves its dependencies), checks `patchbay --version`, the
# desktop entry, the icons and the declared tray library, opens the installed
# app under Xvfb (screenshot must not be blank), starts it in the background
# (it hands over to the installed CLI's `serve --resident`), quits it, then
# removes the package and checks that the user's config and keychain item
# are still there.
# Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

bash scripts/package.sh --debug
deb=$(ls -t "$CARGO_TARGET_DIR"/debug/bundle/deb/*.deb | head -1)
rpm_file=$(ls -t "$CARGO_TARGET_DIR"/debug/bundle/rpm/*.rpm | head -1)
echo "== built $(basename "$deb") ($(du -h "$deb" | cut -f1)) and $(basename "$rpm_file") ($(du -h "$rpm_file" | cut -f1))"

fail() { echo "package check FAILED: $*" >&2; exit 1; }

# What the packages hold and declare.
deb_files=$(dpkg-deb -c "$deb")
for wanted in usr/bin/patchbay-app usr/bin/patchbay usr/share/applications/Patchbay.desktop; do
  grep -qE " (\./)?$wanted\$" <<<"$deb_files" || fail "the .deb has no /$wanted"
done
for size in 16 32 48 64 128 256 512; do
  grep -qE " (\./)?usr/share/icons/hicolor/${size}x${size}/apps/patchbay-app.png\$" <<<"$deb_files" \
    || fail "the .deb has no ${size}×${size} icon"
done
grep -q libayatana-appindicator3-1 <<<"$(dpkg-deb -f "$deb" Depends)" || fail "the .deb does not depend on the tray library"
rpm_requires=$(rpm -qp --requires "$rpm_file" 2>/dev/null)
grep -q libayatana-appindicator-gtk3 <<<"$rpm_requires" || fail "the .rpm does not require the tray library"
rpm_files=$(rpm -qpl "$rpm_file" 2>/dev/null)
grep -qx /usr/bin/patchbay <<<"$rpm_files" || fail "the .rpm has no /usr/bin/patchbay"
package=$(dpkg-deb -f "$deb" Package)

echo "== apt-get install ./$(basename "$deb")"
cp "$deb" /tmp/patchbay-check.deb
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq /tmp/patchbay-check.deb >/dev/null
trap 'DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get remove -y -qq "$package" >/dev/null 2>&1 || true' EXIT

[ "$(command -v patchbay)" = /usr/bin/patchbay ] || fail "patchbay is not on the PATH"
grep -q "^patchbay " <<<"$(/usr/bin/patchbay --version)" || fail "patchbay --version"
grep -q "^Patchbay " <<<"$(/usr/bin/patchbay-app --version)" || fail "patchbay-app --version"
desktop=$(dpkg -L "$package" | grep '^/usr/share/applications/.*\.desktop$' | head -1)
[ -n "$desktop" ] || fail "no desktop entry installed"
desktop-file-validate "$desktop" || fail "the desktop entry does not validate"
exec_line=$(grep '^Exec=' "$desktop")
exec_binary=${exec_line#Exec=}; exec_binary=${exec_binary%% *}
command -v "$exec_binary" >/dev/null || fail "the desktop entry runs $exec_binary, which is not installed"
icon=$(grep '^Icon=' "$desktop" | cut -d= -f2)
ls /usr/share/icons/hicolor/*/apps/"$icon".png >/dev/null || fail "no icon named $icon"
echo "   $desktop: $exec_line, icon $icon in $(ls -d /usr/share/icons/hicolor/*/apps/"$icon".png | wc -l) sizes"

echo "== the installed app, under Xvfb with a private keychain"
world=$(mktemp -d)
mkdir -p "$world/home" "$world/run" "$world/config"
chmod 700 "$world/run"
HOME="$world/home" XDG_RUNTIME_DIR="$world/run" XDG_CONFIG_HOME="$world/config" \
XDG_DATA_HOME="$world/home/.local/share" PATCHBAY_GATEWAY_ADDR=127.0.0.1:0 \
SUDO="${sudo_cmd[*]}" PACKAGE="$package" EXEC_BINARY="$exec_binary" WORLD="$world" \
dbus-run-session -- bash -c '
  set -euo pipefail
  fail() { echo "package check FAILED: $*" >&2; exit 1; }
  printf %s patchbay-test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  printf "sk-package-check-0123456789\n" | patchbay provider add --label "Package Check" \
    --base-url https://api.example.com/v1 --model m1 --api-key-stdin >/dev/null
  # Read whole, then grep: under pipefail, `grep -q` closing the pipe early
  # would fail the pipeline with secret-tool'"'"'s SIGPIPE.
  items=$(secret-tool search --all service patchbay 2>&1)
  grep -q "patchbay-origin" <<<"$items" || fail "the key is not in the keychain"
  xvfb-run -a -s "-screen 0 1024x700x24" bash -c "
    \"$EXEC_BINARY\" & app=\$!
    for _ in \$(seq 1 100); do
      [ -S \"$WORLD/run/patchbay/ipc.sock\" ] && break; sleep 0.2
    done
    sleep 3
    import -window root \"$WORLD/shot.png\"
    \"$EXEC_BINARY\" --quit
    wait \$app
  "
  colours=$(/usr/bin/convert "$WORLD/shot.png" -format %k info:)
  [ "$colours" -gt 50 ] || fail "the installed app drew a blank window ($colours colours)"
  echo "   window drawn ($colours colours); screenshot: $WORLD/shot.png"
  mkdir -p '"$CARGO_TARGET_DIR"'/debug/screenshots && cp "$WORLD/shot.png" '"$CARGO_TARGET_DIR"'/debug/screenshots/installed-app.png

  # A login start: the installed app hands over to the installed CLI.
  "$EXEC_BINARY" --background
  for _ in $(seq 1 100); do
    [ -S "$WORLD/run/patchbay/ipc.sock" ] && break; sleep 0.1
  done
  [ -S "$WORLD/run/patchbay/ipc.sock" ] || fail "patchbay-app --background serves nothing"
  holder=$(cat "$WORLD/run/patchbay/app.sock.lock")
  [ "$(readlink "/proc/$holder/exe")" = /usr/bin/patchbay ] \
    || fail "the background server is $(readlink "/proc/$holder/exe"), not /usr/bin/patchbay"
  echo "   background server: /usr/bin/patchbay serve --resident ($(grep VmRSS "/proc/$holder/status" | tr -s " "))"
  "$EXEC_BINARY" --quit >/dev/null
  for _ in $(seq 1 100); do
    [ -e "$WORLD/run/patchbay/ipc.sock" ] || break; sleep 0.1
  done
  [ ! -e "$WORLD/run/patchbay/ipc.sock" ] || fail "--quit left the background server serving"

  echo "== apt-get remove"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq "$PACKAGE" >/dev/null
  ! command -v patchbay >/dev/null || fail "patchbay is still installed"
  [ -s "$XDG_CONFIG_HOME/patchbay/providers.json" ] || fail "removing the package removed the config"
  grep -q package-check "$XDG_CONFIG_HOME/patchbay/providers.json" || fail "the config lost the provider"
  items=$(secret-tool search --all service patchbay 2>&1)
  grep -q "patchbay-origin" <<<"$items" || fail "removing the package removed the keychain item"
  echo "   config and keychain item kept"
'
trap - EXIT
rm -rf "$world"
echo "== package check passed"
