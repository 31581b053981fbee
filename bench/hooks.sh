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

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} …" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
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

echo "building hookrunner (release) …" >&2
swift build -c release --product hookrunner 2>&1 | grep -E 'error|warning' >&2 || true
hookrunner=$(swift build -c release --show-bin-path)/hookrunner

work=$(mktemp -d)
cleanup() {
  [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
  echo "port $port on 127.0.0.1 is already in use: stop what listens there first" >&2
  exit 1
fi
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
      return 200 '{"name":"svc-\$1","version":"1.4.2"}';
    }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/svc/1/info" >/dev/null 2>&1 && break; sleep 0.05; done
kill -0 "$nginx_pid" 2>/dev/null || { echo "nginx did not start" >&2; exit 1; }

# The same 200 checks for each tool: status 200 and the version in the JSON body.
seq 1 "$checks" | sed "s|^|http://127.0.0.1:$port/svc/|; s|\$|/info|" >"$work/urls.txt"
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
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

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
echo "$checks HTTP checks (status and JSON version) on nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///') at concurrency $jobs, median of $rounds runs"
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

verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "NOT met"; fi; }
echo
echo "targets: $checks checks >= 5x faster than xargs+curl: ${speedup}x $(verdict "$speedup >= 5")" \
  "| one check cold <= 2x curl: ${cold}x $(verdict "$cold <= 2")"
