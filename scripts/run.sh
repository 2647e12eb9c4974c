#!/usr/bin/env bash
# Builds and opens the Hearth desktop app (all set-up included).
# Usage: scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
cargo build --release --locked -p hearth-desktop
if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  echo "run.sh: built target/release/hearth-desktop, but there is no display to open it on." >&2
  echo "run.sh: on a machine without a desktop, run the server alone: scripts/serve.sh" >&2
  exit 1
fi
exec ./target/release/hearth-desktop "$@"
