"""The project against the floor of its own stack, in one run: ratios, not absolute figures.

Usage: python bench/floor.py [--runs 3] [--phases ingest-single ingest-batch delivery live]
                             [--seconds 10] [--live-seconds 20]

Each phase measures the project and its floor (bench/floor_app.py) with the same clients in
the same invocation, alternating project and floor `--runs` times, and reports each run's
figures, their median, and the ratio project / floor of the medians:

  ingest-single  events/s, one event per POST, 2 client processes x 4 keep-alive connections
                 (bench/ingest.py's clients and its 50 rules of a real site; alerts written)
  ingest-batch   the same with 100 events per POST
  delivery       webhooks/s at one receiver answering at once (bench/delivery.py's receiver)
                 against N threads of http.client keep-alive connections posting the same
                 signed body, two figures for the project against the same floor runs:
                 "events in, webhooks out", its sustained phase (one gunicorn process
                 ingesting and matching the events while it sends their webhooks), and
                 "dispatch only": the outbox filled first (the same rule and event bodies,
                 matched by a `flask worker --matcher` process before the window opens),
                 then drained by a `flask worker` running only the dispatcher: the sending
                 work the floor does, nothing else
  live           event POST -> WebSocket receipt, 50 clients, 100 events/s (bench/latency.py's
                 clients and posters): the project's alert_created against a flask-sock server
                 sending each POSTed message to every client; p50 and p99 in ms

The machine is shared and its speed varies several-fold between days: only the ratios in one
run are comparable across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import delivery, ingest, latency  # noqa: E402
from tests.support.server import free_port, stop_server, wait_healthy  # noqa: E402

BIN = Path(sys.executable).parent
PHASES = ("ingest-single", "ingest-batch", "delivery", "live")


@contextmanager
def floor_server(workdir: Path, factory: str, threads: int):
    """gunicorn serving bench/floor_app.py's `factory`: gthread, one worker, `threads`."""
    db_path = workdir / f"floor-{factory}-{time.monotonic_ns()}.db"
    env = {**os.environ, "FLOOR_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    port = free_port()
    log = open(workdir / f"floor-{factory}.log", "ab")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--worker-class", "gthread", "--workers", "1", "--threads",
         str(threads), "--graceful-timeout", "5", "--bind", f"127.0.0.1:{port}",
         f"bench.floor_app:{factory}()"],
        # cwd not ROOT, whose gunicorn.conf.py gunicorn would load
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        yield port, db_path, proc.pid
    finally:
        stop_server(proc, timeout=15)
        log.close()


# -- ingest ----------------------------------------------------------------------------------


def ingest_once(workdir: Path, *, floor: bool, batch: int, args) -> dict[str, float]:
    clients = {"batch": batch, "clients": 2, "client_threads": 4, "seconds": args.seconds}
    if floor:
        with floor_server(workdir, "ingest_app", args.threads) as (port, db, pid):
            return ingest.throughput(port, db, ingest._worker_pid(pid), **clients)
    name = f"project-{batch}-{time.monotonic_ns()}"
    with ingest.server(workdir, name, args.threads) as (port, db, worker):
        return ingest.throughput(port, db, worker, **clients)


# -- delivery --------------------------------------------------------------------------------


SAMPLE_BODY: list[bytes] = []  # the last body the project sent, posted again by the floor


def delivery_floor_once(args) -> dict[str, float]:
    """N threads, each a keep-alive http.client connection, posting one signed webhook body
    (the project's own, from its run just before) to the receiver as fast as it answers;
    webhooks/s at the receiver after the warm-up."""
    import http.client

    from alerting.notify.webhook import generate_secret, sign

    receiver = delivery.Receiver(keep_bodies=False)
    secret = generate_secret()
    body = SAMPLE_BODY[-1] if SAMPLE_BODY else json.dumps(
        {"type": "alert.created", "data": delivery.event(1, "cam-fast", "floor")}).encode()
    stop = threading.Event()

    def sender(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
        n = 0
        while not stop.is_set():
            n += 1
            msg_id = f"msg_{index}_{n}"
            stamp = int(time.time())
            conn.request("POST", "/hook", body=body, headers={
                "Content-Type": "application/json", "webhook-id": msg_id,
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign(secret, msg_id, stamp, body)})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=sender, args=(i,), daemon=True)
               for i in range(args.delivery_threads)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(args.delivery_warmup)
        start, before = time.monotonic(), receiver.count()
        time.sleep(args.seconds)
        rate = (receiver.count() - before) / (time.monotonic() - start)
        stop.set()
        for thread in threads:
            thread.join(10)
        return {"rate": rate}
    finally:
        receiver.stop()


