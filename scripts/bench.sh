#!/usr/bin/env bash
# Reproduces docs/BENCHMARKS.md: installs the peers, builds release `hearth`
# and `hearth-bench`, runs every scenario against every peer on this machine
# (each peer started fresh on free loopback ports, stopped after its run),
# writes one JSON per run to bench/results/<date>/, and puts the tables and
# the chart into docs/BENCHMARKS.md (between its results markers) and
# docs/benchmarks.svg.
#
# Usage: bash scripts/bench.sh
# Environment:
#   BENCH_PEERS       peers to run (default: all)
#                     hearth-embedded hearth-redis-1 hearth-redis-2 nchan flask
#   BENCH_SCENARIOS   scenarios to run (default: all four of the report)
#                     room-1k big-room-10k rooms-100x100 idle-10k, and
#                     smoke (100 subscribers, 20 messages: checks the set-up);
#                     issue 17's, run on their own: connect-1k connect-10k
#                     (fresh connects all at once), storm-10k (10,000
#                     streams cut, 20 messages posted, all back at once with
#                     Last-Event-ID) and storm-restart-10k (the same with the
#                     server restarted on its data dir; Hearth rows only)
#   BENCH_OUT         result directory (default: bench/results/<today>)
#   BENCH_SERVER_CPUS CPUs for the servers (default: 0 when there are 2+)
#   BENCH_GEN_CPUS    CPUs for the load generator (default: 1 when there are 2+)
#   BENCH_HEARTH_FLAGS extra flags for every `hearth serve` (e.g. --sync normal)
#   BENCH_HEARTH_BIN  the `hearth` binary (default: target/release/hearth), e.g.
#                     an older build to measure before and after a change
#   BENCH_NO_DOCS=1   do not touch docs/ (only the JSON and the report in
#                     BENCH_OUT)
#   BENCH_SKIP_SETUP=1 do not install or build (use what is there)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

all_peers="hearth-embedded hearth-redis-1 hearth-redis-2 nchan flask"
all_scenarios="room-1k big-room-10k rooms-100x100 idle-10k smoke connect-1k connect-10k storm-10k storm-restart-10k"
peers="${BENCH_PEERS:-$all_peers}"
scenarios="${BENCH_SCENARIOS:-room-1k big-room-10k rooms-100x100 idle-10k}"
out="${BENCH_OUT:-bench/results/$(date +%Y-%m-%d)}"
mkdir -p "$out/logs"
out="$(cd "$out" && pwd)"
work="$(mktemp -d /tmp/hearth-bench.XXXXXX)"

for p in $peers; do
  [[ " $all_peers " == *" $p "* ]] || { echo "unknown peer $p (known: $all_peers)" >&2; exit 2; }
done
for s in $scenarios; do
  [[ " $all_scenarios " == *" $s "* ]] || { echo "unknown scenario $s (known: $all_scenarios)" >&2; exit 2; }
done
wants() { [[ " $peers " == *" $1 "* ]]; }

# --- Set-up -----------------------------------------------------------------
if [[ "${BENCH_SKIP_SETUP:-}" != 1 ]]; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  if (wants flask || wants hearth-redis-1 || wants hearth-redis-2) && ! command -v redis-server >/dev/null; then
    echo "bench: installing redis-server"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
    # The package may start a system Redis on 6379; the benchmark starts its own.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
  if wants nchan; then bash bench/peers/nchan/setup.sh; fi
  if wants flask; then bash bench/peers/flask/setup.sh; fi
  [[ -f "$HOME/.cargo/env" ]] && . "$HOME/.cargo/env"
  cargo build --release --locked -p hearth-server -p hearth-bench --bin hearth --bin hearth-bench
fi
hearth="${BENCH_HEARTH_BIN:-$root/target/release/hearth}"
bench="$root/target/release/hearth-bench"

