#!/usr/bin/env bash
# The desktop app's memory (issue 17): installs what is missing (Xvfb,
# D-Bus, gnome-keyring; apt-get, only when absent), builds the release app
# as `tauri build` does (feature tauri/custom-protocol), the server and
# hearth-bench, then runs `hearth-bench desktop` under a private D-Bus
# session with an unlocked keyring (as scripts/test.sh runs the window
# tests). Results: bench/results/<date>-desktop/ (JSON; logs and
# screenshots in its logs/, which git ignores).
#
# Usage: bash bench/desktop.sh [mode] [hearth-bench desktop flags...]
#   (no mode)  before (every memory lever off: HEARTH_MEMORY_DEFAULTS=all)
#              and after (all on), full runs (home screen, 300 messages,
#              +1,000 at 2/s); the chart docs/desktop-memory.svg
#   levers     the home screen and the room with 300 messages with no lever,
#              every lever, each lever alone, and all but compositing or
#              gdk-gl (which overlap): the lever table
#   soak N     one full-levers run that posts 1 message/s for N minutes,
#              a sample a minute into <out>/soak.json (flushed as it goes)
#              and its chart in docs/desktop-soak.svg
#   once       one run with the flags given (e.g. --app-env K=V --label x)
# Environment: DESKTOP_OUT (result dir), DESKTOP_SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-}"
[[ $# -gt 0 ]] && shift
out="${DESKTOP_OUT:-bench/results/$(date -u +%Y-%m-%d)-desktop}"
mkdir -p "$out/logs"

missing=()
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v dbus-run-session >/dev/null || missing+=(dbus)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
/usr/bin/python3 -c 'import gi' 2>/dev/null || missing+=(python3-gi gir1.2-gtk-3.0)
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "desktop: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
if [[ "${DESKTOP_SKIP_BUILD:-}" != 1 ]]; then
  cargo build --release --locked -p hearth-desktop --features tauri/custom-protocol
  cargo build --release --locked -p hearth-server --bin hearth -p hearth-bench --bin hearth-bench
fi

# A private session bus with an unlocked keyring, as on a desktop.
bench() {
  local keyring_home
  keyring_home=$(mktemp -d)
  XDG_DATA_HOME="$keyring_home" dbus-run-session -- sh -c \
    'printf hearth-bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$@"' \
    sh target/release/hearth-bench desktop --out "$out" "$@"
  rm -rf "$keyring_home"
}

case "$mode" in
  "")
    bench --json before.json --label "before" --app-env HEARTH_MEMORY_DEFAULTS=all --screenshots "$@"
    bench --json after.json --label "after" --screenshots "$@"
    target/release/hearth-bench desktop --chart-from "$out/before.json" --chart-from "$out/after.json" \
      --svg docs/desktop-memory.svg
    ;;
  levers)
    # Each lever alone (from no lever), and the two that overlap left out
    # of all the others.
    levers=(compositing gdk-gl web-features cache-model arenas trim)
    common=(--more 0 --startup-runs 1)
    bench "${common[@]}" --json lever-none.json --label "no lever" --app-env HEARTH_MEMORY_DEFAULTS=all "$@"
    bench "${common[@]}" --json lever-all.json --label "all levers" "$@"
    for lever in "${levers[@]}"; do
      others=$(printf '%s\n' "${levers[@]}" | grep -vx "$lever" | paste -sd,)
      bench "${common[@]}" --json "lever-only-$lever.json" --label "only $lever" \
        --app-env "HEARTH_MEMORY_DEFAULTS=$others" "$@"
    done
    for lever in compositing gdk-gl; do
      bench "${common[@]}" --json "lever-without-$lever.json" --label "all but $lever" \
        --app-env "HEARTH_MEMORY_DEFAULTS=$lever" "$@"
    done
    ;;
  soak)
    minutes="${1:?soak needs a number of minutes}"
    shift
    bench --json soak.json --label "soak" --startup-runs 1 --soak-minutes "$minutes" --screenshots \
      --soak-svg docs/desktop-soak.svg "$@"
    ;;
  once)
    bench "$@"
    ;;
  *)
    echo "desktop.sh: unknown mode $mode (none, levers, soak N, once)" >&2
    exit 2
    ;;
esac