def delivery_project_once(workdir: Path, args) -> dict[str, float]:
    options = SimpleNamespace(latency_n=20, warmup_n=5, gap=0.01, sustain_seconds=args.seconds,
                              sustain_warmup=args.delivery_warmup, batch=100, backlog=1000,
                              concurrency=0, skip_slow=True)
    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    out = delivery.bench_ours(options, run_dir)
    if out.get("sample_body"):
        SAMPLE_BODY.append(out["sample_body"])
    return {"rate": out["b"]["rate"], "dispatch_rate": dispatch_only_once(workdir, args)}


def _worker(env: dict[str, str], loop: str, log: Path) -> subprocess.Popen:
    """`flask worker` running only `loop`, in a session of its own (stopped by stop_server)."""
    from alerting import workers

    flags = [f"--{'' if name == loop else 'no-'}{name.replace('_', '-')}"
             for name in workers.NAMES]
    with open(log, "ab") as out:
        return subprocess.Popen([str(BIN / "flask"), "worker", *flags], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def dispatch_only_once(workdir: Path, args) -> float:
    """The outbox filled with `--dispatch-backlog` webhooks first (posted, then matched by a
    matcher-only worker), then webhooks/s at the receiver while a dispatcher-only worker
    drains it: from `--delivery-warmup` / 3 after its first webhook until `--seconds` more
    or the outbox is empty."""
    import requests
    from sqlalchemy import create_engine, text

    from tests.support.databases import TempDatabase
    from tests.support.server import running_server, server_env, wait_for

    run_dir = Path(tempfile.mkdtemp(dir=workdir))
    receiver = delivery.Receiver(keep_bodies=False)
    database = TempDatabase(run_dir, "dispatch")
    env = {"ALERTING_BOOTSTRAP_API_KEY": delivery.KEY, "ALERTING_INPROCESS_WORKERS": "off",
           "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8", "ALERTING_WEBHOOK_URL": receiver.url,
           "ALERTING_LOG_LEVEL": "WARNING", "ALERTING_RETRY_SCHEDULE": "0.2,0.5,1"}
    n = args.dispatch_backlog
    engine = create_engine(database.url)
    pending = text("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    try:
        with running_server(run_dir, database=database, **env) as (url, _proc, _log):
            http = requests.Session()
            http.headers.update({"x-access-token": delivery.KEY})
            rule = {"name": "every person on cam-fast", "severity": "high",
                    "object_types": ["person"], "camera_ids": ["cam-fast"],
                    "cooldown_seconds": 0, "channels": ["webhook"]}
            http.post(url + "/api/alerts/rules", json=rule).raise_for_status()
            for start in range(0, n, 100):
                delivery.post_json(http, url + "/api/events", {"events": [
                    delivery.event(i, "cam-fast", "d") for i in range(start, start + 100)]})
            worker_env = server_env(database.url, **env)
            matcher = _worker(worker_env, "matcher", run_dir / "matcher.log")
            try:
                def queued() -> bool:
                    with engine.connect() as conn:
                        return conn.execute(pending).scalar() >= n
                wait_for(queued, timeout=300, interval=0.5)
            finally:
                stop_server(matcher)
            dispatcher = _worker(worker_env, "dispatcher", run_dir / "dispatcher.log")
            try:
                wait_for(lambda: receiver.count() > 0, timeout=60)
                time.sleep(args.delivery_warmup / 3)
                start, before = time.monotonic(), receiver.count()
                while time.monotonic() - start < args.seconds and receiver.count() < n:
                    time.sleep(0.01)
                rate = (receiver.count() - before) / (time.monotonic() - start)
            finally:
                stop_server(dispatcher)
    finally:
        engine.dispose()
        receiver.stop()
        database.drop()
    return rate


# -- live ------------------------------------------------------------------------------------


@contextmanager
def project_live_server(workdir: Path, threads: int):
    with latency.server(workdir, threads) as (url, pid):
        import requests

        rule = {"name": "Everything", "severity": "high", "object_types": ["person"],
                "cooldown_seconds": 0, "channels": []}
        requests.post(url + "/api/alerts/rules", json=rule,
                      headers={"x-access-token": latency.KEY}, timeout=10).raise_for_status()
        yield url, pid


def live_once(workdir: Path, *, floor: bool, args) -> dict[str, float]:
    options = SimpleNamespace(clients=50, processes=2, rate=100.0, posters=4,
                              seconds=args.live_seconds)
    threads = options.clients + 32
    if floor:
        with floor_server(workdir, "live_app", threads) as (port, _db, pid):
            result = latency.window(f"http://127.0.0.1:{port}", pid, options, stalled=False)
    else:
        run_dir = Path(tempfile.mkdtemp(dir=workdir))
        with project_live_server(run_dir, threads) as (url, pid):
            result = latency.window(url, pid, options, stalled=False)
    values = result["latencies"]
    if not values:
        raise SystemExit("no WebSocket receipts")
    return {"p50": statistics.median(values), "p99": latency.percentile(values, 99),
            "missing": result["missing"], "cpu_ms_per_event":
            result["cpu_seconds"] * 1000 / max(1, result["events"])}


# -- the run ---------------------------------------------------------------------------------


def measure(phase: str, workdir: Path, args, *, floor: bool) -> dict[str, float]:
    if phase == "ingest-single":
        return ingest_once(workdir, floor=floor, batch=1, args=args)
    if phase == "ingest-batch":
        return ingest_once(workdir, floor=floor, batch=ingest.BATCH, args=args)
    if phase == "delivery":
        return delivery_floor_once(args) if floor else delivery_project_once(workdir, args)
    return live_once(workdir, floor=floor, args=args)


KEYS = {"ingest-single": ("events_per_s",), "ingest-batch": ("events_per_s",),
        "delivery": ("rate", "dispatch_rate"), "live": ("p50", "p99")}
UNITS = {"events_per_s": "events/s", "rate": "webhooks/s", "p50": "ms p50", "p99": "ms p99",
         "dispatch_rate": "webhooks/s, dispatch only"}
# The floor has one figure a phase; the project's second delivery figure is against it too.
FLOOR_KEY = {"dispatch_rate": "rate"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--runs", type=int, default=3, help="alternating pairs per phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--live-seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=32, help="gunicorn threads (ingest)")
    parser.add_argument("--delivery-threads", type=int, default=8,
                        help="sender threads of the delivery floor")
    parser.add_argument("--delivery-warmup", type=float, default=3.0)
    parser.add_argument("--dispatch-backlog", type=int, default=10000,
                        help="webhooks in the outbox before the dispatch-only window")
    args = parser.parse_args(argv)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}, commit {head or '?'} "
          f"(plus the working tree); load average {os.getloadavg()[0]:.2f}\n", flush=True)
    lines = ["| figure | project (median) | floor (median) | ratio | runs (project / floor) |",
             "|---|---:|---:|---:|---|"]
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        workdir = Path(tmp)
        for phase in args.phases:
            runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
            for _ in range(args.runs):
                for floor in (False, True):
                    result = measure(phase, workdir, args, floor=floor)
                    runs[floor].append(result)
                    shown = ", ".join(f"{k} {result[k]:,.1f}" for k in KEYS[phase]
                                      if k in result)
                    print(f"  {phase} {'floor' if floor else 'project'}: {shown}", flush=True)
            for key in KEYS[phase]:
                floor_key = FLOOR_KEY.get(key, key)
                ours = statistics.median(r[key] for r in runs[False])
                base = statistics.median(r[floor_key] for r in runs[True])
                each = " / ".join(", ".join(f"{r[k]:,.1f}" for r in runs[floor])
                                  for floor, k in ((False, key), (True, floor_key)))
                lines.append(f"| {phase} {UNITS[key]} | {ours:,.1f} | {base:,.1f} | "
                             f"{ours / base:.2f}x | {each} |")
    print()
    print("\n".join(lines))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