# --- CPUs and limits --------------------------------------------------------
cpus="$(nproc --all)"
if [[ $cpus -ge 2 ]]; then
  server_cpus="${BENCH_SERVER_CPUS:-0}"
  gen_cpus="${BENCH_GEN_CPUS:-1}"
else
  server_cpus="${BENCH_SERVER_CPUS:-0}"
  gen_cpus="${BENCH_GEN_CPUS:-0}"
fi
# Background servers are started as `taskset ... cmd &` (never through a
# shell function, which would fork a subshell): $! is then the server itself.
on_gen() { taskset -c "$gen_cpus" "$@"; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile="$(ulimit -n)"
[[ "$nofile" == unlimited ]] && nofile=1048576
if [[ $nofile -lt 10200 ]]; then
  echo "bench: warning: only $nofile open files allowed; the 10k scenarios need about 10100 per process (raise the hard limit)" >&2
elif [[ $nofile -lt 20200 ]] && [[ " $peers " == *" flask "* ]]; then
  echo "bench: note: $nofile open files allowed; the Flask room needs two per stream, so it cannot hold all 10k streams" >&2
fi

# --- Processes --------------------------------------------------------------
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

# A port nobody listens on, below the ephemeral range the generator uses.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}
wait_port() {
  local p="$1" i
  for i in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on port $p after 20 s" >&2
  return 1
}

log_of() { echo "$out/logs/$scenario--$peer--$1.log"; }

start_redis() { # -> $redis_port, $redis_pid
  redis_port="$(free_port)"
  mkdir -p "$work/redis-$redis_port"
  taskset -c "$server_cpus" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --maxclients $((nofile - 100)) --dir "$work/redis-$redis_port" --daemonize no \
    >"$(log_of redis)" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  wait_port "$redis_port"
}

start_hearth() { # name [extra flags...] -> $hearth_port, $hearth_pid
  local name="$1"; shift
  restart_extra=("$@")
  hearth_port="$(free_port)"
  mkdir -p "$work/$name"
  # shellcheck disable=SC2086
  taskset -c "$server_cpus" "$hearth" serve --bind "127.0.0.1:$hearth_port" --data "$work/$name" \
    --post-rate 100000 --post-burst 100000 --ip-post-rate 100000 --ip-post-burst 100000 \
    --session-rate 100000 --session-burst 100000 --max-connections 50000 --max-streams-per-ip 0 --log warn \
    ${BENCH_HEARTH_FLAGS:-} "$@" >"$(log_of "$name")" 2>&1 &
  hearth_pid=$!
  pids+=("$hearth_pid")
  wait_port "$hearth_port"
}

# Starts $peer; sets the generator's flags in run_flags and the pids to
# measure in pid_flags. Returns 1 when the peer does not apply.
start_peer() {
  run_flags=()
  pid_flags=()
  case "$peer" in
    hearth-embedded)
      start_hearth hearth
      run_flags=(--mode hearth --target "http://127.0.0.1:$hearth_port")
      pid_flags=(--server-pid "$hearth_pid")
      ;;
    hearth-redis-1)
      start_redis
      start_hearth hearth --redis "redis://127.0.0.1:$redis_port"
      run_flags=(--mode hearth --target "http://127.0.0.1:$hearth_port")
      pid_flags=(--server-pid "$hearth_pid" --server-pid "$redis_pid")
      ;;
    hearth-redis-2)
      start_redis
      start_hearth hearth-a --redis "redis://127.0.0.1:$redis_port"
      local a_port="$hearth_port" a_pid="$hearth_pid"
      start_hearth hearth-b --redis "redis://127.0.0.1:$redis_port"
      run_flags=(--mode hearth --target "http://127.0.0.1:$a_port" --target "http://127.0.0.1:$hearth_port")
      pid_flags=(--server-pid "$a_pid" --server-pid "$hearth_pid" --server-pid "$redis_pid")
      ;;
    nchan)
      local port
      port="$(free_port)"
      taskset -c "$server_cpus" bash bench/peers/nchan/run.sh "$port" "$work/nchan-$port" >"$(log_of nginx)" 2>&1 &
      local pid=$!
      pids+=("$pid")
      wait_port "$port"
      run_flags=(--mode raw --target "http://127.0.0.1:$port")
      pid_flags=(--server-pid "$pid")
      ;;
    flask)
      start_redis
      local port
      port="$(free_port)"
      taskset -c "$server_cpus" bash bench/peers/flask/run.sh "$port" "redis://127.0.0.1:$redis_port/0" >"$(log_of gunicorn)" 2>&1 &
      local pid=$!
      pids+=("$pid")
      wait_port "$port"
      run_flags=(--mode form --target "http://127.0.0.1:$port")
      pid_flags=(--server-pid "$pid" --server-pid "$redis_pid")
      ;;
  esac
}

