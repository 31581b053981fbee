#!/usr/bin/env python3
"""The misbehaving clients of bench/soak.sh, beside wrk's load, for SECONDS against 127.0.0.1:PORT:

- IDLE keep-alive connections: each sends one `GET /info`, reads the answer, then says nothing;
  when the server closes it (idle timeout, or to make room at its connection limit) it comes back
  a second later;
- SLOW slowloris clients: a request line, then one header byte every 2 s, never the blank line;
  the server should answer 408 (request timeout) and close; they come back at once;
- CONNECTS connects-and-closes spread over the run, half closed at once (FIN), half reset
  (SO_LINGER 0: RST), by 16 workers;
- a probe: one keep-alive `GET /info` every 20 ms (and, with --phase, `GET /hooks/PHASE` once a
  second on a connection of its own), timing each; an error or a status other than 200 is counted.

Prints one JSON object: probe latencies (p50, p99, max, count, errors), and what each kind of
client saw. Every loop is bounded by SECONDS; the script stops by itself.
"""
import argparse
import asyncio
import json
import resource
import socket
import struct
import time

REQUEST = b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def read_response(reader):
    """Reads one HTTP/1.1 response with a Content-Length body; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


class Soak:
    def __init__(self, port, seconds):
        self.port = port
        self.deadline = time.monotonic() + seconds
        self.counts = {"idle_connects": 0, "idle_closed_by_server": 0, "idle_refused": 0,
                       "slow_connects": 0, "slow_408": 0, "slow_closed_without_408": 0,
                       "connect_close": 0, "connect_close_errors": 0,
                       "probe_errors": 0, "phase_requests": 0, "phase_errors": 0}
        self.latencies = []
        self.statuses = {}

    def running(self):
        return time.monotonic() < self.deadline

    def left(self):
        return max(0.0, self.deadline - time.monotonic())

    async def idle(self):
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.counts["idle_refused"] += 1
                await asyncio.sleep(1)
                continue
            self.counts["idle_connects"] += 1
            try:
                writer.write(REQUEST)
                status = await read_response(reader)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                # Now idle: wait for the server to close it, or for the end.
                data = await asyncio.wait_for(reader.read(1), timeout=self.left() + 0.1)
                if data == b"":
                    self.counts["idle_closed_by_server"] += 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                pass
            finally:
                writer.close()
            await asyncio.sleep(1)

    async def slow(self):
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(1)
                continue
            self.counts["slow_connects"] += 1
            try:
                writer.write(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                answered = None
                while self.running() and answered is None:
                    try:
                        answered = await asyncio.wait_for(reader.read(64), timeout=2)
                    except asyncio.TimeoutError:
                        writer.write(b"a")
                        await writer.drain()
                if answered is not None:
                    if answered.startswith(b"HTTP/1.1 408"):
                        self.counts["slow_408"] += 1
                    else:
                        self.counts["slow_closed_without_408"] += 1
            except (OSError, asyncio.IncompleteReadError):
                self.counts["slow_closed_without_408"] += 1
            finally:
                writer.close()

    async def connect_close(self, total, workers, index):
        mine = total // workers + (1 if index < total % workers else 0)
        start = time.monotonic()
        span = self.left()
        for n in range(mine):
            if not self.running():
                return
            # Evenly spread over the run.
            due = start + span * n / mine
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
                if n % 2:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.counts["connect_close"] += 1
            except OSError:
                self.counts["connect_close_errors"] += 1
            finally:
                sock.close()

    async def probe(self):
        reader = writer = None
        while self.running():
            began = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(REQUEST)
                status = await asyncio.wait_for(read_response(reader), timeout=5)
                if status != 200:
                    self.counts["probe_errors"] += 1
                self.latencies.append(time.monotonic() - began)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                self.counts["probe_errors"] += 1
                if writer:
                    writer.close()
                reader = writer = None
            await asyncio.sleep(max(0.0, 0.02 - (time.monotonic() - began)))
        if writer:
            writer.close()

    async def phase(self, name):
        request = ("GET /hooks/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % name).encode()
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(request)
                status = await asyncio.wait_for(read_response(reader), timeout=30)
                self.counts["phase_requests"] += 1
                if status != 200:
                    self.counts["phase_errors"] += 1
                writer.close()
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                self.counts["phase_errors"] += 1
            await asyncio.sleep(1)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--connects", type=int, default=100_000)
    parser.add_argument("--phase", default=None, help="also GET /hooks/PHASE once a second (hookrunner serve)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + args.slow + 1000)), hard))
    soak = Soak(args.port, args.seconds)
    tasks = [soak.idle() for _ in range(args.idle)] + [soak.slow() for _ in range(args.slow)]
    tasks += [soak.connect_close(args.connects, 16, index) for index in range(16)] + [soak.probe()]
    if args.phase:
        tasks.append(soak.phase(args.phase))
    await asyncio.gather(*tasks)
    latencies = sorted(soak.latencies)

    def quantile(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else None

    print(json.dumps({"probe": {"count": len(latencies), "p50_ms": quantile(0.5), "p99_ms": quantile(0.99),
                                "max_ms": round(latencies[-1] * 1000, 2) if latencies else None},
                      "idle_statuses": soak.statuses, **soak.counts}))


if __name__ == "__main__":
    asyncio.run(main())
