"""HTTP ingest through gunicorn on loopback: events/s and event-to-alert lag, on SQLite.

Usage: python bench/ingest.py [--threads 32] [--clients 2] [--client-threads 4]
                              [--seconds 10] [--lag-seconds 30] [--phases ...]

Each phase gets its own server: a fresh SQLite file in a temporary directory, `flask db
upgrade`, a bootstrap admin key, 50 rules like a real eight-camera site (created through the
API), then gunicorn with the project's gunicorn.conf.py (gthread, one worker, the matcher
thread started in it) and no access log. Events come from the `simulate` generator.

Phases:
  single     events/s, one event per POST, from --clients processes x --client-threads
             keep-alive connections (http.client), for --seconds after a 2 s warm-up
  batch      the same with 100 events per POST
  lag        one event per POST paced at 100 events/s for --lag-seconds
  lag-poll   the same with the matcher's wake-up signal disconnected, so only its 1 s poll
             remains: the baseline the wake-up is measured against

Lag = from the moment the client starts sending the POST (time.monotonic() just before
the request is written) to the moment the event's first alert is visible in the database
to another connection, i.e. committed (a watcher process polls `PRAGMA data_version` every
0.2 ms and then reads new alert rows; time.monotonic() is system-wide on Linux). Its
resolution is about 0.3 ms. Events that make no
alert (most rules have cooldowns) give no sample. For comparison `created_at` is reported
too: alert.created_at (server clock, set when the alert row is flushed, before the commit)
minus the wall-clock send time.

The client is Python on the same machine: its CPU use competes with the server's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerting.simulate import CAMERAS, EventGenerator  # noqa: E402
from tests.support.server import free_port, stop_server, wait_healthy  # noqa: E402

BIN = Path(sys.executable).parent
KEY = "bench-ingest-admin-key-0123456789"
PHASES = ("single", "batch", "lag", "lag-poll")
BATCH = 100
LAG_RATE = 100
WARMUP_SECONDS = 2.0
ID_MARK = "@@EXTERNAL_ID@@"

POLL_ONLY_CONFIG = """
# Written by bench/ingest.py: the project's gunicorn settings, but after the matcher starts its
# wake-up signal is disconnected, so only its poll interval is left to notice new events.
import runpy as _runpy

_base = _runpy.run_path({path!r})
globals().update({{k: v for k, v in _base.items() if not k.startswith("__")}})


def post_worker_init(worker):
    _base["post_worker_init"](worker)
    from alerting import signals

    app = worker.wsgi
    signals.events_stored.disconnect(app.extensions["alerting.matcher"].wake, sender=app)
