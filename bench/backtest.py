"""Backtest speed: 100,000 stored events replayed through one rule, streamed from the database.

Usage: python bench/backtest.py [--events N] [--runs R] [--seed S] [--database URL]

Seeds a fresh database (SQLite file by default; --database a PostgreSQL URL, in a schema of
its own, dropped at the end) with N events over 30 days on 8 cameras, each with 0-3 detections, then
times, R times each, interleaved:

- backtest: services.backtest.run for a rule with object types, a minimum confidence, an
  overnight schedule in a timezone, a condition, an {camera_id}:{object_type}:{hour} dedup
  key and a 10 minute cooldown (no camera filter: every stored event is read and judged);
- floor: the same query over the same rows, each row just read (no event built, no match).

With --hooks, the rule is also armed only in `home` and `night` and names a mute timing
(weekdays 12:00-14:00), the database holds 100 silences over the range (one camera each,
some with an object type too) and a mode change every 12 hours; then `backtest` runs with
the hooks on (modes, silences and mute timings as they were) and `backtest, hooks off`
with services.backtest.HOOK_PROVIDERS emptied, interleaved; the ratio on / off is printed.

Prints a markdown table: median and p99 seconds of each, events per second, and the ratio
backtest / floor (what the replay costs on top of reading the rows). Wall time and this
process's CPU time: on a shared machine the second says more (the database is SQLite, in
this process).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from alerting import create_app  # noqa: E402
from alerting.engine.types import rule_from_record  # noqa: E402
from alerting.extensions import db  # noqa: E402
from alerting.models import (  # noqa: E402
    Detection,
    Event,
    ModeChange,
    MuteTiming,
    Silence,
)
from alerting.schemas.rules import parse_rule  # noqa: E402
from alerting.services import backtest  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30
TYPES = ("person", "car", "dog", "cat", "package")
ZONES = ("driveway", "porch", "yard", "street")
RULE = {
    "name": "Person or car at night", "severity": "high", "object_types": ["person", "car"],
    "min_confidence": 0.5, "risk_threshold": 20,
    "schedule": {"days": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
                 "start_time": "20:00", "end_time": "07:00", "timezone": "Europe/Paris"},
    "conditions": [{"field": "detection_count", "op": "gte", "value": 1}],
    "dedup_key_template": "{camera_id}:{object_type}:{hour}", "cooldown_seconds": 600,
}


def seed(count: int, rng: random.Random) -> None:
    events, detections = [], []
    for i in range(1, count + 1):
        when = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        events.append({"id": i, "camera_id": f"cam-{rng.randint(1, 8)}", "started_at": when,
                       "risk_score": rng.randint(0, 100), "labels": [], "source": "bench",
                       "external_id": str(i), "received_at": when, "processed_at": when})
        for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
            detections.append({"event_id": i, "object_type": rng.choice(TYPES),
                               "confidence": round(rng.uniform(0.2, 1.0), 2),
                               "zone_ids": rng.sample(ZONES, rng.randint(0, 2))})
    with db.engine.begin() as conn:
        for part in range(0, len(events), 5000):
            conn.execute(insert(Event.__table__), events[part:part + 5000])
        for part in range(0, len(detections), 5000):
            conn.execute(insert(Detection.__table__), detections[part:part + 5000])


def seed_quiet(rng: random.Random) -> None:
    """100 silences, a mode change every 12 hours, and the mute timing `lunch`."""
    silences, changes = [], []
    for i in range(100):
        begins = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        matchers = [{"field": "camera_id", "op": "=", "value": f"cam-{rng.randint(1, 8)}"}]
        if i % 3 == 0:
            matchers.append({"field": "object_type", "op": "=", "value": rng.choice(TYPES)})
        silences.append({"id": f"00000000-0000-4000-8000-{i:012d}", "matchers": matchers,
                         "starts_at": begins, "ends_at": begins + timedelta(hours=2),
                         "comment": "", "created_by": "bench", "created_at": begins,
                         "updated_at": begins})
    for i in range(DAYS * 2):
        changes.append({"at": START + timedelta(hours=12 * i, minutes=7),
                        "mode": ("home", "away", "night")[i % 3], "previous": None,
                        "source": "user", "actor": "bench"})
    with db.engine.begin() as conn:
        conn.execute(insert(Silence.__table__), silences)
        conn.execute(insert(ModeChange.__table__), changes)
        conn.execute(insert(MuteTiming.__table__), [{
            "name": "lunch", "intervals": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                            "start_time": "12:00", "end_time": "14:00"}],
            "timezone": "UTC", "date_ranges": None, "created_at": START, "updated_at": START}])


def floor(since: datetime, until: datetime) -> int:
    """The backtest's query, each row read and dropped."""
    conn = db.session.connection()
    query = backtest._stream_query(conn.dialect.name).where(
        backtest._E.c.started_at >= since, backtest._E.c.started_at < until)
    conn = conn.execution_options(yield_per=backtest.CHUNK_ROWS)
    rows = 0
    for _row in conn.execute(query):
        rows += 1
    db.session.rollback()
    return rows


