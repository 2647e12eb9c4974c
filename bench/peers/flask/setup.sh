#!/usr/bin/env bash
# Sets up the Flask peer of the benchmark: a virtualenv in
# bench/peers/flask/.venv with the pinned requirements. Idempotent: does
# nothing when the venv already has them. Needs python3 with the venv
# module (installs Debian/Ubuntu's python3-venv only when it is missing) and
# redis-server, which scripts/bench.sh starts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "flask peer: installing python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3-venv >/dev/null
fi

want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ -x "$venv/bin/gunicorn" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "flask peer: $venv is up to date"
  exit 0
fi

echo "flask peer: creating $venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$stamp"
echo "flask peer: installed $("$venv/bin/python" -c 'import flask, redis, gunicorn, gevent; print("flask", flask.__version__ if hasattr(flask, "__version__") else "", "redis", redis.__version__, "gunicorn", gunicorn.__version__, "gevent", gevent.__version__)' 2>/dev/null)"
