#!/usr/bin/env bash
# Runs the Flask peer in the foreground: gunicorn with gevent workers.
# Usage: bench/peers/flask/run.sh PORT REDIS_URL [WORKERS]
# (bench/peers/flask/setup.sh first; scripts/bench.sh does both.)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${1:?port}"
export REDIS_URL="${2:?redis url}"
workers="${3:-1}"
cd "$here"
# One greenlet per open stream: raise gunicorn's default of 1000.
exec "$here/.venv/bin/gunicorn" --worker-class gevent --workers "$workers" \
  --worker-connections 20000 --backlog 4096 --bind "127.0.0.1:$port" \
  --log-level warning app:app
