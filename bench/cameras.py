"""What camera health costs the ingest hot path: one event per call of services.ingest
(the work of one POST /api/events, without HTTP), on SQLite, from 20 cameras, with the
camera hook (services/cameras.seen_in, in the ingest transaction) and without it, in
alternating rounds of one run so the machine's noise falls on both alike.

Usage: python bench/cameras.py [--events 2000] [--rounds 6] [--cameras 20]

Prints per variant the median and p99 of the per-event time in ms, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting import bootstrap, create_app  # noqa: E402
from alerting.extensions import db  # noqa: E402
from alerting.services import cameras, ingest  # noqa: E402


def run(app, events: int, n_cameras: int, start: int) -> list[float]:
    times = []
    with app.app_context():
        for i in range(events):
            body = {"camera_id": f"cam-{i % n_cameras}", "risk_score": 40,
                    "detections": [{"object_type": "car", "confidence": 0.8}],
                    "source": "bench", "external_id": f"e-{start + i}"}
            began = time.perf_counter()
            ingest.ingest(body)
            times.append((time.perf_counter() - began) * 1000)
        db.session.remove()
    return times


def _no_hook(_conn, _events):
    return lambda: None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--cameras", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cameras-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'a.db'}", "SECRET_KEY": "x",
                      "INPROCESS_WORKERS": False, "BOOTSTRAP": False})
    with app.app_context():
        db.create_all()
    bootstrap(app)
    real = cameras.seen_in
    samples: dict[str, list[float]] = {"with the hook": [], "without": []}
    run(app, 200, args.cameras, 10**8)  # warm-up
    for round_ in range(args.rounds):
        for name in (samples if round_ % 2 == 0 else reversed(list(samples))):
            cameras.seen_in = real if name == "with the hook" else _no_hook
            samples[name].extend(run(app, args.events, args.cameras,
                                     (round_ * 2 + (name == "without")) * args.events))
    cameras.seen_in = real
    medians = {}
    for name, times in samples.items():
        times.sort()
        medians[name] = statistics.median(times)
        print(f"{name:>14}: median {medians[name]:.3f} ms, "
              f"p99 {times[int(len(times) * 0.99)]:.3f} ms ({len(times)} events)")
    print(f"ratio with/without (median): {medians['with the hook'] / medians['without']:.3f}")


if __name__ == "__main__":
    main()
