#!/usr/bin/env bash
# hookrunner running 200 HTTP checks against nginx at --jobs 16, against the same 200 requests by
# `xargs -P 16 curl` and (when it installs from pip) by tavern with pytest-xdist at 16 workers,
# then one check cold against one curl call (hyperfine). Median of ROUNDS runs, tools alternating.
#
# usage: bench/hooks.sh [rounds, default 3]
# Installs nginx, curl and hyperfine with apt-get, and tavern with pip into a virtual environment,
# when missing. Everything binds 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
port=18750
checks=200
jobs=16

. bench/lib.sh
bench_need nginx:nginx-light curl hyperfine
venv=${XDG_CACHE_HOME:-$HOME/.cache}/deployverify-bench/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
tavern=""
# tavern imports a pytest internal (_pytest.python_api) that pytest 8.4 removed: pin below it.
if "$venv/bin/python" -c "import tavern, xdist" 2>/dev/null \
    || "$venv/bin/pip" install -q tavern pytest-xdist "pytest<8.4" >/dev/null 2>&1; then
  tavern="$venv/bin/pytest"
else
  echo "tavern did not install: its column is left out" >&2
fi

hookrunner=$(bench_build hookrunner)
bench_nginx "$port" "$(bench_fleet_location '{"name":"svc-$1","version":"1.4.2"}')" /svc/1/info

# The same 200 checks for each tool: status 200 and the version in the JSON body.
bench_urls "$port" "$checks" "$work/urls.txt"
{
  echo '{"phases": {"bench": [{"parallel": ['
  sed 's|.*|{"http": "&", "expect": ["status == 200", "json.version == 1.4.2"]},|' "$work/urls.txt" | sed '$ s/,$//'
  echo ']}]}}'
} >"$work/hooks.json"
# The cold check gets a file of its own: one check, as a hook with one check would have.
echo '{"phases": {"one": [{"http": "http://127.0.0.1:'"$port"'/svc/1/info", "expect": ["status == 200", "json.version == 1.4.2"]}]}}' \
  >"$work/one.json"
if [ -n "$tavern" ]; then
  n=0
  while read -r url; do
    n=$((n + 1))
    cat >"$work/test_$n.tavern.yaml" <<YAML
test_name: check $n
stages:
  - name: info
    request:
      url: $url
      method: GET
    response:
      status_code: 200
      strict:
        - json:off
      json:
        version: "1.4.2"
YAML
  done <"$work/urls.txt"
fi

timed() { # NAME COMMAND... -> appends wall seconds to $work/NAME.runs
  local name=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/out.txt" 2>&1 || { echo "$name failed:" >&2; tail -20 "$work/out.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' >>"$work/$name.runs"
}

if [ -n "$tavern" ] && ! "$tavern" -q -n "$jobs" -p no:cacheprovider "$work" >"$work/tavern.txt" 2>&1; then
  echo "tavern did not run (its column is left out):" >&2
  tail -3 "$work/tavern.txt" >&2
  tavern=""
fi
for _ in $(seq "$rounds"); do
  timed hookrunner "$hookrunner" bench --config "$work/hooks.json" --jobs "$jobs" --quiet
  timed curl xargs -P "$jobs" -n 1 curl -sf -o /dev/null <"$work/urls.txt"
  if [ -n "$tavern" ]; then timed tavern "$tavern" -q -n "$jobs" -p no:cacheprovider "$work"; fi
done

echo
echo "$checks HTTP checks (status and JSON version) on nginx $nginx_version at concurrency $jobs, median of $rounds runs"
printf '%-16s %10s %12s %14s\n' tool "wall s" "checks/s" "hookrunner ×"
hr=$(median <"$work/hookrunner.runs")
for tool in hookrunner curl tavern; do
  [ -f "$work/$tool.runs" ] || continue
  wall=$(median <"$work/$tool.runs")
  label=$tool; [ "$tool" = curl ] && label="xargs+curl"
  printf '%-16s %10s %12s %13sx\n' "$label" "$wall" "$(awk -v n="$checks" -v w="$wall" 'BEGIN { printf "%d", n / w }')" \
    "$(awk -v a="$wall" -v b="$hr" 'BEGIN { printf "%.1f", a / b }')"
done
speedup=$(awk -v a="$(median <"$work/curl.runs")" -v b="$hr" 'BEGIN { printf "%.1f", a / b }')

echo
url="http://127.0.0.1:$port/svc/1/info"
hyperfine -N --warmup 5 --runs 50 --export-json "$work/cold.json" \
  "$hookrunner one --config $work/one.json --quiet" "curl -sf $url" >/dev/null 2>&1
read -r check_ms curl_ms < <("$venv/bin/python" -c "
import json, sys
results = json.load(open(sys.argv[1]))['results']
print(results[0]['mean'] * 1000, results[1]['mean'] * 1000)" "$work/cold.json")
cold=$(awk -v a="$check_ms" -v b="$curl_ms" 'BEGIN { printf "%.2f", a / b }')
printf 'one check cold (hyperfine, 50 runs): hookrunner %.1f ms, curl %.1f ms: %sx\n' "$check_ms" "$curl_ms" "$cold"

echo
echo "targets: $checks checks >= 5x faster than xargs+curl: ${speedup}x $(verdict "$speedup >= 5")" \
  "| one check cold <= 2x curl: ${cold}x $(verdict "$cold <= 2")"
