#!/usr/bin/env python3
"""Crash campaign for versioncheck watch: kill -9 a looping watcher at random moments, over and
over, while services change versions and an alert receiver sometimes answers 500 or 429; then
one clean cycle drains the outbox. Prints what a user of a deployment gate needs to trust it:
kills, cycles, events in history, alerts expected, received, duplicated, lost, failed for good,
and unreadable history records.

usage: crash_campaign.py VERSIONCHECK [--kills N] [--services N] [--changing N] [--seed N]
       [--state DIR_OR_URL] [--work DIR]

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
    parser.add_argument("--work", default=None)
    parser.add_argument("--max-life", type=float, default=1.2, help="longest a watcher lives before its kill (s)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="crash-campaign-")
    state = args.state or os.path.join(work, "state")
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
        process = subprocess.Popen(command + ["--every", "250ms"], stdout=log, stderr=log)
        time.sleep(rng.uniform(0.02, args.max_life))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (kill + 1) % 100 == 0:
            print("  %d kills, %.0fs" % (kill + 1, time.monotonic() - started), file=sys.stderr, flush=True)
    stop_changes.set()
    changer.join()

    # One clean cycle: the receiver answers 200 from now on, the outbox drains.
    receiver.flaky = False
    final = subprocess.run(command + ["--once", "--deliver-within", "120s"], stdout=log, stderr=log)
    log.close()

    # What history says should have been alerted: the watcher's grouping (one alert per service,
    # cycle, event type and from -> to; its id is the first event's), to both channels.
    events = 0
    unreadable = 0
    groups = {}
    history_path = os.path.join(state, "history.jsonl")
    records = []
    if os.path.exists(history_path):
        with open(history_path, "rb") as file:
            for line in file:
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
        groups.setdefault(group, event["seq"])
    expected = {"evt-%d:%s" % (seq, channel) for seq in groups.values() for channel in ("ops", "team")}
    delivered = {key: answers for key, answers in receiver.answers.items() if 200 in answers}
    duplicated = sum(answers.count(200) - 1 for answers in delivered.values() if answers.count(200) > 1)
    duplicated_keys = sorted(key for key, answers in delivered.items() if answers.count(200) > 1)
    lost = sorted(expected - set(delivered))
    unexpected = sorted(set(delivered) - expected)
    with open(log_path, "rb") as file:
        output = file.read().decode("utf-8", "replace")
    cycles = output.count("  cycle: ")
    in_doubt = sum(int(match) for match in re.findall(r"(\d+) alerts? (?:was|were) being sent when the last watcher stopped", output))
    leaks = [name for name in ("watcher output",) if SECRET.split("/")[0] in output or SECRET.split("/")[2] in output]
    if not args.state or "://" not in args.state:
        for name in ("deliveries.jsonl", "history.jsonl", "state.json"):
            path = os.path.join(state, name)
            if os.path.exists(path):
                with open(path, "rb") as file:
                    text = file.read().decode("utf-8", "replace")
                if SECRET.split("/")[0] in text or SECRET.split("/")[2] in text:
                    leaks.append(name)
    failed = 0
    deliveries = os.path.join(state, "deliveries.jsonl")
    if os.path.exists(deliveries):
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

    rows = [
        ("kills", args.kills),
        ("watcher cycles completed", cycles),
        ("events in history", events),
        ("alerts expected (alert x channel)", len(expected)),
        ("received (answered 2xx)", len(delivered)),
        ("on the wire at a kill (sent again)", in_doubt),
        ("duplicated (2xx more than once)", duplicated),
        ("lost", len(lost)),
        ("failed for good", failed),
        ("unexpected", len(unexpected)),
        ("unreadable history records", unreadable),
        ("secret seen in", ", ".join(leaks) or "nowhere"),
        ("final --once exit status", final.returncode),
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
    print("work directory:", work)
    ok = not lost and not unexpected and unreadable == 0 and not leaks and duplicated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
