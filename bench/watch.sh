#!/usr/bin/env bash
# versioncheck watch at fleet scale, against named references run side by side:
#  1. One watch cycle over 10,000 services served by nginx (one /info URL each), against
#     versioncheck's own sweep of the same 10,000 URLs (a whole process each): a cycle of the
#     long-running watcher (read, compare, history, snapshot; as logged), and whole
#     `watch --once` processes (manifest and state loaded, then one cycle: the cron case), for
#     the first cycle (10,000 first-seen events written and fsync'd) and a steady one.
#     The same first and steady cycles with `--state dynamodb://TABLE` at moto's server (signature
#     checking on), with the AWS requests each sends.
#  2. `versioncheck history SERVICE` over a store of 1,000,000 events (1,000 services), against
#     `grep -F` of the same service in the same file.
# Prints wall time and peak RSS (median of ROUNDS runs) and the ratios, then the targets:
# a cycle <= 1.5x the sweep; history query < 1 s with RSS < 100 MB.
#
# usage: bench/watch.sh [rounds, default 3]
# Installs nginx, curl and GNU time with apt-get when missing. Everything binds 127.0.0.1 and
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
port=18710
services=10000

. bench/lib.sh
bench_need nginx:nginx-light curl python3 time:time bc
versioncheck=$(bench_build versioncheck)
bench_nginx "$port" "$(bench_fleet_location '{"name":"svc-$1","version":"1.4.2","revision":"0123456789abcdef","environment":"bench"}')" /svc/1/info
bench_urls "$port" "$services" "$work/urls.txt"
python3 - "$work/manifest.json" "$port" "$services" <<'PY'
import json, sys
path, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
services = [{"name": f"svc-{n}", "environment": "bench", "url": f"http://127.0.0.1:{port}/svc/{n}/info", "expect": "1.4.2",
             "notify": ["ops"]} for n in range(1, count + 1)]
json.dump({"settings": {"concurrency": 64},
           "channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:9/unused"}}, "services": services}, open(path, "w"))
PY

wall() { cut -d' ' -f1 "$work/$1.runs" | median; }
rss_mib() { cut -d' ' -f2 "$work/$1.runs" | median | awk '{ printf "%.1f", $1 / 1024 }'; }

for _ in $(seq "$rounds"); do
  bench_run sweep "$versioncheck" --expect 1.4.2 --quiet --concurrency 64 --from-file "$work/urls.txt"
  rm -rf "$work/state"
  bench_run first "$versioncheck" watch --once --quiet --manifest "$work/manifest.json" --state "$work/state"
  bench_run steady "$versioncheck" watch --once --quiet --manifest "$work/manifest.json" --state "$work/state"
done
# The long-running watcher on the same state: the duration of each cycle, as it logs them.
loop_cycles=$((rounds + 2))
/usr/bin/time -f "%e %M" -o "$work/loop.time" "$versioncheck" watch --every 1s --manifest "$work/manifest.json" \
  --state "$work/state" >"$work/loop.out" 2>&1 &
time_pid=$!
for _ in $(seq 600); do
  [ "$(grep -c ' cycle: ' "$work/loop.out" || true)" -ge "$loop_cycles" ] && break
  sleep 0.1
done
pkill -TERM -P "$time_pid" || true
wait "$time_pid" || { echo "the watcher failed:" >&2; cat "$work/loop.out" >&2; exit 1; }
grep ' cycle: ' "$work/loop.out" | sed 's/.* \([0-9.]*\)\(ms\|s\)$/\1 \2/' \
  | awk '{ print ($2 == "ms" ? $1 / 1000 : $1) }' >"$work/cycles.txt"
[ "$(wc -l <"$work/cycles.txt")" -ge "$loop_cycles" ] || { echo "the watcher logged too few cycles:" >&2; cat "$work/loop.out" >&2; exit 1; }
loop_wall=$(median <"$work/cycles.txt")
loop_rss=$(cut -d' ' -f2 "$work/loop.time")

events=$(wc -l <"$work/state/history.jsonl")
[ "$events" = "$services" ] || { echo "expected $services first-seen events, found $events" >&2; exit 1; }

echo
echo "A watch cycle over $services services on nginx $nginx_version (1 worker), concurrency 64, median of $rounds runs"
printf '%-44s %8s %10s %12s\n' run "wall s" "peak RSS" "× sweep"
sweep_wall=$(wall sweep)
printf '%-44s %8s %6s MiB %11s\n' "versioncheck sweep (reference)" "$sweep_wall" "$(rss_mib sweep)" "1.00x"
printf '%-44s %8s %6s MiB %11sx\n' "watch: a cycle of the running watcher" "$loop_wall" \
  "$(awk -v k="$loop_rss" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$loop_wall" "$sweep_wall")"
printf '%-44s %8s %6s MiB %11sx\n' "watch --once, first cycle ($services first-seen)" "$(wall first)" "$(rss_mib first)" "$(ratio "$(wall first)" "$sweep_wall")"
printf '%-44s %8s %6s MiB %11sx\n' "watch --once, steady cycle (state loaded)" "$(wall steady)" "$(rss_mib steady)" "$(ratio "$(wall steady)" "$sweep_wall")"

