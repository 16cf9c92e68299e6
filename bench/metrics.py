"""What the Prometheus metrics cost the hot path: CPU per event of ingest + matching, with the
metric calls on and off, interleaved in one run; and each metric call alone.

Usage: python bench/metrics.py [--rounds 40] [--events 100] [--seed 7]

One app on a fresh SQLite file (in a temporary directory; the metrics in a temporary
PROMETHEUS_MULTIPROC_DIR), the simulator's demo rules, and the simulator's events. A round
stores --events events one call at a time through services.ingest.ingest (one event per
call, as one POST each, without the HTTP layer) and then matches them with
alert_pipeline.match_pending, which writes their alerts and delivery rows. Its CPU time
(time.process_time, this process only, no other thread running) divided by the events is one
sample. Rounds alternate between the metrics on (the code as it is) and off (the functions
alerting.metrics exposes replaced by no-ops, so the call sites still make their calls), so
both see the same drift of the machine. Then each metric function alone: the median of
timeit batches, in microseconds per call, in multi-process mode (values in mmap files).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-metrics-")

from alerting import create_app, metrics  # noqa: E402
from alerting.extensions import db  # noqa: E402
from alerting.services import alert_pipeline, ingest  # noqa: E402
from alerting.simulate import EventGenerator, ensure_demo_rules  # noqa: E402

HOT = ("events_ingested", "events_matched", "alert_created", "alert_silenced")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def one_round(generator: EventGenerator, clock: list[datetime], events: int) -> float:
    """CPU seconds per event of storing `events` events one by one and matching them."""
    bodies = []
    for _ in range(events):
        clock[0] += timedelta(seconds=7)
        bodies.append(generator.event(clock[0]))
    started = time.process_time()
    for body in bodies:
        ingest.ingest(body)
    while alert_pipeline.match_pending(500):
        pass
    return (time.process_time() - started) / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-db-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "SECRET_KEY": "b",
                      "BOOTSTRAP": False, "INPROCESS_WORKERS": False})
    real = {name: getattr(metrics, name) for name in HOT}
    off = {name: (lambda *a, **k: None) for name in HOT}
    samples: dict[str, list[float]] = {"on": [], "off": []}
    with app.app_context():
        db.create_all()
        ensure_demo_rules(lambda _line: None)
        generator = EventGenerator(seed=args.seed, camera_count=4)
        clock = [datetime(2026, 1, 1, tzinfo=UTC)]
        one_round(generator, clock, args.events)  # warm-up
        for index in range(2 * args.rounds):
            mode = "on" if index % 2 == 0 else "off"
            for name, function in (real if mode == "on" else off).items():
                setattr(metrics, name, function)
            samples[mode].append(one_round(generator, clock, args.events))
        for name, function in real.items():
            setattr(metrics, name, function)

    print(f"Ingest + matching, {args.rounds} rounds of {args.events} events each way, "
          "CPU ms per event:\n")
    print("| metrics | median | p99 |")
    print("|---|---|---|")
    for mode in ("off", "on"):
        values = samples[mode]
        print(f"| {mode} | {1000 * statistics.median(values):.3f} | "
              f"{1000 * percentile(values, 0.99):.3f} |")
    ratio = statistics.median(samples["on"]) / statistics.median(samples["off"])
    print(f"\nratio on/off (medians): {ratio:.3f}\n")

    now = datetime.now(UTC)
    calls = {
        "event_ingested('frigate')": lambda: metrics.event_ingested("frigate"),
        "events_matched([one event])": lambda: metrics.events_matched([now], now),
        "alert_created('high', rule)": lambda: metrics.alert_created("high", "r-1"),
        "delivery_attempted(...)": lambda: metrics.delivery_attempted("webhook", "delivered",
                                                                     0.05, 1),
        "websocket_opened()": metrics.websocket_opened,
    }
    print("| call (multi-process mode) | median µs per call |")
    print("|---|---|")
    for label, call in calls.items():
        batches = [timeit.timeit(call, number=2000) / 2000 for _ in range(15)]
        print(f"| `{label}` | {1e6 * statistics.median(batches):.2f} |")


if __name__ == "__main__":
    main()
