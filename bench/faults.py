"""Fault injection, in full: database errors at every statement of ingest, matching and delivery.

Usage: python bench/faults.py [--events N] [--postgres URL] [--at 1,3]

One app, its matcher and dispatcher loops running, a real webhook receiver on loopback. N
events are posted through the API (10 s apart, round-robin over 4 cameras) to two rules: one
firing for every event, one with a 60 s cooldown per camera. Meanwhile every distinct
statement made by the poster, the matcher and the dispatcher fails at its executions listed
in --at (default the 1st and the 3rd), with the next error in turn: "database is locked" or
the connection dropped on SQLite; a serialization failure, a lock timeout or the connection
dropped on PostgreSQL (tests/support/faults.py). A refused post is posted again, as a
detector would.

Then it checks: every event stored and matched exactly once, the alerts a clean run makes
(per rule), every delivery delivered, each webhook-id received exactly once, and both loops
running. Runs on SQLite, and on PostgreSQL when --postgres (or ALERTING_TEST_DATABASE_URL)
names one. Prints a markdown table; exits 1 on any problem. `make test` runs a reduced
version (tests/workers/test_faults.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run_one(tmp: Path, events: int, at: tuple[int, ...]) -> dict:
    from tests.support import app as test_apps
    from tests.support.app import make_app, make_key
    from tests.support.faults import run_faults

    app = make_app(tmp, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"], RETRY_SCHEDULE=[0.05] * 10,
                   RATE_LIMIT_INGEST="1000000 per second", LOG_LEVEL="CRITICAL")
    try:
        return run_faults(app, {"x-access-token": make_key(app)}, events=events, at=at,
                          timeout=300)
    finally:
        from alerting.extensions import db

        while test_apps._databases:
            used, database = test_apps._databases.pop()
            with used.app_context():
                db.session.remove()
                db.engine.dispose()
            database.drop()


def table(results: list[dict]) -> str:
    lines = [
        "| database | events | distinct statements (all faulted) | executions | faults injected "
        "| posts refused, posted again | alerts (every / cooled) | deliveries | webhooks "
        "received | loops after | time | problems |",
        "|---|---:|---:|---:|---|---:|---|---|---:|---|---:|---|",
    ]
    for r in results:
        injected = ", ".join(f"{n} {kind}" for kind, n in sorted(r["injected"].items()))
        loops = ", ".join(f"{name} {state['state']}" for name, state in r["loops"].items())
        lines.append(
            f"| {r['database']} | {r['events']} | {r['statements']} "
            f"({r['statements_faulted']}) | {r['executions']} | {r['injected_total']}: "
            f"{injected} | {sum(r['posts_retried'].values())} | {r['alerts'].get('every', 0)} / "
            f"{r['alerts'].get('cooled', 0)} | {r['deliveries']} | {r['webhooks_received']} "
            f"| {loops} | {r['elapsed']:.1f} s | {'; '.join(r['problems']) or 'none'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("ALERTING_TEST_DATABASE_URL"))
    parser.add_argument("--at", default="1,3",
                        help="which executions of each statement fail (1-based)")
    args = parser.parse_args(argv)
    at = tuple(int(n) for n in args.at.split(","))
    logging.basicConfig(level=logging.CRITICAL)  # thousands of expected errors
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    try:
        for url in (None, args.postgres):
            if url is None and results:
                continue
            if url is None:
                os.environ.pop("ALERTING_TEST_DATABASE_URL", None)
            else:
                os.environ["ALERTING_TEST_DATABASE_URL"] = url
            print(f"run: {'postgresql' if url else 'sqlite'}, {args.events} events, "
                  f"executions {at} of every statement fail", flush=True)
            results.append(run_one(tmp, args.events, at))
            for problem in results[-1]["problems"]:
                print("  PROBLEM:", problem)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(results))
    ok = all(not r["problems"] for r in results)
    print("\n" + ("PASS: nothing lost, nothing doubled, both loops running" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
