"""What grouping costs an ungrouped alert: event-to-webhook latency of this checkout against a
checkout of the code before grouping, in one run.

Usage: python bench/grouping_overhead.py --before DIR [--rounds R] [--latency-n N]

DIR is a checkout of the code before (for example `git worktree add /tmp/before <commit>`;
it uses this checkout's Python environment). Each round starts a real server from each
checkout in turn (fresh SQLite file, `flask db upgrade`, gunicorn as tests/support/server.py
starts it), makes one ungrouped rule firing the webhook channel on every event, and measures
phase (a) of bench/delivery.py: POST one event, wait for its webhook at the receiver. The
sides alternate round by round so that load on the machine falls on both alike. Prints the
median and p99 of each side over all rounds, their difference and ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.delivery import KEY, Receiver, event, one_at_a_time, pct, post_json  # noqa: E402


def measure(root: Path, receiver: Receiver, tmp: Path, n: int, warmup: int,
            gap: float) -> list[float]:
    """Latencies (ms) of `n` ungrouped alerts through a server run from `root`."""
    from tests.support import server

    env = {"ALERTING_BOOTSTRAP_API_KEY": KEY,
           "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",
           "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
           "ALERTING_WEBHOOK_URL": receiver.url, "ALERTING_LOG_LEVEL": "WARNING"}
    saved = server.ROOT
    server.ROOT = root  # where gunicorn and `flask db upgrade` run: that checkout's code
    try:
        with server.running_server(tmp, **env) as (url, _proc, _log):
            http = requests.Session()
            http.headers.update({"x-access-token": KEY})
            r = http.post(url + "/api/alerts/rules", json={
                "name": "every person", "severity": "high", "object_types": ["person"],
                "cooldown_seconds": 0, "channels": ["webhook"]})
            assert r.status_code == 201, r.text

            def post(i):
                post_json(http, url + "/api/events", event(i, "cam-fast", root.name))

            return [s * 1000 for s in one_at_a_time(post, receiver, n, warmup, gap)]
    finally:
        server.ROOT = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument("--warmup-n", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.01)
    args = parser.parse_args(argv)
    sides = {"before": args.before.resolve(), "after": ROOT}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    receiver = Receiver(keep_bodies=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-grouping-") as tmp:
            for r in range(args.rounds):
                order = list(sides) if r % 2 == 0 else list(reversed(sides))
                for name in order:
                    folder = Path(tmp) / f"{name}-{r}"
                    folder.mkdir()
                    samples[name] += measure(sides[name], receiver, folder, args.latency_n,
                                             args.warmup_n, args.gap)
    finally:
        receiver.stop()
    print("| code | alerts | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    stats = {}
    for name, values in samples.items():
        stats[name] = (statistics.median(values), pct(values, 0.99))
        print(f"| {name} | {len(values)} | {stats[name][0]:.2f} | {stats[name][1]:.2f} |")
    p50_before, p50_after = stats["before"][0], stats["after"][0]
    print(f"\np50 after - before: {p50_after - p50_before:+.2f} ms "
          f"(ratio {p50_after / p50_before:.3f}); goal: at most +1 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
