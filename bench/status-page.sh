#!/usr/bin/env bash
# The status page at fleet scale, against named references run side by side. The data: 1,000
# services × 3 environments (2 instances each), a history of 100,000 events over the last 7 days
# and the state snapshot that covers it, in the forms the watcher writes (bench/status_page_data.py).
#  1. `versioncheck serve`: GET / (the page rendered on the server from its warm history index),
#     GET /api/history and GET /api/status, timed by curl on 127.0.0.1; against nginx serving the
#     same page pre-rendered as a static file.
#  2. `versioncheck status --format html`, a whole process (manifest, state and history read, the
#     history indexed, the page rendered); against the same page data rendered in Python
#     (bench/status_page_python.py: json.loads of every line, html.escape, string joins), whose
#     load and render are timed inside the interpreter (its start-up not counted).
# Prints the median of ROUNDS of each, bytes, and the ratios, then the targets: the page
# rendered on the server in under 200 ms, and under 1 MB.
#
# usage: bench/status-page.sh [rounds, default 5]
# Installs nginx, curl and GNU time with apt-get when missing. Everything binds 127.0.0.1 and
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
nginx_port=18760
serve_port=18761

. bench/lib.sh
bench_need nginx:nginx-light curl python3 time:time
versioncheck=$(bench_build versioncheck)
echo "writing 1,000 services × 3 environments and 100,000 events …" >&2
nice -n 5 python3 bench/status_page_data.py "$work" 1000 100000

# 2. Whole processes: versioncheck status --format html, and the Python rendering.
for _ in $(seq "$rounds"); do
  bench_run file bash -c '"$1" status --manifest "$2/manifest.json" --state "$2/state" --format html >"$2/status.html" || [ $? -eq 1 ]' \
    _ "$versioncheck" "$work"
done
page_bytes=$(wc -c <"$work/status.html")
python3 bench/status_page_python.py "$work/manifest.json" "$work/state" "$work/python.html" "$rounds" >"$work/python.runs"

# 1. Served: versioncheck serve, and nginx with the pre-rendered page.
mkdir -p "$work/static"
cp "$work/status.html" "$work/static/index.html"
chmod a+x "$work" && chmod -R a+rX "$work/static" # nginx's worker runs as nobody
bench_nginx "$nginx_port" "location / { root $work/static; }" /index.html
"$versioncheck" serve --manifest "$work/manifest.json" --state "$work/state" --host 127.0.0.1 --port "$serve_port" \
  >"$work/serve.log" 2>&1 &
bench_pids+=($!)
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$serve_port/info" && break; sleep 0.05; done
timed() { # NAME URL: ROUNDS timed GETs after one to warm up; "seconds bytes" per line in $work/NAME.get
  curl -sf -o /dev/null "$2"
  for _ in $(seq "$rounds"); do curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' "$2" >>"$work/$1.get"; done
}
timed page "http://127.0.0.1:$serve_port/"
timed history "http://127.0.0.1:$serve_port/api/history"
timed status "http://127.0.0.1:$serve_port/api/status"
timed nginx "http://127.0.0.1:$nginx_port/index.html"

ms() { cut -d' ' -f1 "$work/$1.$2" | median | awk '{ printf "%.1f", $1 * 1000 }'; }
bytes() { cut -d' ' -f2 "$work/$1.get" | median; }
page_ms=$(ms page get)
nginx_ms=$(ms nginx get)
file_ms=$(ms file runs)
python_load=$(cut -d' ' -f1 "$work/python.runs" | median)
python_render=$(cut -d' ' -f2 "$work/python.runs" | median)
python_total=$(awk -v a="$python_load" -v b="$python_render" 'BEGIN { printf "%.1f", a + b }')
python_bytes=$(cut -d' ' -f3 "$work/python.runs" | median)

echo
echo "status page: 1,000 services × 3 environments, 100,000 events over 7 days (median of $rounds)"
echo
echo "| run | time | bytes | × reference |"
echo "| --- | --- | --- | --- |"
echo "| nginx $nginx_version, the pre-rendered page (reference) | $nginx_ms ms | $(bytes nginx) | 1.00× |"
echo "| serve: GET / (rendered on the server) | $page_ms ms | $(bytes page) | $(ratio "$page_ms" "$nginx_ms")× |"
echo "| serve: GET /api/history | $(ms history get) ms | $(bytes history) | $(ratio "$(ms history get)" "$nginx_ms")× |"
echo "| serve: GET /api/status | $(ms status get) ms | $(bytes status) | $(ratio "$(ms status get)" "$nginx_ms")× |"
echo "| Python: load (json.loads of every line) + render (html.escape, joins) (reference) | $python_total ms ($python_load + $python_render) | $python_bytes | 1.00× |"
echo "| status --format html, whole process (load, index, render) | $file_ms ms | $page_bytes | $(ratio "$file_ms" "$python_total")× |"
echo "| serve: GET / against Python's render alone | $page_ms ms | | $(ratio "$page_ms" "$python_render")× |"
echo
echo "targets: the page rendered on the server in under 200 ms: $page_ms ms, $(verdict "$page_ms < 200");" \
  "under 1 MB: $page_bytes bytes, $(verdict "$page_bytes < 1048576")"
