#!/usr/bin/env bash
# Builds and opens the Patchbay settings window, installing what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
export PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run-app: no display found (DISPLAY / WAYLAND_DISPLAY unset). Run this from a desktop session, or under Xvfb: xvfb-run -a $0" >&2
  exit 1
fi
exec cargo run --locked -p patchbay-app "$@"
