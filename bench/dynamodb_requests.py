#!/usr/bin/env python3
"""What a watch cycle with `--state dynamodb://TABLE` costs in AWS requests, counted by versioncheck
itself (the `AWS requests:` line of `watch --once`), at moto's server (scripts/moto_server.py):
SERVICES services (one instance each, one webhook channel), a first cycle, an unchanged cycle, and
a cycle in which CHANGED of them deployed a new version (their alerts delivered in the same run).

usage: dynamodb_requests.py VERSIONCHECK [--services 1000] [--changed 10]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchservers import AlertReceiver, FleetInfo, serve  # noqa: E402


class Fleet:
    def __init__(self):
        self.versions = {}

    def version(self, n):
        return self.versions[n]


class Receiver:
    def __init__(self):
        self.keys = []

    def answer(self, key, path):
        self.keys.append(key)
        return 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("versioncheck")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    fleet, receiver = Fleet(), Receiver()
    versions = fleet.versions
    for n in range(1, args.services + 1):
        versions[n] = "1.0.0"
    info, hook = serve(FleetInfo, fleet), serve(AlertReceiver, receiver)
    moto = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "scripts", "moto_server.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = json.loads(moto.stdout.readline())
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint["endpoint"], AWS_ACCESS_KEY_ID=endpoint["key"],
               AWS_SECRET_ACCESS_KEY=endpoint["secret"], AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    work = tempfile.mkdtemp(prefix="dynamodb-requests-")
    manifest = os.path.join(work, "fleet.json")
    with open(manifest, "w") as file:
        json.dump({"channels": {"ops": {"type": "webhook", "url": "http://127.0.0.1:%d/hook" % hook.server_port}},
                   "services": [{"name": "svc-%d" % n, "environment": "production",
                                 "url": "http://127.0.0.1:%d/svc/%d/info" % (info.server_port, n), "notify": ["ops"]}
                                for n in versions]}, file)
    run = lambda *extra: subprocess.run([args.versioncheck, *extra], env=env, capture_output=True, text=True)
    created = run("state", "init", "dynamodb://bench")
    assert created.returncode == 0, created.stderr

    def cycle(name):
        result = run("watch", "--once", "--manifest", manifest, "--state", "dynamodb://bench")
        line = re.search(r"AWS requests: (.*)", result.stderr)
        counts = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", line.group(1))) if line else {}
        cycle_line = re.search(r"cycle: .*", result.stdout)
        print("%-44s %5d requests  (%s)  %s" % (name, sum(counts.values()), ", ".join("%s %d" % kv for kv in sorted(counts.items())),
                                                 cycle_line.group(0) if cycle_line else result.stderr.strip()[-200:]))

    print("watch --once with --state dynamodb:// at moto: %d services, 1 instance and 1 webhook channel each" % args.services)
    print("(each --once process also sends 1 DescribeTable when it opens the table)")
    cycle("first cycle (%d first-seen)" % args.services)
    cycle("unchanged")
    for n in range(1, args.changed + 1):
        versions[n] = "1.1.0"
    cycle("%d services deployed (alerts delivered)" % args.changed)
    print("alerts received: %d (distinct %d)" % (len(receiver.keys), len(set(receiver.keys))))
    moto.terminate()


if __name__ == "__main__":
    main()
