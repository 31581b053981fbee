#!/usr/bin/env bash
# Soak: a server under wrk at 64 connections for SECONDS while bench/soak_clients.py runs beside
# it: 1,000 idle keep-alive connections, 50 slowloris clients, 100,000 connects-and-closes (half
# reset), and a probe timing one `GET /info` every 20 ms. Samples the server's RSS and open file
# descriptors every 15 s; prints them at start (after a 5 s warm-up), at their peak, at the end
# of the load and 5 s after it, the probe's p50/p99, and whether the server is still up (a crash
# fails the script).
#
# usage: bench/soak.sh [SECONDS, default 300] [info|serve|both, default both]
#   info:  InfoServer in a host process (bench/InfoServerHost)
#   serve: `hookrunner serve` with a checks file of one phase (`GET /hooks/smoke`, a command
#          check, is also asked once a second)
# Installs wrk with apt-get when missing. Everything binds 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
which=${2:-both}
info_port=18491
serve_port=18492

. bench/lib.sh
bench_need wrk curl python3

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

# soak NAME PID PORT [PHASE]: the load and the clients against a started server.
soak() {
  local name=$1 pid=$2 port=$3 phase=${4:-}
  wrk -t1 -c64 -d5s "http://127.0.0.1:$port/info" >/dev/null 2>&1 # warm-up
  # A phase run too: its first one opens the timer descriptor the runtime keeps from then on.
  [ -z "$phase" ] || curl -s -o /dev/null "http://127.0.0.1:$port/hooks/$phase"
  sleep 1
  local rss0 fds0 samples="$work/$name.samples"
  rss0=$(rss "$pid"); fds0=$(fds "$pid")
  echo "0 $rss0 $fds0" >"$samples"
  wrk -t1 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$port/info" >"$work/$name.wrk" 2>&1 &
  local wrk_pid=$!
  bench_pids+=("$wrk_pid")
  python3 bench/soak_clients.py "$port" "$seconds" ${phase:+--phase "$phase"} >"$work/$name.clients" 2>&1 &
  local clients_pid=$!
  bench_pids+=("$clients_pid")
  local started=$SECONDS
  while kill -0 "$wrk_pid" 2>/dev/null || kill -0 "$clients_pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null || break
    echo "$((SECONDS - started)) $(rss "$pid") $(fds "$pid")" >>"$samples"
  done
  wait "$wrk_pid" || true
  wait "$clients_pid" || { echo "soak_clients.py failed:" >&2; cat "$work/$name.clients" >&2; }
  local alive=yes
  kill -0 "$pid" 2>/dev/null || alive=no
  local rss_end fds_end rss_after fds_after
  if [ "$alive" = yes ]; then
    rss_end=$(rss "$pid"); fds_end=$(fds "$pid")
    sleep 5
    rss_after=$(rss "$pid"); fds_after=$(fds "$pid")
  fi
  local rss_peak fds_peak
  rss_peak=$(awk 'max < $2 { max = $2 } END { print max }' "$samples")
  fds_peak=$(awk 'max < $3 { max = $3 } END { print max }' "$samples")
  local requests rps errors
  requests=$(awk '/requests in/ { print $1 }' "$work/$name.wrk")
  rps=$(awk '/Requests\/sec:/ { printf "%d", $2 }' "$work/$name.wrk")
  errors=$(awk '/Socket errors|Non-2xx/ { print }' "$work/$name.wrk" | tr '\n' ' ')
  echo
  echo "== $name: ${seconds}s"
  echo "wrk (64 connections): $requests requests, $rps req/s${errors:+; $errors}"
  echo "clients: $(cat "$work/$name.clients")"
  echo "RSS KiB: start $rss0, peak $rss_peak, end of load ${rss_end:-?}, 5 s later ${rss_after:-?}"
  echo "open fds: start $fds0, peak $fds_peak, end of load ${fds_end:-?}, 5 s later ${fds_after:-?}"
  echo "samples (s rss_kib fds): $(tr '\n' ';' <"$samples")"
  echo "server alive at the end: $alive"
  [ "$alive" = yes ] || { echo "$name crashed" >&2; status=1; }
  [ "${fds_after:-0}" -le "$fds0" ] || { echo "$name: open fds did not come back to $fds0" >&2; status=1; }
}

status=0
if [ "$which" = info ] || [ "$which" = both ]; then
  host_bin=$(bench_build InfoServerHost)
  mkfifo "$work/host.in"
  "$host_bin" "$info_port" <"$work/host.in" >"$work/host.out" 2>&1 &
  host_pid=$!
  bench_pids+=("$host_pid")
  exec 3>"$work/host.in"
  echo start >&3
  for _ in $(seq 100); do grep -q '^listening' "$work/host.out" 2>/dev/null && break; sleep 0.05; done
  grep -q '^listening' "$work/host.out" || { cat "$work/host.out" >&2; exit 1; }
  soak InfoServer "$host_pid" "$info_port"
  exec 3>&-
fi
if [ "$which" = serve ] || [ "$which" = both ]; then
  hookrunner_bin=$(bench_build hookrunner)
  cat >"$work/hooks.json" <<'JSON'
{"phases": {"smoke": [{"name": "true", "command": ["true"], "expect": ["exit == 0"]}]}}
JSON
  "$hookrunner_bin" serve --port "$serve_port" --host 127.0.0.1 --config "$work/hooks.json" >"$work/serve.out" 2>&1 &
  serve_pid=$!
  bench_pids+=("$serve_pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$serve_port/info" >/dev/null 2>&1 && break; sleep 0.05; done
  curl -sf "http://127.0.0.1:$serve_port/hooks" >/dev/null || { cat "$work/serve.out" >&2; exit 1; }
  soak "hookrunner serve" "$serve_pid" "$serve_port" smoke
fi
exit "$status"