# The same cycles with the state in DynamoDB: moto's server on 127.0.0.1 (signature checking on)
# stands in for AWS. Requests per cycle are what `watch --once` reports on its last line.
python3 -c 'import moto, flask_cors, boto3' 2>/dev/null || python3 -m pip install --quiet 'moto[server]' boto3
python3 scripts/moto_server.py >"$work/moto.json" 2>"$work/moto.err" &
bench_pids+=($!)
for _ in $(seq 300); do grep -q endpoint "$work/moto.json" 2>/dev/null && break; sleep 0.1; done
grep -q endpoint "$work/moto.json" || { echo "moto did not start:" >&2; cat "$work/moto.err" >&2; exit 1; }
moto_env() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s" % (d["endpoint"], d["key"], d["secret"]))' "$work/moto.json"
}
read -r -a aws_env <<<"$(moto_env) AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true"
requests_of() { grep -o 'AWS requests: .*' "$work/err.txt" | grep -o '[0-9]*' | paste -sd+ | bc; }
for round in $(seq "$rounds"); do
  env "${aws_env[@]}" "$versioncheck" state init "dynamodb://bench-$round" >/dev/null
  bench_run dynamo_first env "${aws_env[@]}" "$versioncheck" watch --once --manifest "$work/manifest.json" --state "dynamodb://bench-$round"
  requests_of >>"$work/dynamo_first.requests"
  bench_run dynamo_steady env "${aws_env[@]}" "$versioncheck" watch --once --manifest "$work/manifest.json" --state "dynamodb://bench-$round"
  requests_of >>"$work/dynamo_steady.requests"
done
printf '%-44s %8s %6s MiB %11sx %s\n' "watch --once, first cycle, dynamodb:// (moto)" "$(wall dynamo_first)" "$(rss_mib dynamo_first)" \
  "$(ratio "$(wall dynamo_first)" "$sweep_wall")" "$(median <"$work/dynamo_first.requests") requests"
printf '%-44s %8s %6s MiB %11sx %s\n' "watch --once, steady cycle, dynamodb:// (moto)" "$(wall dynamo_steady)" "$(rss_mib dynamo_steady)" \
  "$(ratio "$(wall dynamo_steady)" "$sweep_wall")" "$(median <"$work/dynamo_steady.requests") requests"

# A history of 1,000,000 events: 1,000 services × 1,000 events, lines as versioncheck writes them.
python3 - "$work/history/history.jsonl" <<'PY'
import os, sys
path = sys.argv[1]
os.makedirs(os.path.dirname(path), exist_ok=True)
kinds = ["deployed", "rolled-back", "drift", "recovered"]
with open(path, "w") as out:
    seq = 0
    lines = []
    for round_ in range(1000):
        for service in range(1, 1001):
            seq += 1
            kind = kinds[(round_ + service) % 4]
            minute, second = divmod(seq % 3600, 60)
            lines.append(f'{{"seq":{seq},"service":"svc-{service}","environment":"production","kind":"{kind}",'
                         f'"time":"2026-{1 + round_ // 100:02d}-{1 + round_ % 28:02d}T{seq % 24:02d}:{minute:02d}:{second:02d}.000Z",'
                         f'"instance":"http://10.0.{service // 250}.{service % 250}:9090/info","from":"1.{round_}.0","to":"1.{round_ + 1}.0",'
                         f'"revision":"{seq:040x}"}}\n')
        if len(lines) > 100000:
            out.writelines(lines)
            lines = []
    out.writelines(lines)
PY
size=$(du -m "$work/history/history.jsonl" | cut -f1)
for _ in $(seq "$rounds"); do
  bench_run grep grep -F '"service":"svc-500",' "$work/history/history.jsonl"
  bench_run query "$versioncheck" history svc-500 --state "$work/history" --format json
  bench_run table "$versioncheck" history svc-500 --state "$work/history" --limit 20
  bench_run last "$versioncheck" history --state "$work/history" --limit 20
  bench_run all "$versioncheck" history --state "$work/history" --format json
done
found=$("$versioncheck" history svc-500 --state "$work/history" --format json | grep -c '"seq"' || true)
[ "$found" = 1000 ] || { echo "history svc-500 found $found events, not 1000" >&2; exit 1; }
echo
echo "history over 1,000,000 events ($size MB), one service's 1,000 events, median of $rounds runs"
printf '%-44s %8s %10s %12s\n' run "wall s" "peak RSS" "× grep"
grep_wall=$(wall grep)
printf '%-44s %8s %6s MiB %11s\n' "grep -F '\"service\":\"svc-500\",' (reference)" "$grep_wall" "$(rss_mib grep)" "1.00x"
printf '%-44s %8s %6s MiB %11sx\n' "history svc-500 --format json" "$(wall query)" "$(rss_mib query)" "$(ratio "$(wall query)" "$grep_wall")"
printf '%-44s %8s %6s MiB %11sx\n' "history svc-500 --limit 20 (table)" "$(wall table)" "$(rss_mib table)" "$(ratio "$(wall table)" "$grep_wall")"
printf '%-44s %8s %6s MiB %11sx\n' "history --limit 20 (the last of all)" "$(wall last)" "$(rss_mib last)" "$(ratio "$(wall last)" "$grep_wall")"
printf '%-44s %8s %6s MiB %11sx\n' "history --format json (all 1,000,000)" "$(wall all)" "$(rss_mib all)" "$(ratio "$(wall all)" "$grep_wall")"

loop_ratio=$(ratio "$loop_wall" "$sweep_wall")
first_ratio=$(ratio "$(wall first)" "$sweep_wall")
steady_ratio=$(ratio "$(wall steady)" "$sweep_wall")
query_wall=$(wall query)
query_rss=$(cut -d' ' -f2 "$work/query.runs" | median)
echo
echo "targets: a cycle <= 1.5x sweep: ${loop_ratio}x $(verdict "$loop_ratio <= 1.5")" \
  "(whole --once processes: first ${first_ratio}x $(verdict "$first_ratio <= 1.5"), steady ${steady_ratio}x $(verdict "$steady_ratio <= 1.5"))" \
  "| history query < 1 s: ${query_wall} s $(verdict "$query_wall < 1")" \
  "| RSS < 100 MB: $((query_rss / 1024)) MiB $(verdict "$query_rss < 97656")"
