"""Live latency split into stages: where an event's way from POST to WebSocket goes.

Usage: python bench/live_stages.py [--clients 50] [--rate 100] [--seconds 15] [--windows 1]

Runs the project's server as bench/latency.py does (gunicorn.conf.py, one worker, SQLite, one
rule every event matches; bench/floor.py's live phase), with probes installed in the worker
by this file's gunicorn settings (`bench/live_stages_gunicorn.py`), nothing in the app's own
code. Each probe notes CLOCK_MONOTONIC (shared by the processes) per event id:

  entered      the POST entered the app             (its WSGI callable)
  received     the POST's before_request, after the app's own hooks (auth, rate limit)
  announced    events_matched sent: committed       (signals.events_matched.send)
  built        the hub's publish entered: messages built from the stored rows
  offered      the hub's publish returned: queued for the live loop
  taken        the live loop took the messages off its subscription
  written      the loop's fan-out returned: every client's frame handed to its socket
  answered     the POST's after_request (its answer built)

and the clients note when each `alert_created` arrived (bench/latency.py's clients). Prints
the median and p99 of each stage's time since the POST was sent, and of each step between
consecutive stages.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import floor, ingest, latency  # noqa: E402

BIN = Path(sys.executable).parent
STAGES = ("entered", "received", "announced", "built", "offered", "taken", "written", "answered")


def server(workdir: Path, threads: int, stages_file: Path):
    return latency.server(workdir, threads, config="bench/live_stages_gunicorn.py",
                          extra_env={"BENCH_STAGES_FILE": str(stages_file),
                                     "PYTHONPATH": str(ROOT)})


def window(url: str, args, worker: int | None = None
           ) -> tuple[dict[int, float], list[list[tuple[int, float]]]]:
    """bench/latency.py's window, keeping each event's send time and each receipt; with
    `args.profile`, py-spy records `worker` for the measured part."""
    ctx = mp.get_context("spawn")
    ready, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    per = [args.clients // args.processes + (i < args.clients % args.processes)
           for i in range(args.processes)]
    procs = [ctx.Process(target=latency.client_process, args=(url, n, ready, stop, results))
             for n in per if n]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    latency.post_events(url, args.rate, latency.WARM_UP_EVENTS, args.posters)
    spy = None
    if args.profile and worker is not None:
        spy = subprocess.Popen(
            [str(BIN / "py-spy"), "record", "--pid", str(worker), "--rate", "100",
             "--nonblocking", "--threads", "--format", "raw", "--output", args.profile,
             "--duration", str(int(args.seconds))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sent, _round_trips = latency.post_events(url, args.rate, int(args.rate * args.seconds),
                                             args.posters)
    if spy is not None:
        spy.wait(60)
    time.sleep(2.0)
    stop.set()
    receipts = [r for _ in procs for r in results.get(timeout=60)]
    for proc in procs:
        proc.join()
    return sent, receipts


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {latency.percentile(values, 99):.2f}"


def analyse(sent: dict[int, float], receipts: list[list[tuple[int, float]]],
            stages_file: Path) -> str:
    probes: dict[int, dict[str, float]] = {}
    for line in stages_file.read_text().splitlines():
        stage, at, ids = json.loads(line)
        for event_id in ids:
            probes.setdefault(event_id, {}).setdefault(stage, at)  # the first time
    arrivals: dict[int, list[float]] = {}
    for client in receipts:
        for event_id, at in client:
            arrivals.setdefault(event_id, []).append(at)
    since: dict[str, list[float]] = {}
    steps: dict[str, list[float]] = {}
    order = [*STAGES[:-1], "first client", "median client", "last client"]
    for event_id, before in sent.items():
        marks = dict(probes.get(event_id, {}))
        got = sorted(arrivals.get(event_id, []))
        if got:
            marks.update({"first client": got[0], "median client": statistics.median(got),
                          "last client": got[-1]})
        for name in (*order, "answered"):
            if name in marks:
                since.setdefault(name, []).append((marks[name] - before) * 1000)
        previous = "sent"
        marks["sent"] = before
        for name in order:
            if name in marks and previous in marks:
                steps.setdefault(f"{previous} -> {name}", []).append(
                    (marks[name] - marks[previous]) * 1000)
            previous = name
        if "answered" in marks and "received" in marks:
            steps.setdefault("received -> answered", []).append(
                (marks["answered"] - marks["received"]) * 1000)
    lines = ["| stage | events | ms since the POST was sent, p50 / p99 |", "|---|---:|---:|"]
    lines += [f"| {name} | {len(since.get(name, []))} | {summary(since.get(name, []))} |"
              for name in (*order, "answered")]
    lines += ["", "| step | ms, p50 / p99 |", "|---|---:|"]
    lines += [f"| {name} | {summary(values)} |" for name, values in steps.items()]
    every = [(at - sent[event_id]) * 1000 for client in receipts for event_id, at in client
             if event_id in sent]
    lines += ["", f"every (client, event) receipt: p50 / p99 {summary(every)} ms, "
                  f"{len(every)} receipts"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--profile", help="py-spy's raw output of the worker to this file")
    parser.add_argument("--floor", action="store_true",
                        help="the live floor instead (bench/floor_app.py): clients only")
    args = parser.parse_args(argv)
    print(f"{args.clients} clients, {args.rate:g} events/s, {args.seconds:g} s; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        workdir = Path(tmp)
        stages_file = workdir / "stages.jsonl"
        if args.floor:
            with floor.floor_server(workdir, "live_app", args.clients + 32) as (port, _d, pid):
                sent, receipts = window(f"http://127.0.0.1:{port}", args,
                                        ingest._worker_pid(pid))
            stages_file.write_text("")
            print(analyse(sent, receipts, stages_file))
            return
        with server(workdir, args.clients + 32, stages_file) as (url, pid):
            rule = {"name": "Everything", "severity": "high", "object_types": ["person"],
                    "cooldown_seconds": 0, "channels": []}
            requests.post(url + "/api/alerts/rules", json=rule,
                          headers={"x-access-token": latency.KEY},
                          timeout=10).raise_for_status()
            sent, receipts = window(url, args, ingest._worker_pid(pid))
            time.sleep(1.5)  # the probes' last lines
        print(analyse(sent, receipts, stages_file))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
