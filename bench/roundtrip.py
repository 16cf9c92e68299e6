"""The floor under every latency figure here: one HTTP round trip to the running server.

Starts the server as the tests do (gunicorn, one worker, SQLite), adds one rule, and times
sequential requests on one keep-alive connection, with a pause between them: a 404, the
health check, and an event POST (stored and matched in the same transaction). A pause of
10 ms (as bench/delivery.py's one-at-a-time phase has) lets the machine go idle between
requests; 0 keeps it busy.

    .venv/bin/python bench/roundtrip.py --pause 0.01
    .venv/bin/python bench/roundtrip.py --pause 0
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import running_server  # noqa: E402

KEY = "ak_roundtrip_" + "x" * 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pause", type=float, default=0.01, help="seconds between requests")
    parser.add_argument("--n", type=int, default=300, help="requests per kind (50 warm-up)")
    args = parser.parse_args()
    with running_server(Path(tempfile.mkdtemp()), ALERTING_BOOTSTRAP_API_KEY=KEY,
                        ALERTING_LOG_LEVEL="WARNING") as (url, _proc, _log):
        host, port = url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        headers = {"x-access-token": KEY, "Content-Type": "application/json"}
        rule = {"name": "people", "severity": "high", "object_types": ["person"],
                "cooldown_seconds": 0}
        conn.request("POST", "/api/alerts/rules", json.dumps(rule), headers)
        conn.getresponse().read()
        event = json.dumps({"camera_id": "cam", "detections": [
            {"object_type": "person", "confidence": 0.9}]})
        print(f"pause {args.pause * 1000:g} ms between requests, {args.n} each\n")
        print("| request | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|")
        for method, path, body in (("GET", "/api/nothing", None), ("GET", "/api/health", None),
                                   ("POST", "/api/events", event)):
            times = []
            for _ in range(args.n):
                started = time.perf_counter()
                conn.request(method, path, body, headers)
                conn.getresponse().read()
                times.append((time.perf_counter() - started) * 1000)
                time.sleep(args.pause)
            times = sorted(times[50:])
            print(f"| {method} {path} | {statistics.median(times):.2f} "
                  f"| {times[int(len(times) * 0.9)]:.2f} | {times[int(len(times) * 0.99)]:.2f} |")


if __name__ == "__main__":
    main()
