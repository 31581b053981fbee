"""The reference of bench/status-page.sh: the same status page data rendered the plain way in
Python, with json.loads of every history line, html.escape and string joins: the grid of
services x environments from the manifest and state.json, 3-hour buckets over the last 7 days per
service (the 25 most recently active), the fleet's counts, and the latest 100 events.

usage: status_page_python.py MANIFEST STATE_DIR OUTPUT ROUNDS
Prints "load_ms render_ms bytes" per round (medians are taken by the caller).
"""
import html
import json
import sys
import time
from datetime import datetime, timezone

manifest_path, state_dir, output, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
SEVERITY = {"unreachable": 8, "drift": 7, "rolled-back": 5, "deployed": 3, "recovered": 1, "first-seen": 0}
RANK = {"development": 0, "dev": 0, "test": 1, "qa": 1, "staging": 2, "stage": 2, "preprod": 3, "production": 4, "prod": 4}


def parse_time(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def load():
    manifest = json.load(open(manifest_path))
    state = json.load(open(f"{state_dir}/state.json"))
    events = []
    with open(f"{state_dir}/history.jsonl") as history:
        for line in history:
            event = json.loads(line)
            event["t"] = parse_time(event["time"])
            events.append(event)
    return manifest, state, events


def render(manifest, state, events, now):
    e = html.escape
    out = ["<!doctype html><html><head><meta charset=utf-8><title>Fleet status</title></head><body><h1>Fleet status</h1>"]
    rows, envs = {}, []
    for service in manifest["services"]:
        env = service.get("environment", "default")
        if env not in envs:
            envs.append(env)
        instances = state["services"].get(f"{service['name']}@{env}", {}).get("instances", {})
        counts = {}
        down = 0
        for url in service.get("urls", [service.get("url")]):
            instance = instances.get(url, {})
            if instance.get("unreachable") or not instance.get("version"):
                down += 1
            else:
                counts[instance["version"]] = counts.get(instance["version"], 0) + 1
        rows.setdefault(service["name"], {})[env] = (counts, down, service.get("expect"))
    envs.sort(key=lambda name: (RANK.get(name, 5), name))
    out.append("<table><thead><tr><th>Service</th>" + "".join(f"<th>{e(env)}</th>" for env in envs) + "</tr></thead><tbody>")
    for name, cells in rows.items():
        out.append(f'<tr data-service="{e(name)}"><th>{e(name)}</th>')
        for env in envs:
            if env not in cells:
                out.append("<td>—</td>")
                continue
            counts, down, expected = cells[env]
            drift = expected is not None and any(version != expected for version in counts)
            text = ", ".join(f"{count}× {e(version)}" for version, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            badges = ("<span>⚠ drift</span> " if drift else "") + (f"<span>✖ {down} unreachable</span> " if down else "") + \
                ("<span>◐ mixed</span> " if len(counts) > 1 else "")
            out.append(f'<td class="{"drift" if drift else "ok"}">{badges}{text}' +
                       (f"<small>expected {e(expected)}</small>" if expected else "") + "</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    since, width = now - 7 * 86400, 10800
    origin = since // width * width
    per_service, fleet, latest = {}, {}, []
    for event in events:
        if event["t"] < since or event["t"] > now:
            continue
        bucket = int((event["t"] - origin) // width)
        fleet[bucket] = fleet.get(bucket, 0) + 1
        row = per_service.setdefault(event["service"], {"latest": 0, "buckets": {}})
        row["latest"] = event["t"]
        row["buckets"].setdefault(bucket, []).append(event)
        latest.append(event)
    out.append('<svg viewBox="0 0 960 700" width="960">')
    for bucket, count in sorted(fleet.items()):
        out.append(f'<rect x="{190 + bucket * 13.5:.1f}" y="20" width="12.5" height="{min(32, count):.1f}"><title>{count} events</title></rect>')
    ordered = sorted(per_service.items(), key=lambda kv: (-kv[1]["latest"], kv[0]))[:25]
    for index, (name, row) in enumerate(ordered):
        y = 73 + index * 22
        out.append(f'<g data-service="{e(name)}"><text x="4" y="{y + 4}">{e(name)}</text>')
        for bucket, items in sorted(row["buckets"].items()):
            worst = max(items, key=lambda item: SEVERITY.get(item["kind"], 0))["kind"]
            x = 190 + (items[0]["t"] - since) / (now - since) * 756
            href = f"?service={e(name)}&amp;since={int(origin + bucket * width)}&amp;until={int(origin + (bucket + 1) * width)}#events"
            title = ", ".join(f"{sum(1 for item in items if item['kind'] == kind)} {kind}" for kind in sorted({item["kind"] for item in items}))
            out.append(f'<a href="{href}"><use href="#k-{worst}" x="{x - 6:.1f}" y="{y - 6}"/>' +
                       (f'<text x="{x + 7:.1f}" y="{y - 2}">{len(items)}</text>' if len(items) > 1 else "") + f"<title>{e(title)}</title></a>")
        out.append("</g>")
    out.append("</svg><table><tbody>")
    for event in reversed(latest[-100:]):
        change = f"{event.get('from', '')} → {event.get('to', '')}"
        out.append(f'<tr id="e-evt-{event["seq"]}"><td>{e(event["time"])}</td><td>{e(event["service"])}</td><td>{e(event["environment"])}</td>'
                   f'<td>{e(event["kind"])}</td><td>{e(change)}</td><td>{e(event["instance"])}</td></tr>')
    out.append("</tbody></table></body></html>")
    return "".join(out)


for _ in range(rounds):
    started = time.perf_counter()
    data = load()
    loaded = time.perf_counter()
    page = render(*data, time.time())
    rendered = time.perf_counter()
    with open(output, "w") as file:
        file.write(page)
    print(f"{(loaded - started) * 1000:.1f} {(rendered - loaded) * 1000:.1f} {len(page.encode())}")
