#!/usr/bin/env bash
# Installs what Hearth needs on a Debian/Ubuntu machine, idempotently.
# Usage: scripts/setup.sh            (build + run)
#        scripts/setup.sh --test     (also what the test suite needs)
set -euo pipefail

# The desktop app (Tauri v2) builds against WebKitGTK; its tray needs
# libayatana-appindicator.
packages=(build-essential pkg-config ca-certificates curl libwebkit2gtk-4.1-dev libayatana-appindicator3-dev)
if [[ "${1:-}" == "--test" ]]; then
  # The keychain tests use a real Secret Service (gnome-keyring on a private
  # D-Bus); the desktop window runs under Xvfb and is driven by
  # WebKitWebDriver; the web client's tests use Debian's Chromium, driven by
  # playwright-core from npm. The Redis backend's tests start their own
  # redis-server. The mDNS tests run in a private network namespace
  # (unshare from util-linux, ip from iproute2).
  # The platform window test closes the window through libX11 (python3
  # ctypes) and stands in for a notification server (python3-dbus, -gi).
  packages+=(procps chromium dbus gnome-keyring xvfb xauth webkit2gtk-driver redis-server util-linux iproute2 openssl)
  packages+=(python3 python3-dbus python3-gi libx11-6)
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: Rust is not installed. Install it with rustup (https://rustup.rs), Rust 1.90 or newer, then run this again." >&2
  exit 1
fi
need="1.90"
have=$(rustc --version | awk '{print $2}')
if [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]]; then
  echo "setup: Rust $have is too old; Hearth needs $need or newer (rustup update)." >&2
  exit 1
fi
if [[ "${1:-}" == "--test" ]]; then
  node_major=$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')
  if [[ -z "$node_major" || "$node_major" -lt 20 ]]; then
    echo "setup: the browser tests need Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
    exit 1
  fi
  npm ci --prefix e2e --no-audit --no-fund --loglevel=error
  # tauri-driver bridges WebDriver to WebKitWebDriver for the desktop window.
  if ! command -v tauri-driver >/dev/null 2>&1 && [[ ! -x "$HOME/.cargo/bin/tauri-driver" ]]; then
    cargo install tauri-driver --locked --version '^2'
  fi
  # --- S3-compatible server for the file store's cluster tests (begin) ---
  # hearth-testkit's S3Server runs `python3 -m moto.server` on loopback.
  moto_version="5.2.1"
  if [[ "$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$moto_version" ]] \
    || ! python3 -c 'import flask, flask_cors' >/dev/null 2>&1; then
    python3 -m pip --version >/dev/null 2>&1 || {
      sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
      $sudo apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip
    }
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$moto_version" \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "moto[server]==$moto_version"
  fi
  # --- S3-compatible server (end) ---
  for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
      rustup component add "$component"
    fi
  done
fi
