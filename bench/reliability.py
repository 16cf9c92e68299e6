"""Webhook delivery reliability: a receiver failing 30 % of requests, and a server SIGKILLed.

Usage: python bench/reliability.py [--alerts N] [--kills K] [--fail-rate F] [--seed S]

Runs two scenarios against a real server (gunicorn, matcher and dispatcher threads inside,
a fresh database: SQLite, or PostgreSQL when ALERTING_TEST_DATABASE_URL names one):

  1. N alerts to a receiver that fails F of its requests at random, a third each:
     HTTP 500; a timeout (it reads the request, counts it as processed, and answers only
     after 2 s, longer than ALERTING_WEBHOOK_TIMEOUT_SECONDS=1); a connection reset
     (SO_LINGER 0 and close, no answer). Retries on a compressed ALERTING_RETRY_SCHEDULE.
  2. The same, with the server SIGKILLed K times at random moments and restarted on the same
     database (no migration). Leases are 3 s (ALERTING_DELIVERY_LEASE_SECONDS) so that what a
     killed process had in flight is sent again soon after the restart.

Each run waits until every delivery is `delivered`, then checks against the receiver's log:
every alert's webhook-id was processed by the receiver (0 lost), no delivery is dead, and
every webhook-id received more than once carried the same body each time. The receiver is
the raw asyncio HTTP server of bench/delivery.py, in its own process. Exits 1 if anything is
lost or inconsistent.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.delivery import KEY, Receiver, event, post_json  # noqa: E402

PROCESSED = ("ok", "timeout")  # the receiver did the work (a timeout answers too late)
RETRY_SCHEDULE = "0.05,0.1,0.2,0.3,0.5" + ",0.5" * 15  # 20 retries: 0.3^21 never runs out
WEBHOOK_TIMEOUT_SECONDS = 1
LATE_ANSWER_SECONDS = 2.0
LEASE_SECONDS = 3


def server_settings(receiver_url: str, **extra: str) -> dict[str, str]:
    return {
        "ALERTING_BOOTSTRAP_API_KEY": KEY,
        "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",  # measure the engine, not the limit
        "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
        "ALERTING_WEBHOOK_URL": receiver_url,
        "ALERTING_WEBHOOK_TIMEOUT_SECONDS": str(WEBHOOK_TIMEOUT_SECONDS),
        "ALERTING_RETRY_SCHEDULE": RETRY_SCHEDULE,
        "ALERTING_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "ALERTING_LOG_LEVEL": "WARNING",
        **extra,
    }


class Ledger:
    """What the database says, read directly (works while the server is down)."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    def snapshot(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            statuses = dict(conn.execute(text(
                "SELECT status, count(*) FROM deliveries GROUP BY status")).all())
            alerts = conn.execute(text("SELECT count(*) FROM alerts")).scalar()
            unprocessed = conn.execute(text(
                "SELECT count(*) FROM events WHERE processed_at IS NULL")).scalar()
        return {"statuses": statuses, "alerts": alerts, "unprocessed": unprocessed}

    def message_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(text("SELECT message_id FROM deliveries")).scalars())

    def attempts(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM delivery_attempts")).scalar()

    def close(self) -> None:
        self.engine.dispose()


def finished(snapshot: dict[str, Any], total: int) -> bool:
    statuses = snapshot["statuses"]
    return (snapshot["unprocessed"] == 0 and snapshot["alerts"] == total
            and statuses.get("delivered", 0) + statuses.get("dead", 0) == total)


def create_rule(url: str) -> None:
    with requests.Session() as session:
        session.headers["x-access-token"] = KEY
        rule = {"name": "every person", "severity": "high", "object_types": ["person"],
                "cooldown_seconds": 0, "channels": ["webhook"]}
        post_json(session, url + "/api/alerts/rules", rule)


class Poster(threading.Thread):
    """Posts events `start`.. in batches; a kill stops it, and the next life resumes at
    `self.start_at` (a batch cut by the kill is posted again: events are idempotent by
    source + external_id)."""

    def __init__(self, url: str, total: int, prefix: str, start_at: int, batch: int = 100):
        super().__init__(daemon=True)
        self.url, self.total, self.prefix, self.start_at, self.batch = (
            url, total, prefix, start_at, batch)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with requests.Session() as session:
                session.headers["x-access-token"] = KEY
                while self.start_at < self.total:
                    end = min(self.total, self.start_at + self.batch)
                    body = {"events": [event(i, "cam-1", self.prefix)
                                       for i in range(self.start_at, end)]}
                    post_json(session, self.url + "/api/events", body)
                    self.start_at = end
        except (requests.RequestException, AssertionError) as exc:  # the server was killed
            self.error = exc


def run(tmp: Path, *, alerts: int = 1000, kills: int = 0, fail_rate: float = 0.3,
        seed: int | None = None, timeout: float = 240.0,
        kill_window: tuple[float, float] = (0.5, 2.5), log=print) -> dict[str, Any]:
    """One scenario; returns the figures and `problems` (empty when nothing is wrong)."""
    from tests.support.databases import TempDatabase
    from tests.support.server import kill_hard, running_server

    rng = random.Random(seed)
    receiver = Receiver(fail_rate=fail_rate, timeout_seconds=LATE_ANSWER_SECONDS,
                        keep_bodies=True, seed=rng.random())
    database = TempDatabase(tmp, f"reliability-{kills}")
    ledger = Ledger(database.url)
    env = server_settings(receiver.url)
    prefix = f"r{kills}-{rng.randrange(10**6)}"
    started = time.monotonic()
    killed_at: list[str] = []
    posted = 0
    try:
        for life in range(kills + 1):
            with running_server(tmp, migrate=life == 0, database=database, **env) as (
                    url, proc, _log):
                if life == 0:
                    create_rule(url)
                poster = Poster(url, alerts, prefix, posted)
                poster.start()
                if life < kills:
                    time.sleep(rng.uniform(*kill_window))
                    snap = ledger.snapshot()
                    kill_hard(proc)
                    poster.join(60)
                    posted = poster.start_at
                    killed_at.append(
                        f"{time.monotonic() - started:.1f} s ({posted} events posted, "
                        f"{snap['alerts']} alerts, "
                        f"{snap['statuses'].get('delivered', 0)} delivered, "
                        f"{snap['statuses'].get('sending', 0)} sending)")
                    log(f"  SIGKILL {len(killed_at)} at {killed_at[-1]}")
                    continue
                poster.join(120)
                if poster.error is not None or poster.start_at < alerts:
                    raise RuntimeError(f"posting failed on a running server: {poster.error!r}")
                deadline = time.monotonic() + timeout
                while not finished(ledger.snapshot(), alerts):
                    if time.monotonic() > deadline:
                        log("  timed out waiting for every delivery")
                        break
                    time.sleep(0.1)
        elapsed = time.monotonic() - started
        time.sleep(LATE_ANSWER_SECONDS + 0.5)  # late answers and stray retries arrive
        return analyse(receiver.records, ledger, alerts, kills, elapsed, killed_at)
    finally:
        receiver.stop()
        ledger.close()
        database.drop()


def analyse(records: list[tuple], ledger: Ledger, alerts: int, kills: int, elapsed: float,
            killed_at: list[str]) -> dict[str, Any]:
    snapshot = ledger.snapshot()
    expected = ledger.message_ids()
    kinds = Counter(r[1] for r in records)
    processed: Counter[str] = Counter()
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for _t, kind, wid, _ts, _sig, body in records:
        bodies[wid].add(body)
        if kind in PROCESSED:
            processed[wid] += 1
    answered_ok = {r[2] for r in records if r[1] == "ok"}
    lost = expected - set(processed)
    duplicates = {wid: n for wid, n in processed.items() if n > 1}
    inconsistent = [wid for wid, seen in bodies.items() if len(seen) > 1]
    unknown = set(bodies) - expected
    problems = []
    if snapshot["alerts"] != alerts:
        problems.append(f"{snapshot['alerts']} alerts, expected {alerts}")
    if lost:
        problems.append(f"{len(lost)} lost (never processed by the receiver)")
    if expected - answered_ok:
        problems.append(f"{len(expected - answered_ok)} never answered 200 in time")
    if set(snapshot["statuses"]) - {"delivered"}:
        problems.append(f"not all delivered: {snapshot['statuses']}")
    if inconsistent:
        problems.append(f"{len(inconsistent)} webhook-ids sent with different bodies")
    if unknown:
        problems.append(f"{len(unknown)} webhook-ids not in the database")
    return {
        "alerts": snapshot["alerts"], "kills": kills, "elapsed": elapsed,
        "requests": len(records), "kinds": dict(kinds),
        "unique_processed": len(processed), "lost": len(lost),
        "duplicates": len(duplicates), "duplicate_requests": sum(duplicates.values())
        - len(duplicates), "inconsistent": len(inconsistent),
        "statuses": snapshot["statuses"], "attempts_recorded": ledger.attempts(),
        "killed_at": killed_at, "problems": problems,
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| run | alerts | unique webhook-ids processed | lost | requests | 200 | 500 | "
        "timeout | reset | duplicates (same id processed >1) | same id + body | "
        "attempts recorded | final statuses | time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for r in results:
        k = r["kinds"]
        name = f"{r['kills']} x SIGKILL" if r["kills"] else "failures only"
        lines.append(
            f"| {name} | {r['alerts']} | {r['unique_processed']} | {r['lost']} "
            f"| {r['requests']} | {k.get('ok', 0)} | {k.get('500', 0)} | {k.get('timeout', 0)} "
            f"| {k.get('reset', 0)} | {r['duplicates']} ({r['duplicate_requests']} extra) "
            f"| {'yes' if not r['inconsistent'] else 'NO'} | {r['attempts_recorded']} "
            f"| {r['statuses']} | {r['elapsed']:.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    print(f"seed {seed}; receiver fails {args.fail_rate:.0%} (500 / 2 s timeout / reset); "
          f"webhook timeout {WEBHOOK_TIMEOUT_SECONDS} s; retry schedule {RETRY_SCHEDULE}; "
          f"lease {LEASE_SECONDS} s")
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    try:
        for kills in (0, args.kills):
            print(f"run: {args.alerts} alerts, {kills} SIGKILLs", flush=True)
            result = run(tmp, alerts=args.alerts, kills=kills, fail_rate=args.fail_rate,
                         seed=seed + kills)
            results.append(result)
            for line in result["problems"]:
                print("  PROBLEM:", line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(results))
    for r in results:
        if r["killed_at"]:
            print(f"\nSIGKILLs ({r['kills']}): " + "; ".join(r["killed_at"]))
    ok = all(not r["problems"] for r in results)
    print("\n" + ("PASS: 0 lost, every duplicate carries the same webhook-id and body"
                  if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
