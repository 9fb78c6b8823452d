#!/usr/bin/env bash
# Builds Patchbay's installable packages with Tauri's bundler (the Tauri CLI
# from the npm registry: a prebuilt binary, nothing compiled):
#
#   scripts/package.sh           release build of the app and the CLI, then bundle
#   scripts/package.sh --debug   bundle the debug build that is already there (CI)
#
# What each platform makes (each runs this same command on its own OS):
#   Linux    .deb and .rpm (AppImage tooling downloads at build time: not made here)
#   macOS    .app and .dmg  (not run by our CI: no Darwin toolchain here)
#   Windows  NSIS .exe and .msi, from Git Bash (not run by our CI either)
#
# Each package installs the app (`patchbay-app`), the `patchbay` CLI beside
# it (on the PATH on Linux: /usr/bin), the desktop entry and the icons; the
# .deb and .rpm declare the tray's AppIndicator library as a dependency.
# The packages land in target/<profile>/bundle/<format>/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

profile=release
if [ "${1:-}" = --debug ]; then
  profile=debug
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/package.sh [--debug]" >&2
  exit 2
fi

bash scripts/setup.sh package
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}

case "$(uname -s)" in
  Linux) bundles=deb,rpm; cli=patchbay ;;
  Darwin) bundles=app,dmg; cli=patchbay ;;
  MINGW*|MSYS*|CYGWIN*) bundles=nsis,msi; cli=patchbay.exe ;;
  *) echo "package: no bundle formats known for $(uname -s)" >&2; exit 1 ;;
esac

if [ "$profile" = release ]; then
  echo "== cargo build --release (the app and the CLI)"
  cargo build --release --locked -p patchbay-app -p patchbay-cli --features patchbay-app/custom-protocol
fi
for binary in patchbay-app "$cli"; do
  if [ ! -x "$CARGO_TARGET_DIR/$profile/$binary" ] && [ ! -x "$CARGO_TARGET_DIR/$profile/$binary.exe" ]; then
    echo "package: $CARGO_TARGET_DIR/$profile/$binary is missing; build it first (cargo build -p patchbay-app -p patchbay-cli)" >&2
    exit 1
  fi
done

echo "== the Tauri CLI (npm registry, pinned in scripts/bundle/package-lock.json)"
(cd scripts/bundle && npm ci --no-audit --no-fund --loglevel=error)
tauri="$repo/scripts/bundle/node_modules/.bin/tauri"

# The CLI goes beside the app; its path depends on the profile and target dir.
cli_path="$CARGO_TARGET_DIR/$profile/$cli"
overrides=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/patchbay":"%s"}},"rpm":{"files":{"/usr/bin/patchbay":"%s"}}},"macOS":{"files":{"MacOS/patchbay":"%s"}}}}' \
  "$cli_path" "$cli_path" "$cli_path")

echo "== tauri bundle ($profile: $bundles)"
flags=(--bundles "$bundles" --config "$overrides" --ci)
if [ "$profile" = debug ]; then flags+=(--debug); fi
(cd src-tauri && "$tauri" bundle "${flags[@]}")

echo "== packages"
find "$CARGO_TARGET_DIR/$profile/bundle" -maxdepth 2 -type f \( -name '*.deb' -o -name '*.rpm' -o -name '*.dmg' -o -name '*.msi' -o -name '*-setup.exe' \) -newer Cargo.lock -print 2>/dev/null \
  || find "$CARGO_TARGET_DIR/$profile/bundle" -maxdepth 2 -type f -print
