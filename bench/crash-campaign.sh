#!/usr/bin/env bash
# Crash campaign for versioncheck watch (bench/crash_campaign.py does the work): KILLS kill -9s of
# a looping watcher at random moments while 50 of 200 services change versions every 0.3–0.9 s
# and a webhook receiver answers 8% of alerts with 500 and 4% with 429; then one clean
# `watch --once` drains the outbox. Prints kills, cycles, events in history, alerts expected,
# received, sent again after a kill (on the wire when it came), duplicated, lost, failed,
# unreadable history records, and whether the channels' secret URL path showed up anywhere.
# Target: 0 lost, 0 unreadable, no secret; duplicates only among the alerts on the wire at a kill.
#
# usage: bench/crash-campaign.sh [KILLS, default 1000] [extra crash_campaign.py options]
#        bench/crash-campaign.sh 1000 --dynamodb: the same with `--state dynamodb://TABLE` at moto's
#        server (scripts/moto_server.py; moto[server] and boto3 installed with pip when missing);
#        a watcher then lives up to 3 s before its kill (--max-life), a cycle at moto being slower.
# Everything binds 127.0.0.1 and stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-1000}
shift || true
. bench/lib.sh
bench_need python3
versioncheck=$(bench_build versioncheck)
case " $* " in
  *" --dynamodb "*) python3 -c 'import moto, boto3' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' boto3 >&2 ;;
esac
python3 bench/crash_campaign.py "$versioncheck" --kills "$kills" --work "$work" "$@"
