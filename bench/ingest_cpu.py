"""CPU per ingested event in-process (Flask test client, no sockets): where POST /api/events
spends its time, without the noise of the network and of other processes.

Usage: python bench/ingest_cpu.py [--batch 1] [--events 2000] [--repeat 3] [--profile] [--match]

Creates a SQLite database with bench/ingest.py's 50 rules of a real site, warms up, then
posts `--events` events (`--batch` per POST) and prints the CPU microseconds per event
(process time, so the machine's load matters less than for wall-clock figures), the median
of `--repeat` rounds. `--profile` prints cProfile's top functions of one more round.
`--match` runs the in-process workers, so that events are matched in the transaction that
stores them (services/alert_pipeline.matching_on_ingest), as under gunicorn; the rules have
no channels, so the workers' own CPU (counted too) is small.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import ingest  # noqa: E402


def sqlite_app(key: str, prefix: str = "ingest-cpu-", *, workers: bool = False):
    """The app on a fresh SQLite database, `key` its admin API key; its background workers
    run only with `workers`."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ.update({
        "ALERTING_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "ALERTING_SECRET_KEY": "bench",
        "ALERTING_BOOTSTRAP_API_KEY": key, "ALERTING_REDIS_URL": "",
        "ALERTING_RATE_LIMIT_INGEST": "1000000 per second", "ALERTING_LOG_LEVEL": "WARNING",
        "FLASK_APP": "app", "ALERTING_INPROCESS_WORKERS": "true" if workers else "false"})
    subprocess.run([str(Path(sys.executable).parent / "flask"), "db", "upgrade"], check=True,
                   capture_output=True, cwd=ROOT)
    from alerting import create_app

    app = create_app()
    if workers:
        from alerting import workers as loops

        loops.start(app)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--match", action="store_true", help="match on ingest (see above)")
    args = parser.parse_args(argv)

    app = sqlite_app(ingest.KEY, workers=args.match)
    client = app.test_client()
    headers = {"x-access-token": ingest.KEY}
    for rule in ingest.site_rules():
        assert client.post("/api/alerts/rules", json=rule, headers=headers).status_code == 201
    templates = ingest._templates(3, 100)
    headers["Content-Type"] = "application/json"

    def body(i: int) -> str:
        if args.batch == 1:
            return templates[i % 100].replace(ingest.ID_MARK, f"w{i}")
        return '{"events":[' + ",".join(
            templates[(i + j) % 100].replace(ingest.ID_MARK, f"w{i}-{j}")
            for j in range(args.batch)) + "]}"

    counter = iter(range(10**9))

    def round_(profile: cProfile.Profile | None = None) -> float:
        bodies = [body(next(counter) * args.batch) for _ in range(args.events // args.batch)]
        started = time.process_time()
        if profile:
            profile.enable()
        for data in bodies:
            response = client.post("/api/events", data=data, headers=headers)
            assert response.status_code == 201, response.data
        if profile:
            profile.disable()
        return (time.process_time() - started) / (len(bodies) * args.batch) * 1e6

    report_rounds(round_, f"batch {args.batch}", "event", repeat=args.repeat,
                  profile=args.profile, listings=(("cumulative", 50), ("tottime", 30)))


def report_rounds(round_: Callable[[cProfile.Profile | None], float], label: str, unit: str, *,
                  repeat: int, profile: bool, listings: tuple[tuple[str, int], ...]) -> None:
    """A warm-up round, then the median of `repeat` rounds of CPU microseconds per `unit`;
    with `profile`, one more round under cProfile, listed by each (sort key, lines)."""
    round_(None)  # warm-up
    figures = [round_(None) for _ in range(repeat)]
    print(f"{label}: {statistics.median(figures):.0f} us CPU per {unit} "
          f"(rounds {', '.join(f'{f:.0f}' for f in figures)})")
    if profile:
        profiler = cProfile.Profile()
        round_(profiler)
        stats = pstats.Stats(profiler)
        for key, lines in listings:
            stats.sort_stats(key).print_stats(lines)


if __name__ == "__main__":
    main()
