"""CPU per delivered webhook in-process: the dispatcher's own loop (claim, build the message,
lease, record) and the whole process (with the sending threads), without ingest and matching.

Usage: python bench/dispatch_cpu.py [--deliveries 2000] [--repeat 3] [--profile]

Creates a SQLite database with one webhook rule (bench/delivery.py's), whose webhooks go to
bench/delivery.py's receiver (its own process, answering at once). Each round posts and
matches `--deliveries` events first (not measured), then drains the outbox with a Dispatcher
(`drain()`, the loop's steps run in this thread) and prints the CPU microseconds per
delivery of the loop's thread (`time.thread_time`) and of the process (`time.process_time`,
the sending threads included), the median of `--repeat` rounds. `--profile` prints
cProfile's top functions of the loop's thread in one more round, timed by the thread's CPU
time (wall-clock timings would count the waits for the GIL, which the sending threads hold
in turn, against whatever statement released it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import delivery  # noqa: E402

KEY = delivery.KEY
RULE = {"name": "every person on cam-fast", "severity": "high", "object_types": ["person"],
        "camera_ids": ["cam-fast"], "cooldown_seconds": 0, "channels": ["webhook"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    receiver = delivery.Receiver(keep_bodies=False)
    tmp = tempfile.mkdtemp(prefix="dispatch-cpu-")
    os.environ.update({
        "ALERTING_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "ALERTING_SECRET_KEY": "bench",
        "ALERTING_BOOTSTRAP_API_KEY": KEY, "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",
        "ALERTING_LOG_LEVEL": "WARNING", "FLASK_APP": "app",
        "ALERTING_INPROCESS_WORKERS": "false", "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
        "ALERTING_WEBHOOK_URL": receiver.url})
    subprocess.run([str(Path(sys.executable).parent / "flask"), "db", "upgrade"], check=True,
                   capture_output=True, cwd=ROOT)
    from alerting import create_app
    from alerting.notify.dispatcher import Dispatcher
    from alerting.workers.matcher_loop import Matcher

    app = create_app()
    client = app.test_client()
    headers = {"x-access-token": KEY}
    assert client.post("/api/alerts/rules", json=RULE, headers=headers).status_code == 201
    counter = iter(range(10**9))

    def fill(n: int) -> None:
        for start in range(0, n, 100):
            body = {"events": [delivery.event(next(counter), "cam-fast", "cpu")
                               for _ in range(min(100, n - start))]}
            assert client.post("/api/events", json=body, headers=headers).status_code == 201
        matcher = Matcher(app)
        while matcher.run_once():
            pass

    def round_(n: int, profile: cProfile.Profile | None = None) -> tuple[float, float]:
        fill(n)
        before = receiver.count()
        dispatcher = Dispatcher(app)
        thread, process = time.thread_time(), time.process_time()
        if profile:
            profile.enable()
        try:
            dispatcher.drain(120)
        finally:
            if profile:
                profile.disable()
            thread, process = time.thread_time() - thread, time.process_time() - process
            dispatcher.stop()
        # The receiver's count arrives from its process a little after the responses: the
        # drain can end before it shows the last few webhooks.
        assert receiver.wait_for(before + n, 30), (receiver.count() - before, n)
        return thread / n * 1e6, process / n * 1e6

    try:
        round_(200)  # warm-up
        figures = [round_(args.deliveries) for _ in range(args.repeat)]
        loop = [f[0] for f in figures]
        whole = [f[1] for f in figures]
        print(f"{args.deliveries} webhooks: loop thread {statistics.median(loop):.0f} us CPU "
              f"per delivery (rounds {', '.join(f'{f:.0f}' for f in loop)}); process "
              f"{statistics.median(whole):.0f} us (rounds "
              f"{', '.join(f'{f:.0f}' for f in whole)})")
        if args.profile:
            profile = cProfile.Profile(time.thread_time)
            round_(args.deliveries, profile)
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