"""


# --- the rule set of a real site -------------------------------------------------------------


def site_rules(seed: int = 7) -> list[dict[str, Any]]:
    """50 rules for the simulator's eight cameras: per camera a handful of typical rules
    (person at night, vehicles, packages, animals, loitering, risk), plus site-wide ones."""
    rng = random.Random(seed)
    night = {"days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
             "start_time": "22:00", "end_time": "06:00"}
    rules: list[dict[str, Any]] = []
    for camera in CAMERAS:
        cam = [camera.id]
        entry = list(camera.entry_zones) or None
        rules += [
            {"name": f"Person at night: {camera.id}", "severity": "high",
             "object_types": ["person"], "camera_ids": cam, "min_confidence": 0.6,
             "schedule": night, "cooldown_seconds": 120,
             "dedup_key_template": "{camera_id}:{zone_id}"},
            {"name": f"Vehicle: {camera.id}", "severity": "low",
             "object_types": ["car", "truck"], "camera_ids": cam, "min_confidence": 0.7,
             "cooldown_seconds": 300, "dedup_key_template": "{camera_id}:{object_type}"},
            {"name": f"Loitering: {camera.id}", "severity": "medium",
             "object_types": ["person"], "camera_ids": cam, "cooldown_seconds": 60,
             "conditions": [{"field": "labels", "op": "contains", "value": "loitering"}]},
            {"name": f"Someone at the entrance: {camera.id}", "severity": "medium",
             "object_types": ["person"], "camera_ids": cam, "zone_ids": entry,
             "risk_threshold": rng.choice((50, 60)), "cooldown_seconds": 30},
            {"name": f"Animal: {camera.id}", "severity": "low", "object_types": ["dog", "cat"],
             "camera_ids": cam, "cooldown_seconds": 600, "enabled": rng.random() < 0.7},
        ]
    rules += [
        {"name": "Package delivered", "severity": "low", "object_types": ["package"],
         "cooldown_seconds": 600, "dedup_key_template": "{camera_id}:{date}"},
        {"name": "Critical risk", "severity": "critical", "risk_threshold": 85,
         "cooldown_seconds": 0},
        {"name": "Every person (recording log)", "severity": "low",
         "object_types": ["person"], "cooldown_seconds": 0},
        {"name": "Night activity", "severity": "medium", "risk_threshold": 50,
         "conditions": [{"field": "labels", "op": "contains", "value": "night"}],
         "cooldown_seconds": 300, "dedup_key_template": "{camera_id}:{hour}"},
        {"name": "Bicycle", "severity": "low", "object_types": ["bicycle"],
         "cooldown_seconds": 900},
        {"name": "Delivery in summary", "severity": "low", "cooldown_seconds": 300,
         "conditions": [{"field": "summary", "op": "matches", "value": "(?i)delivery"}]},
        {"name": "Crowd", "severity": "high", "object_types": ["person"],
         "conditions": [{"field": "detection_count", "op": "gte", "value": 3}],
         "cooldown_seconds": 120},
        {"name": "Weekend daytime vehicles", "severity": "low", "object_types": ["car"],
         "schedule": {"days": ["sat", "sun"], "start_time": "08:00", "end_time": "20:00"},
         "cooldown_seconds": 1800},
        {"name": "Truck in the street", "severity": "low", "object_types": ["truck"],
         "camera_ids": ["street", "driveway"], "cooldown_seconds": 600},
        {"name": "Backyard at night, any object", "severity": "high", "camera_ids": ["backyard"],
         "schedule": night, "risk_threshold": 40, "cooldown_seconds": 300},
    ]
    for rule in rules:
        rule.setdefault("channels", [])
    return rules


# --- the server --------------------------------------------------------------------------------


@contextmanager
def server(workdir: Path, name: str, threads: int, *, poll_only: bool = False):
    """A fresh database and a gunicorn server on it; yields (port, database path)."""
    db_path = workdir / f"{name}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTING_")}
    env.update({"ALERTING_DATABASE_URL": f"sqlite:///{db_path}",
                "ALERTING_SECRET_KEY": "bench-secret", "ALERTING_BOOTSTRAP_API_KEY": KEY,
                "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",  # the engine, not the limit
                "ALERTING_LOG_LEVEL": "WARNING", "FLASK_APP": "app"})
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    config = ROOT / "gunicorn.conf.py"
    if poll_only:
        config = workdir / "gunicorn-poll-only.conf.py"
        config.write_text(POLL_ONLY_CONFIG.format(path=str(ROOT / "gunicorn.conf.py")))
    port = free_port()
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(config), "--workers", "1", "--threads",
         str(threads), "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        _create_rules(port)
        yield port, db_path, _worker_pid(proc.pid)
    finally:
        stop_server(proc, timeout=15)
        log.close()


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={
            "x-access-token": KEY, "Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def _create_rules(port: int) -> None:
    for rule in site_rules():
        status, body = request(port, "POST", "/api/alerts/rules", rule)
        if status != 201:
            raise SystemExit(f"rule {rule['name']!r} refused: {status} {body}")


def backlog(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE processed_at IS NULL").fetchone()[0]


def wait_drained(db_path: Path, timeout: float = 300.0) -> float:
    """Wait until the matcher has processed every event; returns time.time() then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backlog(db_path) == 0:
            return time.time()
        time.sleep(0.02)
    raise SystemExit("the matcher did not drain the backlog in time")


# --- throughput clients --------------------------------------------------------------------------


def _templates(seed: int, count: int = 400) -> list[str]:
    """JSON bodies of realistic events with a placeholder where the external_id goes."""
    generator = EventGenerator(seed=seed, camera_count=len(CAMERAS), run_id="x")
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        event = generator.event(now)
        event["external_id"] = ID_MARK
        out.append(json.dumps(event, separators=(",", ":")))
    return out


def _client_thread(port: int, batch: int, prefix: str, templates: list[str], start: float,
                   end: float, out: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"x-access-token": KEY, "Content-Type": "application/json"}
    sent = ok = errors = 0
    n = 0
    while time.time() < start:
        time.sleep(0.001)
    while True:
        now = time.time()
        if now >= end:
            break
        parts = []
        for _ in range(batch):
            n += 1
            parts.append(templates[n % len(templates)].replace(ID_MARK, f"{prefix}{n}"))
        body = parts[0] if batch == 1 else '{"events":[' + ",".join(parts) + "]}"
        conn.request("POST", "/api/events", body=body.encode(), headers=headers)
        response = conn.getresponse()
        response.read()
        done_at = time.time()
        if done_at > end:  # finished after the window: not counted
            break
        sent += batch
        if response.status == 201:
            ok += batch
        else:
            errors += 1
    conn.close()
    out.extend((sent, ok, errors))


