#!/usr/bin/env bash
# Installs what Patchbay needs on a fresh Debian/Ubuntu machine, and nothing
# that is already there. Idempotent: both README commands call it first.
#
#   scripts/setup.sh app    packages to build and run the app
#   scripts/setup.sh package  also Node.js and npm (the Tauri CLI comes from the npm registry)
#   scripts/setup.sh test   also Xvfb, a Secret Service, WebKitWebDriver, tauri-driver,
#                           and for the Windows step (named pipes, under Wine): MinGW,
#                           Wine, the x86_64-pc-windows-gnu Rust target
set -euo pipefail

mode=${1:-app}

# libayatana-appindicator3-1: the tray icon's library, loaded at run time.
build_packages=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev librsvg2-dev
  libayatana-appindicator3-1)
# The package step: the Tauri CLI runs on Node.js; desktop-file-utils checks
# the installed desktop entry; systemd-analyze checks the user unit; rpm
# reads the .rpm back.
package_packages=(desktop-file-utils systemd rpm)
test_packages=(xvfb xauth webkit2gtk-driver gnome-keyring libsecret-tools dbus imagemagick
  gcc-mingw-w64-x86-64 wine64 wine "${package_packages[@]}")

packages=("${build_packages[@]}")
if [ "$mode" = test ]; then
  packages+=("${test_packages[@]}")
elif [ "$mode" = package ]; then
  packages+=("${package_packages[@]}")
fi

# Node.js and npm: only when there is no npm at all (a machine may have them
# from outside Debian, whose packages would conflict).
if [ "$mode" != app ] && ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: Rust is not installed. Install it from https://rustup.rs (Rust 1.90 or newer), then run this again." >&2
    exit 1
  fi
fi

windows_target=x86_64-pc-windows-gnu
if [ "$mode" = test ] && ! rustup target list --installed 2>/dev/null | grep -qx "$windows_target"; then
  if ! command -v rustup >/dev/null 2>&1; then
    echo "setup: the Windows tests need the $windows_target Rust target, and rustup is not installed to add it." >&2
    exit 1
  fi
  echo "setup: adding the Rust target $windows_target"
  rustup target add "$windows_target"
fi

if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
