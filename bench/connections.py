"""Many connections: 1,000 WebSockets and 200 slow clients against the embedded default.

Usage: python bench/connections.py [--clients 1000] [--slow 200] [--rate 100]
                                   [--idle-seconds 30] [--seconds 60] [--threads 32]

Starts gunicorn as `make run` does (bench/latency.py's server: gunicorn.conf.py, one worker,
32 threads, SQLite, the matcher in-process), adds a rule every event matches, creates read
keys (the default cap is 200 WebSockets a key), and then, all at once:

- `--clients` JSON clients on /ws/events, read by `--processes` client processes (frames
  parsed off the sockets, pings answered);
- `--slow` connections sending a request's headers one byte every 5 s (slowloris), each
  reconnecting when the server cuts it off;

and measures, in two phases: idle (`--idle-seconds`, nothing posted) and reading (events
posted at `--rate` a second for `--seconds`, each alert fanned out to every client):
`/api/health` latency (one request every 100 ms, 5 s timeout), POST errors, whether every
client received every alert, and the server's memory (the worker's resident set, highest
seen). Then it closes the slow connections, posts once more, and checks that nothing was lost:
every event matched, every alert created, the health answering.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.latency import KEY as ADMIN_KEY  # noqa: E402
from bench.latency import (  # noqa: E402
    cpu_seconds,
    percentile,
    post_events,
    server,
    take_frames,
)
from tests.support.server import Slowloris  # noqa: E402

BIN = Path(sys.executable).parent
ALERT_PREFIX = b'{"type":"alert_created"'
PER_KEY = 100  # clients per read key, under the default cap of 200
GOAL_HEALTH_P99_MS = 100.0
GOAL_RSS_MB = 1024


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the gunicorn worker), in MiB."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for each in [str(pid), *children]:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024
    except (OSError, ValueError):
        return 0.0


def client_process(url: str, keys: list[str], ready, stop, results) -> None:
    """One client per key in `keys`, read by one selector loop; report each client's count
    of alert_created messages and whether it was still connected at the end."""
    import selectors

    selector = selectors.DefaultSelector()
    counts = [0] * len(keys)
    connected = [True] * len(keys)
    for index, key in enumerate(keys):
        try:
            ws = websocket.create_connection(url.replace("http", "ws", 1) + "/ws/events",
                                             header={"x-access-token": key}, timeout=20)
        except (OSError, websocket.WebSocketException):  # the old server: out of threads
            connected[index:] = [False] * (len(keys) - index)
            break
        ws.sock.setblocking(False)
        selector.register(ws.sock, selectors.EVENT_READ, (index, bytearray()))
    ready.release()
    for _ in range(10_000_000):  # bounded; ends with `stop`
        if stop.is_set():
            break
        for event, _ in selector.select(timeout=0.2):
            index, buffer = event.data
            try:
                chunk = event.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                selector.unregister(event.fileobj)
                connected[index] = False
                continue
            buffer += chunk
            for opcode, payload in take_frames(buffer):
                if opcode == 0x1 and payload.startswith(ALERT_PREFIX):
                    counts[index] += 1
                elif opcode == 0x9:  # ping: answer, or the server closes the connection
                    event.fileobj.setblocking(True)
                    event.fileobj.sendall(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0"
                                          + payload)
                    event.fileobj.setblocking(False)
    for event in list(selector.get_map().values()):
        event.fileobj.close()
    results.put(list(zip(counts, connected, strict=True)))


class HealthProbe:
    """GET /api/health every `interval` seconds on a fresh connection (as a monitor would)
    from a thread; the latencies, and how many failed or timed out."""

    def __init__(self, url: str, interval: float = 0.1, timeout: float = 5.0):
        self.url, self.interval, self.timeout = url, interval, timeout
        self.latencies: list[float] = []
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        for _ in range(1_000_000):  # bounded; ends with `stop`
            if self.stop.wait(self.interval):
                return
            started = time.monotonic()
            try:
                ok = requests.get(self.url + "/api/health", timeout=self.timeout).ok
            except requests.RequestException:
                ok = False
            if ok:
                self.latencies.append((time.monotonic() - started) * 1000)
            else:
                self.failures += 1

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join(self.timeout + 1)
        values = self.latencies or [float("nan")]
        return {"samples": len(self.latencies), "failures": self.failures,
                "p50": statistics.median(values), "p99": percentile(values, 99),
                "max": max(values)}


def read_keys(url: str, count: int) -> list[str]:
    session = requests.Session()
    session.headers["x-access-token"] = ADMIN_KEY
    keys = []
    for n in range((count + PER_KEY - 1) // PER_KEY):
        response = session.post(url + "/api/keys", json={"name": f"bench-{n}", "scope": "read"},
                                timeout=30)
        response.raise_for_status()
        keys.append(response.json()["key"])
    return [keys[i // PER_KEY] for i in range(count)]


def health(url: str) -> dict:
    return requests.get(url + "/api/health", timeout=60).json()


def run(args) -> dict:
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp), args.threads) as (url, pid):
        port = int(url.rsplit(":", 1)[1])
        rule = {"name": "Everything", "severity": "high", "object_types": ["person"],
                "cooldown_seconds": 0, "channels": []}
        requests.post(url + "/api/alerts/rules", json=rule, headers={"x-access-token": ADMIN_KEY},
                      timeout=10).raise_for_status()
        keys = read_keys(url, args.clients)
        rss_start = rss_mb(pid)
        slow = Slowloris(port, args.slow, interval=5.0)
        slow.start()
        slow.opened.wait(60)
        ctx = mp.get_context("spawn")
        ready, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
        shares = [keys[i::args.processes] for i in range(args.processes)]
        procs = [ctx.Process(target=client_process, args=(url, share, ready, stop, results))
                 for share in shares if share]
        connect_started = time.monotonic()
        for proc in procs:
            proc.start()
        for _ in procs:
            if not ready.acquire(timeout=600):
                raise TimeoutError("clients did not connect")
        result["connect_seconds"] = time.monotonic() - connect_started
        try:
            result["open_after_connect"] = health(url)["connections"]["websockets"]["open"]
        except (requests.RequestException, KeyError):  # the old server: no such figure
            result["open_after_connect"] = None

        probe = HealthProbe(url)
        rss_peak = rss_mb(pid)
        for _ in range(int(args.idle_seconds)):
            time.sleep(1)
            rss_peak = max(rss_peak, rss_mb(pid))
        result["idle"] = probe.finish()

        probe = HealthProbe(url)
        cpu_before = cpu_seconds(pid)
        errors: list[str] = []
        sent: dict[int, float] = {}

        def post() -> None:
            try:
                posted, round_trips = post_events(url, args.rate,
                                                  int(args.rate * args.seconds))
                sent.update(posted)
                result["post_p50"] = statistics.median(round_trips)
                result["post_p99"] = percentile(round_trips, 99)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                errors.append(repr(exc))

        started = time.monotonic()
        poster = threading.Thread(target=post)
        poster.start()
        while poster.is_alive():
            poster.join(1)
            rss_peak = max(rss_peak, rss_mb(pid))
        elapsed = time.monotonic() - started
        result["rate"] = len(sent) / elapsed
        result["server_cpu"] = (cpu_seconds(pid) - cpu_before) / elapsed
        time.sleep(3)  # stragglers
        result["reading"] = probe.finish()
        result["post_errors"] = errors
        result["events"] = len(sent)
        stop.set()
        counts = [c for _ in procs for c in results.get(timeout=120)]
        for proc in procs:
            proc.join()
        result["clients"] = len(counts)
        result["clients_complete"] = sum(1 for n, _ in counts if n == len(sent))
        result["clients_connected"] = sum(1 for _, alive in counts if alive)
        result["alerts_received"] = sum(n for n, _ in counts)
        result["rss_start"], result["rss_peak"] = rss_start, rss_peak

        # Drop the slow connections: nothing in flight may be lost.
        result["slow_closed_by_server"] = slow.closed_by_server
        slow.close()
        after = requests.post(url + "/api/events", headers={"x-access-token": ADMIN_KEY},
                              timeout=10, json={"camera_id": "cam-0",
                                                "started_at": "2026-01-15T02:00:00Z",
                                                "detections": [{"object_type": "person"}]})
        result["post_after_drop"] = after.status_code
        deadline = time.monotonic() + 60
        body = health(url)
        while body["backlog"]["events_unprocessed"] and time.monotonic() < deadline:
            time.sleep(0.5)
            body = health(url)
        result["unprocessed_after"] = body["backlog"]["events_unprocessed"]
        alerts = requests.get(url + "/api/alerts", params={"limit": 1},
                              headers={"x-access-token": ADMIN_KEY}, timeout=30).json()
        result["alerts_total"] = alerts.get("count", alerts.get("total"))
        result["health_after"] = body.get("connections")
    return result


def report(args, r: dict) -> str:
    lines = [
        "| phase | health samples | failed | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for phase in ("idle", "reading"):
        h = r[phase]
        lines.append(f"| {phase} | {h['samples']} | {h['failures']} | {h['p50']:.1f} | "
                     f"{h['p99']:.1f} | {h['max']:.1f} |")
    lines += [
        "",
        f"- {r['clients']} clients connected in {r['connect_seconds']:.1f} s "
        f"(server counted {r['open_after_connect']} open); {args.slow} slow connections, "
        f"cut off by the server {r['slow_closed_by_server']} times",
        f"- ingest: {r['events']} events at {r['rate']:.0f}/s, POST p50 "
        f"{r.get('post_p50', float('nan')):.1f} ms, p99 {r.get('post_p99', float('nan')):.1f} "
        f"ms, errors: {r['post_errors'] or 'none'}; server CPU {r['server_cpu']:.0%}",
        f"- fan-out: {r['clients_complete']} of {r['clients']} clients received every alert "
        f"({r['alerts_received']} alert messages); {r['clients_connected']} still connected",
        f"- memory (worker + master RSS): {r['rss_start']:.0f} MiB at start, "
        f"{r['rss_peak']:.0f} MiB at most",
        f"- after closing the slow connections: POST {r['post_after_drop']}, events unprocessed "
        f"{r['unprocessed_after']}, alerts in all {r['alerts_total']} (expected "
        f"{r['events'] + 1})",
        f"- health p99 <= {GOAL_HEALTH_P99_MS:g} ms in both phases: "
        + ("met" if max(r["idle"]["p99"], r["reading"]["p99"]) <= GOAL_HEALTH_P99_MS
           and not r["idle"]["failures"] and not r["reading"]["failures"] else "MISSED"),
        f"- memory under {GOAL_RSS_MB} MiB: "
        + ("met" if r["rss_peak"] < GOAL_RSS_MB else "MISSED"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse options, run, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="of ingest")
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"{args.clients} WebSocket clients, {args.slow} slow connections, {args.rate:g} "
          f"events/s for {args.seconds:g} s after {args.idle_seconds:g} s idle; python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}\n")
    print(report(args, run(args)))
    print(f"\n(total {time.perf_counter() - started:.1f} s, load average "
          f"{os.getloadavg()[0]:.2f} at the end)")


if __name__ == "__main__":
    main()