def _client_process(port: int, batch: int, index: int, threads: int, window: float,
                    ready, go, queue) -> None:
    templates = [_templates(seed=index * 100 + t) for t in range(threads)]
    ready.put(index)
    start = go.get()  # once every client process is ready: a loaded machine starts them slowly
    end = start + window
    results: list[list[int]] = [[] for _ in range(threads)]
    cpu_before = time.process_time()
    workers = []
    for t in range(threads):
        prefix = f"p{index}t{t}-{int(start * 1000)}-"
        workers.append(threading.Thread(target=_client_thread, args=(
            port, batch, prefix, templates[t], start, end, results[t])))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put([sum(r[i] for r in results) for i in range(3)] + [time.process_time() - cpu_before])


def throughput(port: int, db_path: Path, worker: int, *, batch: int, clients: int,
               client_threads: int, seconds: float) -> dict[str, float]:
    """Events/s posted and acknowledged (201) in the window; also when the matcher caught up."""
    ctx = multiprocessing.get_context("spawn")

    def run(window: float) -> tuple[list[int], float, float]:
        queue, ready, go = ctx.Queue(), ctx.Queue(), ctx.Queue()
        procs = [ctx.Process(target=_client_process, args=(
            port, batch, i, client_threads, window, ready, go, queue)) for i in range(clients)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)
        start = time.time() + 0.5  # the window opens for every client at once
        end = start + window
        for _ in procs:
            go.put(start)
        totals = [0, 0, 0, 0.0]
        for _ in procs:
            for i, value in enumerate(queue.get(timeout=window + 120)):
                totals[i] += value
        for p in procs:
            p.join()
        return totals, start, end

    run(WARMUP_SECONDS)
    wait_drained(db_path)
    cpu_before = cpu_seconds(worker)
    (sent, ok, errors, client_cpu), start, end = run(seconds)
    drained = wait_drained(db_path)
    server_cpu = cpu_seconds(worker) - cpu_before
    return {"events_per_s": ok / seconds, "errors": errors, "sent": sent,
            "server_us_per_event": server_cpu / ok * 1e6,
            "client_us_per_event": client_cpu / ok * 1e6,
            "matched_per_s": ok / (drained - start), "drain_after_s": max(0.0, drained - end)}


# --- lag -----------------------------------------------------------------------------------------


