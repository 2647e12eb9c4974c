#!/usr/bin/env bash
# What file uploads and downloads cost a Hearth server (issue 14, protocol
# v1.1 "Files and images"): builds release `hearth` and `hearth-bench`, starts
# `hearth serve` on a fresh data folder on 127.0.0.1:0, runs `hearth-bench
# files` against it (N clients upload an S MiB file at once, download it back
# checked byte for byte, one reads slowly; the server's RSS sampled all
# along), stops it; then starts it again on the same data and downloads the
# same files from the fresh, idle server (`--downloads-of`: memory the
# allocator kept from the uploads cannot hide what downloads cost). Backends:
#   embedded   uploads in the default folder store (data_dir/files)
#   redis-s3   `--redis` + `--files s3://…` on a local moto_server; run only
#              when `redis-server` and `moto_server` (pip: moto[server]) are
#              installed, skipped with a message otherwise
# Writes two JSONs per run (<name>.json, <name>--fresh-downloads.json) and
# <scenario>.md (the machine and each run's
# summary) to bench/results/<date>-files/ (the
# servers' and the generator's logs to its logs/ folder, not committed).
#
# Usage: bash bench/files.sh
# Environment:
#   FILES_BACKENDS   backends to run (default: embedded redis-s3)
#   FILES_RUNS       runs of each backend, each on a fresh server (default: 1)
#   FILES_CLIENTS    clients (default: 10)
#   FILES_SIZE_MIB   file size, MiB (default: 25: the default limit; the
#                    server's --max-file-bytes is set to it)
#   FILES_HEARTH_FLAGS extra flags for `hearth serve`
#   FILES_OUT        result directory (default: bench/results/<date>-files)
#   FILES_SERVER_CPUS / FILES_GEN_CPUS  CPUs for the server (and its Redis and
#                    moto) and for the generator (default: 0 and 1 when there
#                    are 2+; `taskset`)
#   FILES_SKIP_BUILD=1  use the binaries in target/release as they are
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

backends="${FILES_BACKENDS:-embedded redis-s3}"
runs="${FILES_RUNS:-1}"
clients="${FILES_CLIENTS:-10}"
size="${FILES_SIZE_MIB:-25}"
out="${FILES_OUT:-bench/results/$(date -u +%Y-%m-%d)-files}"
scenario="files-${clients}x${size}MiB"
mkdir -p "$out/logs"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/hearth-files.XXXXXX)"

