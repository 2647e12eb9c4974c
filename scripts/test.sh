#!/usr/bin/env bash
# The whole test suite, with all set-up: format, lints, every test.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
[[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test (on a private D-Bus with an unlocked gnome-keyring, for the keychain tests)"
keyring_home=$(mktemp -d)
XDG_DATA_HOME="$keyring_home" dbus-run-session -- sh -c \
  'printf hearth-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec cargo test --workspace --locked' \
  2>&1 | tee -a "$log"
rm -rf "$keyring_home"
echo "== the protocol suite again, every server on the Redis backend (each test starts its own redis-server)"
HEARTH_TEST_BACKEND=redis cargo test --locked -p hearth-server --test api -- --skip cluster:: --skip cluster_files:: 2>&1 | tee -a "$log"
echo "== UI unit tests (node --test)"
(node --test e2e/unit/) 2>&1 | tee -a "$log"
echo "== chaos soak: clients chat while nodes, connections and Redis fail (60 s per backend)"
cargo build --locked -p hearth-server --bin hearth -p hearth-soak --bin hearth-soak
for backend in embedded redis; do
  target/debug/hearth-soak --backend "$backend" --seconds "${SOAK_SECONDS:-60}" 2>&1 | tee -a "$log"
  echo "# pass 1" >>"$log"
done
echo "== browser tests: the web client in headless Chromium"
cargo build --locked -p hearth-server --bin hearth -p hearth-desktop --bin hearth-desktop
(cd e2e && node --test --test-concurrency=1 tests/) 2>&1 | tee -a "$log"
echo "== desktop tests: the app's real window under Xvfb, via tauri-driver"
keyring_home=$(mktemp -d)
(cd e2e && XDG_DATA_HOME="$keyring_home" dbus-run-session -- sh -c \
  'printf hearth-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
   exec xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-concurrency=1 desktop/') 2>&1 | tee -a "$log"
rm -rf "$keyring_home"

# One closing line for every suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "all suites: %d passed, %d failed\n", p, f }' "$log"