def _watch_alerts(db_path: str, ready, stop, out) -> None:
    """In a process of its own (so it does not hold up the pacing client): see alert rows the
    moment they are committed; report when (time.monotonic(), system-wide on Linux) by
    external_id."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    last_id = conn.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()[0]
    seen: dict[str, tuple[float, str]] = {}
    version = None
    ready.set()
    while not stop.is_set():
        current = conn.execute("PRAGMA data_version").fetchone()[0]
        if current != version:
            version = current
            rows = conn.execute(
                "SELECT a.id, a.created_at, e.external_id FROM alerts a "
                "JOIN events e ON e.id = a.event_id WHERE a.id > ? ORDER BY a.id",
                (last_id,)).fetchall()
            now = time.monotonic()
            for alert_id, created_at, external_id in rows:
                last_id = alert_id
                seen.setdefault(external_id, (now, created_at))
        time.sleep(0.0002)
    out.put(seen)


def lag(port: int, db_path: Path, worker: int, *, seconds: float,
        rate: int = LAG_RATE) -> dict[str, float]:
    """Events paced at `rate`/s, one per POST; the lag of each one that made an alert."""
    templates = _templates(seed=99, count=1000)
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    watcher = ctx.Process(target=_watch_alerts, args=(str(db_path), ready, stop, out))
    watcher.start()
    ready.wait(30)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"x-access-token": KEY, "Content-Type": "application/json"}
    sent: dict[str, tuple[float, float]] = {}
    # Warm up the connection and the server's caches, unmeasured.
    for i in range(50):
        body = templates[i].replace(ID_MARK, f"warm-{i}")
        conn.request("POST", "/api/events", body=body.encode(), headers=headers)
        conn.getresponse().read()
    time.sleep(1.5)
    total = int(seconds * rate)
    cpu_before = cpu_seconds(worker)
    start = time.monotonic() + 0.1
    late = 0
    for i in range(total):
        at = start + i / rate
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            late += 1
        external_id = f"lag-{i}"
        body = templates[i % len(templates)].replace(ID_MARK, external_id).encode()
        sent[external_id] = (time.monotonic(), time.time())
        conn.request("POST", "/api/events", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"lag event refused: {response.status}")
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and backlog(db_path):
        time.sleep(0.01)
    server_cpu = cpu_seconds(worker) - cpu_before
    time.sleep(0.2)
    stop.set()
    seen = out.get(timeout=30)
    watcher.join()
    conn.close()
    visible, created = [], []
    for external_id, (seen_at, created_at) in seen.items():
        if external_id not in sent:
            continue
        mono, wall = sent[external_id]
        visible.append((seen_at - mono) * 1000)
        stamp = datetime.fromisoformat(created_at).replace(tzinfo=UTC).timestamp()
        created.append((stamp - wall) * 1000)
    if len(visible) < 20:
        raise SystemExit(f"only {len(visible)} lag samples")
    return {"samples": len(visible), "events": total, "late_sends": late,
            "p50": statistics.median(visible), "p99": _p99(visible), "max": max(visible),
            "created_p50": statistics.median(created), "created_p99": _p99(created),
            "server_us_per_event": server_cpu / total * 1e6}


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


# --- report --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads (default 32)")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--client-threads", type=int, default=4,
                        help="connections per client process (default 4)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds per throughput phase (default 10)")
    parser.add_argument("--lag-seconds", type=float, default=30.0,
                        help="seconds of paced events per lag phase (default 30)")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    args = parser.parse_args(argv)

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, commit {head or '?'} (plus the working tree)")
    print(f"server: gunicorn gthread, 1 worker, {args.threads} threads, no access log; "
          f"clients: {args.clients} processes x {args.client_threads} keep-alive connections; "
          f"{len(site_rules())} rules")
    print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
    rows = []
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        for phase in args.phases:
            poll_only = phase == "lag-poll"
            with server(workdir, phase, args.threads, poll_only=poll_only) as (port, db, pid):
                if phase in ("single", "batch"):
                    r = throughput(port, db, pid, batch=1 if phase == "single" else BATCH,
                                   clients=args.clients, client_threads=args.client_threads,
                                   seconds=args.seconds)
                else:
                    r = lag(port, db, pid, seconds=args.lag_seconds)
            results[phase] = r
            print(f"  {phase}: " + ", ".join(f"{k} {v:,.1f}" for k, v in r.items()),
                  flush=True)
    print()
    for phase in ("single", "batch"):
        if phase in results:
            r = results[phase]
            what = "1 event per POST" if phase == "single" else f"{BATCH} events per POST"
            rows.append(f"| ingest, {what} | {r['events_per_s']:,.0f} events/s "
                        f"| matcher caught up {r['drain_after_s']:.1f} s after the window "
                        f"({r['matched_per_s']:,.0f} events/s end to end); CPU per event: "
                        f"server {r['server_us_per_event']:,.0f} µs (ingest + matching), "
                        f"clients {r['client_us_per_event']:,.0f} µs; "
                        f"{r['errors']:.0f} errors |")
    for phase, label in (("lag", "lag at 100 events/s, matcher woken by ingest"),
                         ("lag-poll", "lag at 100 events/s, poll only (wake-up disconnected)")):
        if phase in results:
            r = results[phase]
            rows.append(f"| {label} | p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
                        f"(max {r['max']:.1f}) | {r['samples']:.0f} alerting events of "
                        f"{r['events']:.0f}; created_at - send: p50 {r['created_p50']:.1f} ms, "
                        f"p99 {r['created_p99']:.1f} ms; server CPU "
                        f"{r['server_us_per_event']:,.0f} µs per event |")
    print("| measurement | result | notes |")
    print("|---|---|---|")
    print("\n".join(rows))
    goals = []
    if "single" in results:
        v = results["single"]["events_per_s"]
        goals.append(f"- >= 1,500 events/s one per POST: {v:,.0f} "
                     + ("met" if v >= 1500 else "MISSED"))
    if "batch" in results:
        v = results["batch"]["events_per_s"]
        goals.append(f"- >= 10,000 events/s in batches of 100: {v:,.0f} "
                     + ("met" if v >= 10_000 else "MISSED"))
    if "lag" in results:
        r = results["lag"]
        goals.append(f"- lag p50 <= 5 ms: {r['p50']:.1f} ms "
                     + ("met" if r["p50"] <= 5 else "MISSED"))
        goals.append(f"- lag p99 <= 20 ms: {r['p99']:.1f} ms "
                     + ("met" if r["p99"] <= 20 else "MISSED"))
    print()
    print("\n".join(goals))
    print("\nload average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + " (other processes on the machine compete with server and clients)")


if __name__ == "__main__":
    main()
