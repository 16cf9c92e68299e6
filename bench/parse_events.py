"""CPU time of validating ingest bodies: batches of 100 events from the simulate generator.

Usage: python bench/parse_events.py [--batches 50] [--rounds 5]

Reports the median and p99, over batches, of the CPU time per event that parse_event_batch
takes (the first round is a warm-up). Only the validation: no HTTP, no database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerting.schemas.events import parse_event_batch  # noqa: E402
from alerting.simulate import EventGenerator  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    generator = EventGenerator(seed=1, camera_count=8)
    start = datetime(2025, 12, 23, tzinfo=UTC)
    bodies = [json.dumps({"events": [generator.event(start + timedelta(seconds=i * 100 + j))
                                     for j in range(100)]}) for i in range(args.batches)]
    now = datetime.now(UTC)
    samples: list[float] = []
    for round_ in range(args.rounds + 1):
        for body in bodies:
            payload = json.loads(body)
            began = time.process_time_ns()
            parse_event_batch(payload, now=now)
            if round_:
                samples.append((time.process_time_ns() - began) / 100 / 1000)
    samples.sort()
    print(f"{len(samples)} batches of 100: median {statistics.median(samples):.1f} µs per event, "
          f"p99 {samples[int(len(samples) * 0.99)]:.1f} µs per event")


if __name__ == "__main__":
    main()
