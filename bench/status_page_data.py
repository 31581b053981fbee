"""Writes the data of bench/status-page.sh: a manifest of SERVICES services in 3 environments,
and a watchers' state directory (history.jsonl of EVENTS events over the last 7 days, state.json
covering it), in the forms versioncheck writes them.

usage: status_page_data.py DIR SERVICES EVENTS
"""
import json
import os
import random
import sys
import time

directory, services, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
environments = ["development", "staging", "production"]
random.seed(42)
now = time.time()
os.makedirs(f"{directory}/state", exist_ok=True)

manifest = {"services": []}
for n in range(1, services + 1):
    for env in environments:
        entry = {"name": f"svc-{n:04d}", "environment": env, "urls": [f"http://10.0.{n % 250}.{i}:9090/info" for i in (1, 2)]}
        if env == "production":
            entry["expect"] = "1.4.2"
        manifest["services"].append(entry)
json.dump(manifest, open(f"{directory}/manifest.json", "w"))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


kinds = ["deployed"] * 60 + ["rolled-back"] * 8 + ["drift"] * 10 + ["recovered"] * 10 + ["unreachable"] * 7 + ["first-seen"] * 5
times = sorted(now - random.random() * 7 * 86400 for _ in range(events))
state = {}
with open(f"{directory}/state/history.jsonl", "w") as history:
    for seq, t in enumerate(times, 1):
        n = random.randint(1, services)
        env = random.choice(environments)
        kind = random.choice(kinds)
        instance = f"http://10.0.{n % 250}.{random.choice((1, 2))}:9090/info"
        record = {"seq": seq, "service": f"svc-{n:04d}", "environment": env, "kind": kind, "time": iso(t), "instance": instance}
        minor = random.randint(0, 9)
        if kind in ("deployed", "rolled-back"):
            record["from"], record["to"] = f"1.4.{minor}", f"1.4.{minor + (1 if kind == 'deployed' else -1)}"
        elif kind == "first-seen":
            record["to"] = f"1.4.{minor}"
        elif kind == "drift":
            record["to"], record["expected"] = f"1.4.{minor}", "1.4.2"
        elif kind == "recovered":
            record["problem"] = "drift"
        elif kind == "unreachable":
            record["detail"] = "refused: connection refused by 10.0.0.1:9090"
        history.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")

services_state = {}
for n in range(1, services + 1):
    for env in environments:
        version = "1.4.2" if random.random() < 0.97 else "1.4.1"
        instances = {f"http://10.0.{n % 250}.{i}:9090/info": {"version": version if i == 1 else random.choice([version, "1.4.2"])}
                     for i in (1, 2)}
        if random.random() < 0.01:
            instances[f"http://10.0.{n % 250}.2:9090/info"]["unreachable"] = True
        services_state[f"svc-{n:04d}@{env}"] = {"versions": ["1.4.1", "1.4.2"], "lastChange": iso(now - 3600), "instances": instances}
size = os.path.getsize(f"{directory}/state/history.jsonl")
json.dump({"historyOffset": size, "lastSequence": events, "services": services_state},
          open(f"{directory}/state/state.json", "w"), separators=(",", ":"))
