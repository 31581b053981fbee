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

. bench/lib.sh
bench_need nginx:nginx-light curl hyperfine time:time
venv=${XDG_CACHE_HOME:-$HOME/.cache}/deployverify-bench/venv
if ! "$venv/bin/python" -c "import aiohttp" 2>/dev/null; then
  echo "installing aiohttp into $venv …" >&2
  python3 -m venv "$venv" && "$venv/bin/pip" install -q aiohttp >&2
fi
python=$venv/bin/python

versioncheck=$(bench_build versioncheck)
bench_nginx "$port" "$(bench_fleet_location '{"name":"svc-$1","version":"1.4.2","revision":"0123456789abcdef","environment":"bench"}')" /svc/1/info

echo
echo "Sweep of distinct /info URLs on nginx $nginx_version (1 worker), concurrency $concurrency, median of $rounds runs"
echo "(peak RSS: the largest single process; xargs runs a curl process per URL)"
printf '%-8s %-14s %9s %10s %12s %12s %12s\n' URLs tool "wall s" "req/s" "peak RSS" "× aiohttp" "RSS × aiohttp"
result_10k=""
for count in 1000 10000; do
  bench_urls "$port" "$count" "$work/urls.txt"
  rm -f "$work"/*.runs
  for _ in $(seq "$rounds"); do
    bench_run versioncheck "$versioncheck" --expect 1.4.2 --quiet --concurrency "$concurrency" --from-file "$work/urls.txt"
    bench_run aiohttp "$python" bench/sweep_aiohttp.py "$concurrency" 1.4.2 "$work/urls.txt"
    bench_run curl xargs -P "$concurrency" -n 1 curl -sf -o /dev/null <"$work/urls.txt"
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
echo
echo "targets: 10,000 URLs >= 1.0x aiohttp req/s: ${ratio}x $(verdict "$ratio >= 1.0")" \
  "| peak RSS <= aiohttp's: $((rss / 1024)) vs $((aio_rss / 1024)) MiB $(verdict "$rss <= $aio_rss")" \
  "| cold check <= 2x curl: ${cold_ratio}x $(verdict "$cold_ratio <= 2")"