scenario_flags() {
  case "$1" in
    room-1k) echo "--subscribers 1000 --messages 200 --rate 50 --publishers 2 --rooms 1 --connect-batch 500" ;;
    big-room-10k) echo "--subscribers 10000 --messages 200 --rate 20 --publishers 2 --rooms 1 --connect-batch 500" ;;
    rooms-100x100) echo "--subscribers 10000 --messages 1000 --rate 100 --publishers 4 --rooms 100 --connect-batch 500" ;;
    idle-10k) echo "--subscribers 10000 --messages 0 --idle-secs 10 --connect-batch 500" ;;
    connect-1k) echo "--subscribers 1000 --messages 0 --connect-batch 0" ;;
    connect-10k) echo "--subscribers 10000 --messages 0 --connect-batch 0" ;;
    smoke) echo "--subscribers 100 --messages 20 --rate 10 --publishers 2 --rooms 1 --idle-secs 1 --connect-batch 500" ;;
  esac
}

# --- Runs -------------------------------------------------------------------
echo "bench: $cpus CPUs; servers on CPU(s) $server_cpus, generator on CPU(s) $gen_cpus; results in $out"
for scenario in $scenarios; do
  for peer in $peers; do
    if [[ "$peer" == flask && "$scenario" == rooms-100x100 ]]; then
      echo "bench: $scenario / $peer: skipped (the original room has one channel, no rooms)"
      continue
    fi
    if [[ "$scenario" == storm-restart-10k && "$peer" != hearth-embedded && "$peer" != hearth-redis-1 ]]; then
      echo "bench: $scenario / $peer: skipped (restarts one Hearth node)"
      continue
    fi
    if [[ "$scenario" == storm-* && "$peer" == flask ]]; then
      echo "bench: $scenario / $peer: skipped (the original room cannot resume)"
      continue
    fi
    echo "bench: $scenario / $peer"
    start_peer
    sleep 1
    if [[ "$scenario" == storm-* ]]; then
      storm_flags=()
      if [[ "$scenario" == storm-restart-10k ]]; then
        # Stops the Hearth node and starts it again on the same port and
        # data dir; prints the new pid (the storm measures that process).
        restart="$work/restart.sh"
        cat >"$restart" <<RESTART
set -e
kill -TERM $hearth_pid
while kill -0 $hearth_pid 2>/dev/null; do sleep 0.05; done
taskset -c "$server_cpus" "$hearth" serve --bind "127.0.0.1:$hearth_port" --data "$work/hearth" \
  --post-rate 100000 --post-burst 100000 --ip-post-rate 100000 --ip-post-burst 100000 \
  --session-rate 100000 --session-burst 100000 --max-connections 50000 --max-streams-per-ip 0 --log warn \
  ${BENCH_HEARTH_FLAGS:-} ${restart_extra[*]+$(printf '%q ' "${restart_extra[@]}")} >>"$(log_of hearth)" 2>&1 </dev/null &