if [[ "${FILES_SKIP_BUILD:-}" != 1 ]]; then
  [[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
  cargo build --release -p hearth-server -p hearth-bench --bin hearth --bin hearth-bench
fi
hearth="$root/target/release/hearth"
bench="$root/target/release/hearth-bench"

if [[ "$(nproc --all)" -ge 2 ]]; then
  server_cpus="${FILES_SERVER_CPUS:-0}"
  gen_cpus="${FILES_GEN_CPUS:-1}"
else
  server_cpus="${FILES_SERVER_CPUS:-0}"
  gen_cpus="${FILES_GEN_CPUS:-0}"
fi

# Background servers are started as `taskset ... cmd &`: $! is the server.
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
wait_port() {
  local i
  for i in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "files: nothing listens on port $1 after 20 s" >&2
  return 1
}

start_hearth() { # log data-dir [extra flags...] -> $hearth_addr, $hearth_pid
  local log="$1" data="$2"; shift 2
  mkdir -p "$data"
  # shellcheck disable=SC2086
  taskset -c "$server_cpus" "$hearth" serve --bind 127.0.0.1:0 --data "$data" \
    --post-rate 100000 --post-burst 100000 --ip-post-rate 100000 --ip-post-burst 100000 \
    --session-rate 100000 --session-burst 100000 --max-file-bytes $((size * 1048576)) \
    --log warn ${FILES_HEARTH_FLAGS:-} "$@" >"$log" 2>&1 &
  hearth_pid=$!
  pids+=("$hearth_pid")
  hearth_addr=""
  for _ in $(seq 200); do
    hearth_addr="$(sed -n 's#^hearth: listening on http://##p' "$log" | head -1)"
    [[ -n "$hearth_addr" ]] && return 0
    kill -0 "$hearth_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "files: hearth did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

start_redis() { # -> $redis_port
  redis_port="$(free_port)"
  mkdir -p "$work/redis-$redis_port"
  taskset -c "$server_cpus" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$work/redis-$redis_port" --daemonize no \
    >"$out/logs/$1--redis.log" 2>&1 &
  pids+=("$!")
  wait_port "$redis_port"
}

start_moto() { # -> $moto_port, bucket `hearth-bench` created
  moto_port="$(free_port)"
  taskset -c "$server_cpus" moto_server -H 127.0.0.1 -p "$moto_port" \
    >"$out/logs/$1--moto.log" 2>&1 &
  pids+=("$!")
  wait_port "$moto_port"
  curl -fsS -X PUT "http://127.0.0.1:$moto_port/hearth-bench" >/dev/null
}

ran=()
for backend in $backends; do
  case "$backend" in
    embedded) ;;
    redis-s3)
      missing=""
      command -v redis-server >/dev/null || missing+=" redis-server"
      command -v moto_server >/dev/null || missing+=" moto_server (pip install 'moto[server]')"
      if [[ -n "$missing" ]]; then
        echo "files: skipping redis-s3: not installed:$missing"
        continue
      fi
      ;;
    *) echo "files: unknown backend $backend (known: embedded redis-s3)" >&2; exit 2 ;;
  esac
  for run in $(seq "$runs"); do
    name="$scenario--hearth-$backend--$run"
    flags=()
    if [[ "$backend" == redis-s3 ]]; then
      start_redis "$name"
      start_moto "$name"
      export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
      flags=(--redis "redis://127.0.0.1:$redis_port"
        --files "s3://hearth-bench?endpoint=http://127.0.0.1:$moto_port")
    fi
    data="$work/data-$name"
    common=(--no-children --size-mib "$size" --file "$work/upload-${size}MiB.bin"
      --label "hearth-$backend" --scenario "$scenario")
    start_hearth "$out/logs/$name--hearth.log" "$data" "${flags[@]}"
    echo "files: $name: hearth pid $hearth_pid on $hearth_addr (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    taskset -c "$gen_cpus" "$bench" files --target "http://$hearth_addr" --server-pid "$hearth_pid" \
      -n "$clients" "${common[@]}" --json "$out/$name.json" | tee "$out/logs/$name--bench.log"
    # The same server again, on the same data: downloads from idle.
    kill -TERM "$hearth_pid"
    wait "$hearth_pid" 2>/dev/null || true
    start_hearth "$out/logs/$name--fresh-downloads--hearth.log" "$data" "${flags[@]}"
    taskset -c "$gen_cpus" "$bench" files --target "http://$hearth_addr" --server-pid "$hearth_pid" \
      --downloads-of "$out/$name.json" "${common[@]}" --json "$out/$name--fresh-downloads.json" |
      tee "$out/logs/$name--fresh-downloads--bench.log"
    stop_all
    ran+=("$name" "$name--fresh-downloads")
  done
done

# <scenario>.md: the machine and each run's printed summary.
{
  echo "# $scenario"
  echo
  echo "Made by \`bash bench/files.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "(FILES_BACKENDS=\"$backends\" FILES_RUNS=$runs FILES_CLIENTS=$clients FILES_SIZE_MIB=$size)."
  echo
  echo "- CPU: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(nproc --all) logical CPUs; server on CPU(s) $server_cpus, generator on CPU(s) $gen_cpus"
  echo "- Memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
  echo "- hearth: $("$hearth" --version 2>/dev/null || echo '?') (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  for name in "${ran[@]}"; do
    echo
    echo "## $name"
    echo
    echo '```text'
    grep -v '^  written ' "$out/logs/$name--bench.log"
    echo '```'
  done
} >"$out/$scenario.md"
echo "files: results in $out"
