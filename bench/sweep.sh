#!/usr/bin/env bash
# versioncheck over 1,000 and 10,000 distinct /info URLs served by nginx, against the same
# sweep by `xargs -P 64 curl` and by a Python aiohttp script, all at concurrency 64, in one run.
# Prints wall time, requests/s and peak RSS per tool (median of ROUNDS runs, alternating the
# tools), the ratios to aiohttp, and a cold single check against one curl call (hyperfine).
#
# usage: bench/sweep.sh [rounds, default 3]
# Installs nginx, curl, hyperfine and GNU time with apt-get, and aiohttp with pip into a virtual
# environment, when missing. Everything binds 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
port=18700
concurrency=64

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} …" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
venv=${XDG_CACHE_HOME:-$HOME/.cache}/deployverify-bench/venv
if ! "$venv/bin/python" -c "import aiohttp" 2>/dev/null; then
  echo "installing aiohttp into $venv …" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q aiohttp >&2
fi
python=$venv/bin/python

echo "building versioncheck (release) …" >&2
swift build -c release --product versioncheck 2>&1 | grep -E 'error|warning' >&2 || true
versioncheck=$(swift build -c release --show-bin-path)/versioncheck

work=$(mktemp -d)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location ~ ^/svc/(\d+)/info\$ {
      default_type application/json;
      return 200 '{"name":"svc-\$1","version":"1.4.2","revision":"0123456789abcdef","environment":"bench"}';
    }
  }
}
CONF
if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
  echo "port $port on 127.0.0.1 is already in use: stop what listens there first" >&2
  exit 1
fi
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/svc/1/info" >/dev/null 2>&1 && break; sleep 0.05; done
kill -0 "$nginx_pid" 2>/dev/null || { echo "nginx did not start" >&2; exit 1; }

# run NAME COMMAND... -> appends "wall_seconds peak_rss_kib" to $work/NAME.runs
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/time.out" "$@" >"$work/out.txt" 2>"$work/err.txt" || {
    echo "$name failed:" >&2
    cat "$work/err.txt" >&2
    exit 1
  }
  cat "$work/time.out" >>"$work/$name.runs"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo
echo "Sweep of distinct /info URLs on nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///') (1 worker), concurrency $concurrency, median of $rounds runs"
echo "(peak RSS: the largest single process; xargs runs a curl process per URL)"
printf '%-8s %-14s %9s %10s %12s %12s %12s\n' URLs tool "wall s" "req/s" "peak RSS" "× aiohttp" "RSS × aiohttp"
result_10k=""
for count in 1000 10000; do
  seq 1 "$count" | sed "s|^|http://127.0.0.1:$port/svc/|; s|\$|/info|" >"$work/urls.txt"
  rm -f "$work"/*.runs
  for _ in $(seq "$rounds"); do
    run versioncheck "$versioncheck" --expect 1.4.2 --quiet --concurrency "$concurrency" --from-file "$work/urls.txt"
    run aiohttp "$python" bench/sweep_aiohttp.py "$concurrency" 1.4.2 "$work/urls.txt"
    run curl xargs -P "$concurrency" -n 1 curl -sf -o /dev/null <"$work/urls.txt"
  done
  read -r ok bad failed <"$work/out.txt" 2>/dev/null || true
  aio_wall=$(cut -d' ' -f1 "$work/aiohttp.runs" | median)
  aio_rss=$(cut -d' ' -f2 "$work/aiohttp.runs" | median)
  aio_rps=$(awk -v n="$count" -v w="$aio_wall" 'BEGIN { printf "%d", n / w }')
  for tool in versioncheck aiohttp curl; do
    wall=$(cut -d' ' -f1 "$work/$tool.runs" | median)
    rss=$(cut -d' ' -f2 "$work/$tool.runs" | median)
    rps=$(awk -v n="$count" -v w="$wall" 'BEGIN { printf "%d", n / w }')
    label=$tool; [ "$tool" = curl ] && label="xargs+curl"
    printf '%-8s %-14s %9s %10s %9s MiB %11sx %12sx\n' "$count" "$label" "$wall" "$rps" \
      "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" \
      "$(awk -v a="$rps" -v b="$aio_rps" 'BEGIN { printf "%.2f", a / b }')" \
      "$(awk -v a="$rss" -v b="$aio_rss" 'BEGIN { printf "%.2f", a / b }')"
    if [ "$count" = 10000 ] && [ "$tool" = versioncheck ]; then
      result_10k="$(awk -v a="$rps" -v b="$aio_rps" 'BEGIN { printf "%.2f", a / b }') $rss $aio_rss"
    fi
  done
done

echo
url="http://127.0.0.1:$port/svc/1/info"
hyperfine -N --warmup 5 --runs 50 --export-json "$work/cold.json" \
  "$versioncheck --expect 1.4.2 $url" "curl -sf $url" >/dev/null 2>&1
read -r check_ms curl_ms < <("$python" -c "
import json, sys
results = json.load(open(sys.argv[1]))['results']
print(results[0]['mean'] * 1000, results[1]['mean'] * 1000)" "$work/cold.json")
cold_ratio=$(awk -v a="$check_ms" -v b="$curl_ms" 'BEGIN { printf "%.2f", a / b }')
printf 'cold single check (hyperfine, 50 runs): versioncheck %.1f ms, curl %.1f ms: %sx\n' "$check_ms" "$curl_ms" "$cold_ratio"

read -r ratio rss aio_rss <<<"$result_10k"
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
echo
echo "targets: 10,000 URLs >= 1.0x aiohttp req/s: ${ratio}x $(verdict "$ratio >= 1.0")" \
  "| peak RSS <= aiohttp's: $((rss / 1024)) vs $((aio_rss / 1024)) MiB $(verdict "$rss <= $aio_rss")" \
  "| cold check <= 2x curl: ${cold_ratio}x $(verdict "$cold_ratio <= 2")"