echo \$! >"$work/restarted.pid"
for i in \$(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$hearth_port) 2>/dev/null && break; sleep 0.05; done
cat "$work/restarted.pid"
RESTART
        storm_flags=(--restart-cmd "bash $restart")
      fi
      if ! on_gen "$bench" storm --mode "${run_flags[1]}" --target "${run_flags[3]}" "${pid_flags[@]}" \
        --subscribers 10000 --before 1 --missed 20 --size 64 --timeout 60 "${storm_flags[@]}" \
        --label "$peer" --scenario "$scenario" --json "$out/$scenario--$peer.json" \
        2>&1 | tee "$(log_of bench)"; then
        echo "bench: $scenario / $peer failed (see $(log_of bench))" >&2
      fi
      [[ -f "$work/restarted.pid" ]] && { pids+=("$(cat "$work/restarted.pid")"); rm -f "$work/restarted.pid"; }
      stop_all
      sleep 2
      continue
    fi
    # shellcheck disable=SC2046
    if ! on_gen "$bench" run "${run_flags[@]}" "${pid_flags[@]}" $(scenario_flags "$scenario") \
      --size 64 --connect-timeout 60 --drain-secs 15 \
      --label "$peer" --scenario "$scenario" --json "$out/$scenario--$peer.json" \
      2>&1 | tee "$(log_of bench)"; then
      echo "bench: $scenario / $peer failed (see $(log_of bench))" >&2
    fi
    stop_all
    sleep 2
  done
done

# --- Report -----------------------------------------------------------------
machine_md="$out/machine.md"
{
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $cpus logical CPUs (\`nproc --all\`)"
  echo "- Memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- OS: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- Pinning: servers (and their Redis) on CPU(s) $server_cpus, load generator on CPU(s) $gen_cpus (\`taskset\`)"
  echo "- Open files per process: $nofile"
  echo "- hearth: $("$hearth" --version 2>/dev/null) (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ', with local changes'))"
  if command -v nginx >/dev/null; then echo "- nginx: $(nginx -v 2>&1 | sed 's/.*: //'), libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')"; fi
  if command -v redis-server >/dev/null; then echo "- Redis: $(redis-server --version | awk '{print $3}' | sed 's/v=//')"; fi
  if [[ -x bench/peers/flask/.venv/bin/python ]]; then echo "- Flask peer: $(bench/peers/flask/.venv/bin/python --version), $(tr '\n' ' ' < bench/peers/flask/requirements.txt | grep -o '[a-z.]*==[0-9.]*' | head -4 | tr '\n' ' ' | sed 's/ *$//')"; fi
  echo "- Run: $(date -u +%Y-%m-%dT%H:%MZ), results in \`${out#"$root"/}\`"
} >"$machine_md"

if [[ "${BENCH_NO_DOCS:-}" == 1 ]]; then
  "$bench" report "$out" --svg "$out/benchmarks.svg" --svg-link benchmarks.svg \
    --storm-svg "$out/reconnect-storm.svg" --storm-svg-link reconnect-storm.svg --markdown "$out/report.md"
  exit 0
fi
"$bench" report "$out" --svg docs/benchmarks.svg --svg-link benchmarks.svg \
  --storm-svg docs/reconnect-storm.svg --storm-svg-link reconnect-storm.svg --markdown "$out/report.md"
splice() { # marker file: replace what is between <!-- marker:begin --> and <!-- marker:end -->
  awk -v f="$2" -v b="<!-- $1:begin -->" -v e="<!-- $1:end -->" '
    $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' docs/BENCHMARKS.md >"$work/doc.md"
  cp "$work/doc.md" docs/BENCHMARKS.md
}
status_md="$out/status.md"
echo "> Measured with \`bash scripts/bench.sh\` on $(date -u +%Y-%m-%d) (this run: scenarios $scenarios; peers $peers); every result file in \`${out#"$root"/}\` is in the tables. Servers and load generator share one 2-core machine: see Machine." >"$status_md"
splice status "$status_md"
splice machine "$machine_md"
splice results "$out/report.md"
echo "bench: docs/BENCHMARKS.md and docs/benchmarks.svg updated"
