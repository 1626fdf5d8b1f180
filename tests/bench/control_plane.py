#!/usr/bin/env python3
"""Control-plane figures of `load-tester serve`, measured against a target in this process.

Prints: control API p50/p99 (GET /api/sessions, PATCH) with N sessions running, SSE tick delay
after the second each tick describes, the store's write transactions per session per second,
emergency-stop latency and time to target silence (also while the target hangs on every
request), graceful-stop time, and the server's RSS over the run.

    python3 tests/bench/control_plane.py --bin target/release/load-tester [--sessions 10]
        [--saturate-bundled 64]

With `--saturate-bundled N` the server runs its bundled targets (in their own process) and one
more session drives N users without think time at the bundled EC app, so the figures show the
control plane while its bundled targets are saturated.

Timings are printed, never asserted. Standard library only.
"""

import argparse
import asyncio
import http.client
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

TOKEN = "bench-token-0123456789abcdef"


class Target:
    """A minimal HTTP/1.1 keep-alive target that records when each request arrives."""

    def __init__(self):
        self.arrivals = []
        self.hang = False
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.arrivals.append(time.monotonic())
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                if self.hang:
                    await asyncio.sleep(3600)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except Exception:
            writer.close()


def call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    started = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    took = (time.perf_counter() - started) * 1000
    conn.close()
    return response.status, (json.loads(data) if data else None), took


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scenario(target_port, users):
    return (
        f"name: bench\ntarget: http://127.0.0.1:{target_port}\n"
        f"load:\n  users: {users}\n  max_users: {users * 2}\n  duration: 30m\n"
        "  think_time: { min: 50ms, max: 100ms }\n"
        "endpoints:\n  - { name: a, path: /a, timeout: 60s }\n  - { name: b, path: /b, timeout: 60s }\n"
        "protection:\n  max_errors_per_minute: off\n"
    )


def start_sessions(port, target, n, users, already=0):
    """Starts n sessions and waits until they (and `already` others) run."""
    ids = []
    for _ in range(n):
        status, body, _ = call(port, "POST", "/api/sessions", {"scenario_yaml": scenario(target.port, users)})
        assert status == 201, body
        ids.append(body["id"])
    deadline = time.time() + 60
    while time.time() < deadline:
        _, body, _ = call(port, "GET", "/api/sessions?status=running")
        if len(body["sessions"]) == n + already:
            return ids
        time.sleep(0.2)
    raise SystemExit("sessions did not all start")


def metric(port, name):
    """A counter from /metrics (0 when absent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graceful(port, target, sid):
    """Time from POST stop to the session's end, and the last request at the target after the call."""
    started = time.monotonic()
    status, body, _ = call(port, "POST", f"/api/sessions/{sid}/stop")
    assert status == 202, body
    returned = time.monotonic()
    while time.monotonic() - started < 60:
        _, body, _ = call(port, "GET", f"/api/sessions/{sid}")
        if body["status"] not in ("starting", "running", "stopping"):
            break
        time.sleep(0.02)
    ended = time.monotonic()
    last = max(target.arrivals) if target.arrivals else returned
    return body["status"], (ended - started) * 1000, (last - returned) * 1000


def emergency(port, target):
    _, body, took = call(port, "POST", "/api/emergency-stop")
    returned = time.monotonic()
    time.sleep(1.0)
    last = max(target.arrivals) if target.arrivals else returned
    return body["stopped"], took, (last - returned) * 1000


