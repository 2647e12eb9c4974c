#!/usr/bin/env bash
# Installs the nginx + nchan peer of the benchmark (Debian/Ubuntu packages
# `nginx` and `libnginx-mod-nchan`), only when missing. Idempotent.
#
# Debian starts an nginx service on port 80 when the package is installed;
# the benchmark never uses it (bench/peers/nchan/run.sh starts its own nginx
# on a loopback port), so this script stops and disables that service.
set -euo pipefail

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

module_present() {
  [[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ]] || [[ -f /usr/share/nginx/modules/ngx_nchan_module.so ]]
}

if command -v nginx >/dev/null 2>&1 && module_present; then
  echo "nchan peer: nginx and the nchan module are installed"
  exit 0
fi

echo "nchan peer: installing nginx and libnginx-mod-nchan"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq nginx libnginx-mod-nchan >/dev/null

# Stop the distribution's own nginx service if the install started it.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
else
  $SUDO service nginx stop >/dev/null 2>&1 || true
fi
if module_present; then
  echo "nchan peer: installed $(nginx -v 2>&1)"
else
  echo "nchan peer: the nchan module was not found after install" >&2
  exit 1
fi
