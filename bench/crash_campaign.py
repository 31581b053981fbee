#!/usr/bin/env python3
"""Crash campaign for versioncheck watch: kill -9 a looping watcher at random moments, over and
over, while services change versions and an alert receiver sometimes answers 500 or 429; then
one clean cycle drains the outbox. Prints what a user of a deployment gate needs to trust it:
kills, cycles, events in history, alerts expected, received, duplicated, lost, failed for good,
and unreadable history records.

usage: crash_campaign.py VERSIONCHECK [--kills N] [--services N] [--changing N] [--seed N]
       [--state DIR_OR_URL] [--dynamodb] [--work DIR] [--max-life SECONDS] [--drain-within DURATION]

With --dynamodb the state is `dynamodb://TABLE` at moto's server (scripts/moto_server.py, signature
checking on): the history is then read back with `versioncheck history --format json`, and the
deliveries failed for good are not counted (they are DynamoDB items).

Everything binds 127.0.0.1 and stops when the script ends. The receiver's URL path holds a
made-up secret; the script also checks that it never appears in the watcher's output or its
state files.
"""
import argparse
import json
import re
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchservers import AlertReceiver, FleetInfo, serve  # noqa: E402

SECRET = "T0SECRET1/B0SECRET2/Xq7SecretTokenZ9"


class Fleet:
    """The services' versions, changed by the campaign while the watcher runs."""

    def __init__(self, count):
        self.lock = threading.Lock()
        self.versions = {n: (1, 0, 0) for n in range(1, count + 1)}
        self.ever = {n: [(1, 0, 0)] for n in self.versions}

    def change(self, rng, count):
        with self.lock:
            for n in rng.sample(sorted(self.versions), count):
                history = self.ever[n]
                if len(history) > 1 and rng.random() < 0.25:
                    self.versions[n] = history[-2]  # a rollback
                else:
                    major, minor, patch = max(history)
                    new = (major, minor, patch + 1)
                    history.append(new)
                    self.versions[n] = new

    def version(self, n):
        with self.lock:
            return "%d.%d.%d" % self.versions[n]