def sse_delays(port, seconds):
    delays = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/events")
    response = conn.getresponse()
    end = time.time() + seconds
    buffer = b""
    while time.time() < end:
        chunk = response.fp.read1(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            if b"event: tick" in block:
                data = [l[5:].strip() for l in block.split(b"\n") if l.startswith(b"data:")]
                tick = json.loads(b"".join(data))
                # The tick describes the second that ended at `at_ms`.
                delays.append(time.time() * 1000 - tick["at_ms"])
    conn.close()
    return delays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/load-tester")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--saturate-bundled", type=int, default=0, metavar="USERS",
                        help="run the bundled targets and drive this many users at the EC app")
    args = parser.parse_args()
    args.port = args.port or free_port()
    target = Target()
    data = tempfile.mkdtemp()
    env = dict(os.environ, LT_API_TOKEN=TOKEN, LT_RATE_LIMIT="0", LT_LOG="warn")
    command = [args.bin, "serve", "--bind", f"127.0.0.1:{args.port}", "--data-dir", data]
    ec_port = free_port()
    if args.saturate_bundled:
        env.update(LT_EC_PORT=str(ec_port), LT_DISTRIBUTED_PORT=str(free_port()),
                   LT_TODO_PORT=str(free_port()), LT_CHAOS_PORT=str(free_port()))
    else:
        command.append("--no-targets")
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                call(args.port, "GET", "/api/health")
                break
            except OSError:
                time.sleep(0.1)
        if args.saturate_bundled:
            hammer = (
                f"name: saturate\ntarget: http://127.0.0.1:{ec_port}\n"
                f"load:\n  users: {args.saturate_bundled}\n  duration: 30m\n  think_time: 0s\n"
                "endpoints:\n  - { name: products, path: /api/products }\n"
                "  - { name: n-plus-one, path: /performance/n-plus-one }\n"
                "protection:\n  max_errors_per_minute: off\n"
            )
            status, body, _ = call(args.port, "POST", "/api/sessions", {"scenario_yaml": hammer})
            assert status == 201, body
            time.sleep(5)
        rss = [rss_kb(server.pid)]
        ids = start_sessions(args.port, target, args.sessions, args.users, 1 if args.saturate_bundled else 0)
        time.sleep(3)
        rss.append(rss_kb(server.pid))
        gets = [call(args.port, "GET", "/api/sessions")[2] for _ in range(300)]
        patches = []
        for i in range(100):
            users = args.users if i % 2 else args.users + 1
            status, body, took = call(args.port, "PATCH", f"/api/sessions/{ids[i % len(ids)]}", {"users": users})
            assert status == 200, body
            patches.append(took)
        writes_before = metric(args.port, "lt_store_write_transactions_total")
        window_started = time.monotonic()
        delays = sse_delays(args.port, 10)
        writes = metric(args.port, "lt_store_write_transactions_total") - writes_before
        writes_per_session_s = writes / (time.monotonic() - window_started) / args.sessions
        rss.append(rss_kb(server.pid))
        stopped, took, silence = emergency(args.port, target)

        target.hang = True
        start_sessions(args.port, target, args.sessions, args.users)
        time.sleep(3)
        stopped_h, took_h, silence_h = emergency(args.port, target)
        rss.append(rss_kb(server.pid))

        target.hang = False
        (sid,) = start_sessions(args.port, target, 1, args.users)
        time.sleep(2)
        end_status, graceful_ms, graceful_silence = graceful(args.port, target, sid)

        saturated = f"; bundled targets saturated by {args.saturate_bundled} users" if args.saturate_bundled else ""
        print(f"| figure ({args.sessions} sessions x {args.users} users{saturated}) | value |")
        print("|---|---|")
        print(f"| GET /api/sessions p50 / p99 | {pct(gets, 50):.2f} / {pct(gets, 99):.2f} ms |")
        print(f"| PATCH users p50 / p99 | {pct(patches, 50):.2f} / {pct(patches, 99):.2f} ms |")
        print(f"| SSE tick delay after the end of its second p50 / p99 / max ({len(delays)} ticks) | "
              f"{pct(delays, 50):.0f} / {pct(delays, 99):.0f} / {max(delays):.0f} ms |")
        print(f"| emergency stop: call took / last request at target after return ({stopped} sessions) | "
              f"{took:.1f} ms / {silence:.1f} ms |")
        print(f"| same, target hanging on every request ({stopped_h} sessions) | {took_h:.1f} ms / {silence_h:.1f} ms |")
        print(f"| store write transactions per session per second (10 s window) | {writes_per_session_s:.2f} |")
        print(f"| graceful stop of 1 session: call to `{end_status}` / last request at target after the call | "
              f"{graceful_ms:.0f} ms / {graceful_silence:.1f} ms |")
        print(f"| server RSS: idle / sessions started / after 10 s of SSE / end | {' / '.join(f'{r / 1024:.1f}' for r in rss)} MiB |")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
