#!/usr/bin/env bash
# Runs the nginx + nchan peer in the foreground on 127.0.0.1:PORT, with its
# config, pid file and logs in PREFIX (created; a directory in /tmp).
# Usage: bench/peers/nchan/run.sh PORT PREFIX [WORKERS]
# (bench/peers/nchan/setup.sh first; scripts/bench.sh does both.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${1:?port}"
prefix="${2:?prefix dir}"
workers="${3:-1}"
module=""
for m in /usr/lib/nginx/modules/ngx_nchan_module.so /usr/share/nginx/modules/ngx_nchan_module.so; do
  [[ -f "$m" ]] && { module="$m"; break; }
done
[[ -n "$module" ]] || { echo "nchan module not found: run bench/peers/nchan/setup.sh" >&2; exit 1; }
# Open files: as many as the hard limit allows (each stream is one).
nofile="$(ulimit -Hn)"
[[ "$nofile" == unlimited ]] && nofile=1048576
connections=$(( nofile > 100 ? nofile - 100 : nofile ))
ulimit -n "$nofile"
mkdir -p "$prefix"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
  -e "s|@NOFILE@|$nofile|g" -e "s|@CONNECTIONS@|$connections|g" \
  -e "s|@MODULE@|$module|g" "$here/nginx.conf.template" > "$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
