#!/usr/bin/env bash
# Builds the desktop app's Linux packages (.deb and .rpm) with the Tauri CLI.
# Usage: scripts/bundle.sh [--debug] [--bundles deb,rpm,appimage]
# Output: target/{release,debug}/bundle/deb/Hearth_<version>_<arch>.deb
#         target/{release,debug}/bundle/rpm/Hearth-<version>-1.<arch>.rpm
# (both made offline by the bundler itself)
#
# The Tauri CLI wants tauri.conf.json next to the app's Cargo.toml; ours sits
# at the repo root beside the workspace manifest. So for the build we link
# src-tauri/tauri.conf.json to it, and pass absolute frontendDist and icon
# paths (the CLI resolves them from src-tauri, codegen from the root).
# AppImage needs linuxdeploy, which the CLI downloads from the internet: it
# works on a connected machine (or the CI workflow), not in a closed sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh
[[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
npm ci --no-audit --no-fund --loglevel=error

profile=()
bundles=deb,rpm
while (($#)); do
  case "$1" in
    --debug) profile=(--debug) ;;
    --bundles) bundles="$2"; shift ;;
    *) echo "bundle.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

link=src-tauri/tauri.conf.json
ln -sf ../tauri.conf.json "$link"
trap 'rm -f "$root/$link"' EXIT
icons=$(printf "\"%s/icons/%s\"," "$root" 32x32.png "$root" 128x128.png "$root" 128x128@2x.png "$root" icon.png)
# The .desktop template passes the hearth:// link on (Exec=Hearth %u).
desktop="$root/src-tauri/linux/hearth.desktop"
config=$(printf '{"build":{"frontendDist":"%s/ui"},"bundle":{"icon":[%s],"linux":{"deb":{"desktopTemplate":"%s"},"rpm":{"desktopTemplate":"%s"}}}}' \
  "$root" "${icons%,}" "$desktop" "$desktop")
TAURI_APP_PATH=src-tauri npx tauri build "${profile[@]}" --bundles "$bundles" --config "$config"
find target -path '*/bundle/*' \( -name '*.deb' -o -name '*.rpm' -o -name '*.AppImage' \) -newer "$root/tauri.conf.json" -print
