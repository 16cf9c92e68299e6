"""Event-to-alert throughput on PostgreSQL with 1 and with 3 `flask worker` processes, and the
number of duplicate alerts (which must be 0).

For each worker count: a fresh schema, `flask db upgrade`, one rule that fires on every event
(cooldown 0 by default, so every event gives exactly one alert; with `--cooldown S` one alert
per camera and window, and every batch waits to decide in event order), N events stored with
matching off, then K workers started together; throughput = N / (time from start until no
event is unprocessed).
Worker start-up (imports, app creation) is excluded: the clock starts when every worker has
printed that it is running.

    .venv/bin/python bench/scale.py --events 20000 --runs 3
    .venv/bin/python bench/scale.py --events 20000 --runs 3 --cooldown 60
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.support.databases import TempDatabase  # noqa: E402
from tests.support.server import BIN, server_env, upgrade  # noqa: E402

BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def seed(database: TempDatabase, count: int, cooldown: int = 0) -> None:
    from alerting import create_app
    from alerting.extensions import db
    from alerting.services import ingest, rules

    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "bench", "BOOTSTRAP": False,
                      "INPROCESS_WORKERS": False})
    with app.app_context():
        rules.create_rule({"name": "every event", "severity": "low",
                           "cooldown_seconds": cooldown,
                           "dedup_key_template": "{rule_id}:{camera_id}"}, "bench")
        for start in range(0, count, 1000):
            ingest.ingest({"events": [
                {"camera_id": f"cam-{i % 16}", "risk_score": i % 100,
                 "detections": [{"object_type": "person", "confidence": 0.9}]}
                for i in range(start, min(count, start + 1000))]})
        db.session.remove()
        db.engine.dispose()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (its backends do the SQL work)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def measure(count: int, workers: int, batch: int,
            cooldown: int = 0) -> tuple[float, int, int, float, float]:
    """Events/s, duplicate alerts, alerts, and the cores used by the workers and by
    PostgreSQL during the window (CPU seconds / elapsed seconds)."""
    os.environ["ALERTING_TEST_DATABASE_URL"] = BASE
    database = TempDatabase(Path("/tmp"), "scale")
    try:
        env = server_env(database.url, ALERTING_MATCH_BATCH_SIZE=str(batch))
        upgrade(env)
        seed(database, count, cooldown)
        engine = create_engine(database.url)
        procs = [subprocess.Popen([str(BIN / "flask"), "worker", "--no-dispatcher"], cwd=ROOT,
                                  env={**env, "ALERTING_INPROCESS_WORKERS": "off"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
        try:
            for proc in procs:  # wait until each says it is running
                while "running" not in (proc.stderr.readline() or "running"):
                    pass
            pids = [proc.pid for proc in procs]
            pg_before, workers_before = cpu_seconds(postgres_pids()), cpu_seconds(pids)
            started = time.perf_counter()
            with engine.connect() as conn:
                while conn.execute(text("SELECT count(*) FROM events WHERE processed_at IS NULL")
                                   ).scalar():
                    conn.commit()
                    time.sleep(0.01)
            elapsed = time.perf_counter() - started
            worker_cores = (cpu_seconds(pids) - workers_before) / elapsed
            pg_cores = (cpu_seconds(postgres_pids()) - pg_before) / elapsed
            with engine.connect() as conn:
                alerts, distinct = conn.execute(text(
                    "SELECT count(*), count(DISTINCT event_id) FROM alerts")).one()
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
                proc.stderr.close()
            engine.dispose()
        return count / elapsed, alerts - distinct, alerts, worker_cores, pg_cores
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--cooldown", type=int, default=0,
                        help="the rule's cooldown (> 0: batches wait to decide in event order)")
    args = parser.parse_args()
    samples: dict[int, list[tuple[float, int, int, float, float]]] = {w: [] for w in args.workers}
    for _ in range(args.runs):  # interleaved (1, 3, 1, 3): load from elsewhere hits both alike
        for workers in args.workers:
            samples[workers].append(measure(args.events, workers, args.batch, args.cooldown))
    results = {}
    for workers, runs in samples.items():
        rates = [r[0] for r in runs]
        results[workers] = (statistics.median(rates), min(rates), max(rates),
                            sum(r[1] for r in runs), [r[2] for r in runs],
                            statistics.median(r[3] for r in runs),
                            statistics.median(r[4] for r in runs))
    print(f"events per run: {args.events}, runs: {args.runs}, batch: {args.batch}, "
          f"cooldown: {args.cooldown} s\n")
    print("| workers | events/s (median) | min | max | duplicate alerts | alerts per run "
          "| cores: workers | cores: PostgreSQL | CPU ms per event |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for workers, (median, low, high, dupes, totals, wc, pc) in results.items():
        print(f"| {workers} | {median:,.0f} | {low:,.0f} | {high:,.0f} | {dupes} | {totals} "
              f"| {wc:.2f} | {pc:.2f} | {(wc + pc) / median * 1000:.2f} |")
    if 1 in results and 3 in results:
        ratio = results[3][0] / results[1][0]
        print(f"\n3 workers / 1 worker: {ratio:.2f}x (goal >= 1.8x)")

if __name__ == "__main__":
    main()