class Receiver:
    """Counts deliveries by Idempotency-Key and the answer each got."""

    def __init__(self, rng):
        self.lock = threading.Lock()
        self.answers = defaultdict(list)  # key -> [status, …]
        self.rng = rng
        self.flaky = True
        self.paths_ok = 0
        self.paths_bad = 0

    def answer(self, key, path):
        with self.lock:
            if SECRET in path:
                self.paths_ok += 1
            else:
                self.paths_bad += 1
            status = 200
            if self.flaky:
                roll = self.rng.random()
                status = 500 if roll < 0.08 else 429 if roll < 0.12 else 200
            self.answers[key].append(status)
            return status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("versioncheck")
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--changing", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--state", default=None, help="--state for the watcher (default: a directory in --work)")
    parser.add_argument("--dynamodb", action="store_true", help="state in DynamoDB at moto's server")
    parser.add_argument("--work", default=None)
    parser.add_argument("--max-life", type=float, default=None,
                        help="longest a watcher lives before its kill (s; default 1.2, or 3 with --dynamodb, "
                             "where a cycle at moto takes about 0.6 s)")
    parser.add_argument("--drain-within", default="120s", help="the final cycle's --deliver-within")
    args = parser.parse_args()

    if args.max_life is None:
        args.max_life = 3.0 if args.dynamodb else 1.2
    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="crash-campaign-")
    state = args.state or os.path.join(work, "state")
    environment = dict(os.environ)
    moto = None
    if args.dynamodb:
        here = os.path.dirname(os.path.abspath(__file__))
        moto = subprocess.Popen([sys.executable, os.path.join(here, "..", "scripts", "moto_server.py")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = moto.stdout.readline()
        if not line.startswith("{"):
            sys.exit("moto's server did not start (pip install 'moto[server]' boto3): " + line.strip())
        endpoint = json.loads(line)
        environment.update(AWS_ENDPOINT_URL=endpoint["endpoint"], AWS_ACCESS_KEY_ID=endpoint["key"],
                           AWS_SECRET_ACCESS_KEY=endpoint["secret"], AWS_REGION="us-east-1",
                           AWS_EC2_METADATA_DISABLED="true")
        state = "dynamodb://crash-campaign"
        subprocess.run([args.versioncheck, "state", "init", state], env=environment, check=True,
                       stdout=subprocess.DEVNULL)
    fleet = Fleet(args.services)
    receiver = Receiver(random.Random(args.seed + 1))
    info = serve(FleetInfo, fleet)
    hooks = serve(AlertReceiver, receiver)
    manifest = os.path.join(work, "manifest.json")
    with open(manifest, "w") as file:
        json.dump({
            "settings": {"initialBackoff": "20ms", "maxBackoff": "100ms", "deliveryAttempts": 100, "timeout": "2s"},
            "channels": {
                "ops": {"type": "webhook", "url": "http://127.0.0.1:%d/ops/%s" % (hooks.server_port, SECRET)},
                "team": {"type": "webhook", "url": "http://127.0.0.1:%d/team/%s" % (hooks.server_port, SECRET)},
            },
            "services": [{"name": "svc-%d" % n, "environment": "campaign",
                          "url": "http://127.0.0.1:%d/svc/%d/info" % (info.server_port, n), "notify": ["ops", "team"]}
                         for n in range(1, args.services + 1)],
        }, file)
    log_path = os.path.join(work, "watcher.log")
    log = open(log_path, "ab")
    command = [args.versioncheck, "watch", "--manifest", manifest, "--state", state]

    # Versions change on a timeline of their own, so kills land anywhere in a cycle.
    stop_changes = threading.Event()

    def change_versions():
        change_rng = random.Random(args.seed + 2)
        while not stop_changes.wait(change_rng.uniform(0.3, 0.9)):
            fleet.change(change_rng, args.changing)

    changer = threading.Thread(target=change_versions, daemon=True)
    changer.start()
    started = time.monotonic()
    for kill in range(args.kills):
        process = subprocess.Popen(command + ["--every", "250ms"], stdout=log, stderr=log, env=environment)
        time.sleep(rng.uniform(0.02, args.max_life))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (kill + 1) % 100 == 0:
            print("  %d kills, %.0fs" % (kill + 1, time.monotonic() - started), file=sys.stderr, flush=True)
    stop_changes.set()
    changer.join()

    # One clean cycle: the receiver answers 200 from now on, the outbox drains.
    with receiver.lock:
        before_drain = sum(1 for answers in receiver.answers.values() if 200 in answers)
    receiver.flaky = False
    drain_started = time.monotonic()
    final = subprocess.run(command + ["--once", "--deliver-within", args.drain_within], stdout=log, stderr=log, env=environment)
    drain_seconds = time.monotonic() - drain_started
    log.close()

    # What history says should have been alerted: the watcher's grouping (one alert per service,
    # cycle, event type and from -> to; its id is the first event's), to both channels.
    events = 0
    unreadable = 0
    groups = {}
    records = []
    if args.dynamodb:
        # Every history item, read with boto3 (not versioncheck's reader, which skips what it
        # cannot read): each holds one cycle's events of a service as JSON lines.
        import boto3
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint["endpoint"], region_name="us-east-1",
                                aws_access_key_id=endpoint["key"], aws_secret_access_key=endpoint["secret"])
        lines = []
        for page in dynamodb.get_paginator("scan").paginate(
                TableName=state[len("dynamodb://"):], FilterExpression="begins_with(pk, :h)",
                ExpressionAttributeValues={":h": {"S": "history#"}}):
            for item in page["Items"]:
                stored = item.get("events", {}).get("S")
                if stored is None:
                    unreadable += 1
                    continue
                lines += stored.encode().splitlines()
    else:
        history_path = os.path.join(state, "history.jsonl")
        lines = open(history_path, "rb").read().splitlines() if os.path.exists(history_path) else []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            unreadable += 1
    for event in records:
        events += 1
        if event.get("kind") == "first-seen":
            continue
        group = (event["service"], event["environment"], event["time"], event["kind"], event.get("from"),
                 event.get("to"), event.get("problem"))
        groups.setdefault(group, event.get("id") or "evt-%d" % event["seq"])
    expected = {"%s:%s" % (event_id, channel) for event_id in groups.values() for channel in ("ops", "team")}
    delivered = {key: answers for key, answers in receiver.answers.items() if 200 in answers}
    duplicated = sum(answers.count(200) - 1 for answers in delivered.values() if answers.count(200) > 1)
    duplicated_keys = sorted(key for key, answers in delivered.items() if answers.count(200) > 1)
    lost = sorted(expected - set(delivered))
    unexpected = sorted(set(delivered) - expected)
    with open(log_path, "rb") as file:
        output = file.read().decode("utf-8", "replace")
    cycles = output.count("  cycle: ")
    in_doubt = sum(int(match) for match in re.findall(r"(\d+) alerts? (?:was|were) being sent (?:when the last watcher stopped|by a watcher that stopped)", output))
    leaks = [name for name in ("watcher output",) if SECRET.split("/")[0] in output or SECRET.split("/")[2] in output]
    if not args.state or "://" not in args.state:
        for name in ("deliveries.jsonl", "history.jsonl", "state.json"):
            path = os.path.join(state, name)
            if os.path.exists(path):
                with open(path, "rb") as file:
                    text = file.read().decode("utf-8", "replace")
                if SECRET.split("/")[0] in text or SECRET.split("/")[2] in text:
                    leaks.append(name)
    failed = "n/a (DynamoDB)" if args.dynamodb else 0
    deliveries = os.path.join(state, "deliveries.jsonl")
    if not args.dynamodb and os.path.exists(deliveries):
        ends = {}
        with open(deliveries, "rb") as file:
            for line in file:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("state") in ("delivered", "failed"):
                    ends[record["id"]] = record["state"]
        failed = sum(1 for state_ in ends.values() if state_ == "failed")

    # A lost alert with DynamoDB state: still in the outbox (undelivered, not lost for good), its
    # delivery record failed, or nowhere at all.
    lost_where = ""
    if args.dynamodb and lost:
        places = defaultdict(int)
        table = state[len("dynamodb://"):]
        for key in lost:
            pending = dynamodb.get_item(TableName=table, Key={"pk": {"S": "outbox"}, "sk": {"S": key}},
                                        ConsistentRead=True).get("Item")
            record = dynamodb.get_item(TableName=table, Key={"pk": {"S": "delivery#" + key}, "sk": {"S": "delivery"}},
                                       ConsistentRead=True).get("Item")
            places["pending in the outbox" if pending else
                   "recorded %s" % record["state"]["S"] if record else "nowhere"] += 1
        lost_where = " (%s)" % ", ".join("%s: %d" % place for place in sorted(places.items()))
    rows = [
        ("kills", args.kills),
        ("watcher cycles completed", cycles),
        ("events in history", events),
        ("alerts expected (alert x channel)", len(expected)),
        ("received (answered 2xx)", len(delivered)),
        ("  of them before the final cycle", before_drain),
        ("on the wire at a kill (sent again)", in_doubt),
        ("duplicated (2xx more than once)", duplicated),
        ("lost", "%d%s" % (len(lost), lost_where)),
        ("failed for good", failed),
        ("unexpected", len(unexpected)),
        ("unreadable history records", unreadable),
        ("secret seen in", ", ".join(leaks) or "nowhere"),
        ("final --once exit status", "%d (%.0fs)" % (final.returncode, drain_seconds)),
        ("wall time", "%.0fs" % (time.monotonic() - started)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print("%-*s  %s" % (width, name, value))
    if duplicated_keys:
        print("duplicated keys (first 10):", ", ".join(duplicated_keys[:10]))
    if lost:
        print("lost keys (first 10):", ", ".join(lost[:10]))
    if unexpected:
        print("unexpected keys (first 10):", ", ".join(unexpected[:10]))
    if final.returncode != 0:
        with open(log_path, "rb") as file:
            tail = file.read().decode("utf-8", "replace").splitlines()[-15:]
        print("the final --once exited %d; the watcher's log ends:" % final.returncode)
        for line in tail:
            print("  " + line)
    print("work directory:", work)
    if moto:
        moto.terminate()
    ok = not lost and not unexpected and unreadable == 0 and not leaks and duplicated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
