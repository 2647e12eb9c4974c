#!/usr/bin/env bash
# Builds and starts the headless Hearth server on port 8989 (all set-up included).
# Usage: scripts/serve.sh [hearth serve flags...]   e.g. scripts/serve.sh --password sesame
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
cargo build --release --locked -p hearth-server --bin hearth
exec ./target/release/hearth serve "$@"
