#!/usr/bin/env bash
# InfoServer vs nginx (1 worker, access log off) serving the same /info body on 127.0.0.1.
# wrk runs at 1, 16, 64 and 256 connections against each in turn; the table shows requests/s,
# p99 latency and the InfoServer/nginx ratio per row, then the RSS InfoServer adds to a process.
#
# Each row alternates nginx and InfoServer for ROUNDS rounds and reports medians, since
# loopback figures on a shared 2-core VM vary by 10–15% from one run to the next.
#
# usage: bench/info-server.sh [seconds per run, default 5] [rounds, default 3]
# Installs nginx and wrk with apt-get when missing. Everything binds 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5}
rounds=${2:-3}
nginx_port=18480
info_port=18481

. bench/lib.sh
bench_need wrk nginx:nginx-light curl
host_bin=$(bench_build InfoServerHost)

# InfoServer in a host process; RSS before it starts is the baseline.
mkfifo "$work/host.in"
"$host_bin" "$info_port" <"$work/host.in" >"$work/host.out" 2>&1 &
host_pid=$!
bench_pids+=("$host_pid")
exec 3>"$work/host.in"
for _ in $(seq 100); do grep -q '^baseline' "$work/host.out" 2>/dev/null && break; sleep 0.05; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
rss_baseline=$(rss "$host_pid")
echo start >&3
for _ in $(seq 100); do grep -q '^listening' "$work/host.out" 2>/dev/null && break; sleep 0.05; done
grep -q '^listening' "$work/host.out" || { cat "$work/host.out" >&2; exit 1; }

# nginx answering the byte-identical body from memory.
body=$(curl -sf "http://127.0.0.1:$info_port/info")
bench_nginx "$nginx_port" "location = /info { default_type application/json; return 200 '$body'; }" /info

run_wrk() { # url connections -> "requests_per_second p99_ms"
  wrk -t1 -c"$2" -d"${duration}s" --latency "$1" 2>/dev/null | awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; p99 = v }
    END { printf "%d %.2f\n", rps, p99 }'
}

# Warm both up.
wrk -t1 -c16 -d1s "http://127.0.0.1:$nginx_port/info" >/dev/null 2>&1
wrk -t1 -c16 -d1s "http://127.0.0.1:$info_port/info" >/dev/null 2>&1

echo

echo "GET /info, median of $rounds alternating ${duration}s runs, wrk -t1 (same body, $(echo -n "$body" | wc -c) bytes); reference: nginx $nginx_version, 1 worker"
printf '%-6s %14s %10s %16s %14s %8s\n' conns "nginx req/s" "nginx p99" "InfoServer req/s" "InfoServer p99" ratio
ratio64=0
p99_64=0
for c in 1 16 64 256; do
  : >"$work/nginx.runs"
  : >"$work/info.runs"
  for _ in $(seq "$rounds"); do
    run_wrk "http://127.0.0.1:$nginx_port/info" "$c" >>"$work/nginx.runs"
    run_wrk "http://127.0.0.1:$info_port/info" "$c" >>"$work/info.runs"
  done
  nrps=$(cut -d' ' -f1 "$work/nginx.runs" | median); np99=$(cut -d' ' -f2 "$work/nginx.runs" | median)
  irps=$(cut -d' ' -f1 "$work/info.runs" | median); ip99=$(cut -d' ' -f2 "$work/info.runs" | median)
  ratio=$(awk -v a="$irps" -v b="$nrps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf '%-6s %14s %8sms %16s %12sms %7sx\n' "$c" "$nrps" "$np99" "$irps" "$ip99" "$ratio"
  if [ "$c" = 64 ]; then ratio64=$ratio; p99_64=$ip99; fi
done

rss_after=$(rss "$host_pid")
rss_peak=$(hwm "$host_pid")
added=$((rss_peak - rss_baseline))
echo
echo "InfoServer host RSS: ${rss_baseline} KiB before start, ${rss_after} KiB after the runs, peak ${rss_peak} KiB: adds ${added} KiB at peak"
echo
echo "targets: ratio at 64 connections >= 0.5 (goal 1.0): ${ratio64}x $(verdict "$ratio64 >= 0.5")" \
  "| p99 at 64 <= 3 ms: ${p99_64} ms $(verdict "$p99_64 <= 3")" \
  "| added RSS <= 2048 KiB: ${added} KiB $(verdict "$added <= 2048")"
