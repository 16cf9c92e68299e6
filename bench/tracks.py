"""What 1,000 open tracks with dwell rules cost while nothing changes: the process CPU time
(time.process_time) of the track timer loop (workers/track_timer_loop.py) running idle,
per second of wall time, against a floor: a supervised loop that only sleeps the same poll
interval, in alternating rounds of one run so the machine's noise falls on both alike.

Set-up, on SQLite: `--rules` dwell rules (an hour each, so no timer comes due), `--tracks`
people each standing in a zone (one HTTP event with a track id each), all matched, so every
track is open and has a due time.

Usage: python bench/tracks.py [--tracks 1000] [--rules 10] [--seconds 30] [--rounds 6]

Prints per variant the median and p99 of the CPU ms per wall second over the rounds, and the
difference (the goal: under 1 ms per second).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from alerting import bootstrap, create_app  # noqa: E402
from alerting.extensions import db  # noqa: E402
from alerting.models import Track  # noqa: E402
from alerting.services import ingest, rules  # noqa: E402
from alerting.services.alert_pipeline import match_pending  # noqa: E402
from alerting.workers.loop import SupervisedLoop  # noqa: E402
from alerting.workers.track_timer_loop import TrackTimer  # noqa: E402


class Sleeper(SupervisedLoop):
    """The floor: a supervised loop that sleeps its poll interval and does nothing."""

    def __init__(self, poll_seconds: float):
        super().__init__("sleeper")
        self.poll_seconds = poll_seconds

    def cycle(self) -> None:
        self._wake.wait(self.poll_seconds)
        self._wake.clear()


def seed(app, n_tracks: int, n_rules: int) -> None:
    with app.app_context():
        for i in range(n_rules):
            rules.create_rule({"name": f"loiter {i}", "severity": "low",
                               "zone_ids": [f"zone-{i}"], "min_dwell_seconds": 3600}, "bench")
        for start in range(0, n_tracks, 500):
            ingest.ingest({"events": [
                {"camera_id": f"cam-{i % 20}", "detections": [
                    {"object_type": "person", "zone_ids": [f"zone-{i % n_rules}"],
                     "track_id": f"p{i}"}]}
                for i in range(start, min(n_tracks, start + 500))]})
        while match_pending(500):
            pass
        due = db.session.scalar(select(func.count()).select_from(Track).where(
            Track.due_at.is_not(None)))
        db.session.remove()
    assert due == n_tracks, f"{due} of {n_tracks} tracks have a due time"


def measure(loop: SupervisedLoop, seconds: float) -> float:
    """CPU ms per wall second of the process while the loop runs (the main thread sleeps)."""
    loop.start()
    time.sleep(0.5)  # its first cycle (the timer's start-up reads) is not the idle state
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(seconds)
    used = (time.process_time() - cpu) * 1000 / (time.monotonic() - wall)
    loop.stop()
    return used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tracks-"))
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'a.db'}", "SECRET_KEY": "x",
                      "INPROCESS_WORKERS": False, "BOOTSTRAP": False,
                      # no track ends while measured
                      "TRACK_TIMEOUT_SECONDS": 24 * 3600})
    with app.app_context():
        db.create_all()
    bootstrap(app)
    seed(app, args.tracks, args.rules)
    poll = float(app.config["TRACK_POLL_SECONDS"])
    samples: dict[str, list[float]] = {"track timer": [], "floor (sleeping loop)": []}
    for _round in range(args.rounds):
        samples["track timer"].append(measure(TrackTimer(app), args.seconds))
        samples["floor (sleeping loop)"].append(measure(Sleeper(poll), args.seconds))
    print(f"{args.tracks} open tracks, {args.rules} dwell rules, {args.seconds:g} s idle x "
          f"{args.rounds} rounds; CPU ms per wall second")
    medians = {}
    for name, values in samples.items():
        values.sort()
        p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
        medians[name] = statistics.median(values)
        print(f"  {name:24} median {medians[name]:.3f}  p99 {p99:.3f}")
    extra = medians["track timer"] - medians["floor (sleeping loop)"]
    print(f"  timer minus floor: {extra:.3f} ms per second (goal: under 1)")


if __name__ == "__main__":
    main()
