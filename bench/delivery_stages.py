"""Serial webhook latency split into stages: where one event's way from POST to webhook goes.

Usage: python bench/delivery_stages.py [--n 300] [--warmup-n 20] [--gap 0.01]
                                      [--switch-interval S]

Runs bench/delivery.py's phase (a) (a real server: SQLite, one gunicorn worker, one rule with
the webhook channel firing on every event; its receiver; one event at a time, a 10 ms pause),
with probes installed in the worker by this file's gunicorn settings
(`bench/delivery_stages_gunicorn.py`), nothing in the app's own code. Each probe notes
CLOCK_MONOTONIC (shared by the processes); one event is in flight at a time, so a stage is the
first one noted after the previous stage and before the next POST:

  entered           the POST entered the app (its WSGI callable)
  committed         events_matched sent: the event and its alert committed (matched on ingest)
  due signalled     deliveries_due sent (after the live hub's subscribers of events_matched)
  dispatcher woken  Dispatcher.step entered
  claim started     deliveries.claim_due entered
  build started     its messages: deliveries._messages entered
  message built     deliveries._messages returned
  claim committed   claim_due returned (the lease committed)
  send started      Dispatcher._send entered (a pool thread)
  http started      WebhookNotifier.send entered
  receiver got it   the receiver's timestamp (the whole request read)
  http answered     WebhookNotifier.send returned
  record started    deliveries.record_outcomes entered
  outcome recorded  deliveries.record_outcomes returned
  answered          the POST's after_request
  wsgi returned     the app's WSGI callable returned (teardown done); "POST returned": at
                    the client

Prints the median and p99 of each stage's time since the POST was sent, and of each step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import delivery  # noqa: E402

ORDER = ("entered", "committed", "due signalled", "dispatcher woken", "claim started",
         "build started", "message built", "claim committed", "send started", "http started",
         "receiver got it", "http answered", "record started", "outcome recorded")


def run(args, tmp: Path) -> tuple[list[dict[str, float]], Path]:
    from tests.support.server import running_server

    receiver = delivery.Receiver(keep_bodies=False)
    stages_file = tmp / "stages.jsonl"
    env = {"ALERTING_BOOTSTRAP_API_KEY": delivery.KEY,
           "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",
           "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
           "ALERTING_WEBHOOK_URL": receiver.url, "ALERTING_LOG_LEVEL": "WARNING",
           "BENCH_STAGES_FILE": str(stages_file), "PYTHONPATH": str(ROOT),
           **({"BENCH_SWITCH_INTERVAL": str(args.switch_interval)} if args.switch_interval
              else {})}
    events: list[dict[str, float]] = []
    try:
        with running_server(tmp, config="bench/delivery_stages_gunicorn.py", **env) as (url, _p,
                                                                                       _log):
            http = requests.Session()
            http.headers.update({"x-access-token": delivery.KEY})
            rule = {"name": "every person", "severity": "high", "object_types": ["person"],
                    "cooldown_seconds": 0, "channels": ["webhook"]}
            http.post(url + "/api/alerts/rules", json=rule).raise_for_status()
            for i in range(args.warmup_n + args.n):
                before = receiver.count()
                sent = time.monotonic()
                delivery.post_json(http, url + "/api/events", delivery.event(i, "cam-1", "s"))
                returned = time.monotonic()
                if not receiver.wait_for(before + 1, 10):
                    raise TimeoutError(f"event {i} not received within 10 s")
                if i >= args.warmup_n:
                    events.append({"sent": sent, "POST returned": returned,
                                   "receiver got it": receiver.records[before][0]})
                time.sleep(args.gap)
            time.sleep(1.5)  # the probes' last lines
    finally:
        receiver.stop()
    return events, stages_file


def attribute(events: list[dict[str, float]], stages_file: Path) -> None:
    """Each event's stages: in ORDER, the first noted at or after the previous stage and
    before the next event's POST."""
    notes = sorted((at, stage) for stage, at in map(json.loads, stages_file.read_text()
                                                    .splitlines()))
    bounds = [e["sent"] for e in events[1:]] + [float("inf")]
    for marks, end in zip(events, bounds, strict=True):
        window = [(at, stage) for at, stage in notes if marks["sent"] <= at < end]
        after = marks["sent"]
        for stage in ORDER:
            if stage == "receiver got it":
                after = marks[stage]
                continue
            at = next((at for at, name in window if name == stage and at >= after), None)
            if at is None:
                break
            marks[stage] = after = at
        for stage in ("answered", "wsgi returned"):
            at = next((at for at, name in window if name == stage), None)
            if at is not None:
                marks[stage] = at


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {delivery.pct(values, 0.99):.2f}"


def table(events: list[dict[str, float]]) -> str:
    lines = ["| stage | events | ms since the POST was sent, p50 / p99 |", "|---|---:|---:|"]
    for stage in (*ORDER, "answered", "wsgi returned", "POST returned"):
        values = [(e[stage] - e["sent"]) * 1000 for e in events if stage in e]
        lines.append(f"| {stage} | {len(values)} | {summary(values)} |")
    lines += ["", "| step | ms, p50 / p99 |", "|---|---:|"]
    previous = "sent"
    for stage in ORDER:
        values = [(e[stage] - e[previous]) * 1000 for e in events
                  if stage in e and previous in e]
        lines.append(f"| {previous} -> {stage} | {summary(values)} |")
        previous = stage
    for first, then in (("answered", "wsgi returned"), ("wsgi returned", "POST returned")):
        values = [(e[then] - e[first]) * 1000 for e in events if first in e and then in e]
        lines.append(f"| {first} -> {then} | {summary(values)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup-n", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.01)
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="an experiment: sys.setswitchinterval in the worker (0: Python's)")
    args = parser.parse_args(argv)
    print(f"{args.n} events one at a time, {args.gap * 1000:g} ms pause; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    with tempfile.TemporaryDirectory(prefix="bench-delivery-stages-") as tmp:
        events, stages_file = run(args, Path(tmp))
        attribute(events, stages_file)
    print(table(events))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