MUTE_TIMINGS: tuple[str, ...] = ()


def replay(rule, since: datetime, until: datetime) -> int:
    result = backtest.run(rule, since, until, limit=100, mute_timings=MUTE_TIMINGS)
    db.session.rollback()
    return result["events_replayed"]


def replay_unhooked(rule, since: datetime, until: datetime) -> int:
    providers = backtest.HOOK_PROVIDERS
    backtest.HOOK_PROVIDERS = []
    try:
        return replay(rule, since, until)
    finally:
        backtest.HOOK_PROVIDERS = providers


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default=None)
    parser.add_argument("--hooks", action="store_true",
                        help="modes, silences and mute timings on, against hooks off")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-backtest-")
    url = args.database or f"sqlite:///{folder}/bench.db"
    schema = None
    if url.startswith("postgresql"):
        schema = f"bench_backtest_{os.getpid()}"
        with create_engine(url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    try:
        run(url, args)
    finally:
        if schema:
            with create_engine(args.database).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def run(url: str, args: argparse.Namespace) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INPROCESS_WORKERS": False,
                      "BOOTSTRAP": False, "TESTING": True})
    with app.app_context():
        db.create_all()
        seed(args.events, random.Random(args.seed))
        body = dict(RULE)
        measured = {"backtest": lambda: replay(rule, since, until),
                    "floor": lambda: floor(since, until)}
        if args.hooks:
            global MUTE_TIMINGS
            seed_quiet(random.Random(args.seed))
            body.update(modes=["home", "night"], mute_timings=["lunch"])
            MUTE_TIMINGS = ("lunch",)
            measured["backtest, hooks off"] = lambda: replay_unhooked(rule, since, until)
        rule = rule_from_record({"id": "bench", **parse_rule(body)})
        since, until = START, START + timedelta(days=DAYS)
        times: dict[str, list[float]] = {name: [] for name in measured}
        cpu: dict[str, list[float]] = {name: [] for name in measured}
        replay(rule, since, until)  # warm-up
        for _ in range(args.runs):
            for name, fn in measured.items():
                began, began_cpu = time.perf_counter(), time.process_time()
                done = fn()
                times[name].append(time.perf_counter() - began)
                cpu[name].append(time.process_time() - began_cpu)
                assert done > 0
        events = replay(rule, since, until)
        result = backtest.run(rule, since, until, mute_timings=MUTE_TIMINGS)
        alerts = result["alerts"]
    quiet = (f", {result['silenced']:,} silenced, {result['disarmed']:,} disarmed"
             if args.hooks else "")
    print(f"{events:,} events replayed ({alerts:,} alerts{quiet}) on "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}, {args.runs} runs")
    print()
    print("| what | median s | p99 s | events/s (median) | CPU median s | CPU p99 s |")
    print("|---|---|---|---|---|---|")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| {name} | {median:.3f} | {_p99(samples):.3f} | {events / median:,.0f} "
              f"| {statistics.median(cpu[name]):.3f} | {_p99(cpu[name]):.3f} |")
    ratio = statistics.median(times["backtest"]) / statistics.median(times["floor"])
    print()
    print(f"- backtest / floor (median): {ratio:.2f}")
    if args.hooks:
        for kind, samples in (("wall", times), ("CPU", cpu)):
            on_off = statistics.median(samples["backtest"]) / statistics.median(
                samples["backtest, hooks off"])
            print(f"- hooks on / hooks off (median {kind}): {on_off:.2f}")
    print(f"- goal: {args.events:,} events in under 2 s: "
          f"{'MET' if statistics.median(times['backtest']) < 2 else 'MISSED'} (median wall), "
          f"{'MET' if max(times['backtest']) < 2 else 'MISSED'} (every run, wall), "
          f"{'MET' if statistics.median(cpu['backtest']) < 2 else 'MISSED'} (median CPU)")
    print(f"- load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
