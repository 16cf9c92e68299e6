"""What action links cost the dispatcher: build_message per delivery without links
(ALERTING_PUBLIC_URL unset, the code before) and with them (three signed tokens and the
open link), and reading a token back as the action route does.

Usage: python bench/action_links.py [--messages N]

Each call is timed alone (perf_counter_ns) after a warm-up; prints median and p99 in
microseconds, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerting import create_app  # noqa: E402
from alerting.models import Alert  # noqa: E402
from alerting.services import action_links  # noqa: E402
from alerting.services.deliveries import build_message  # noqa: E402


def timed(call, n: int) -> list[float]:
    for _ in range(min(n, 200)):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    p99 = statistics.quantiles(samples, n=100)[98]
    return f"| {name} | {statistics.median(samples):.1f} | {p99:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    n = parser.parse_args().messages
    folder = tempfile.mkdtemp(prefix="bench-action-links-")
    app = create_app({"TESTING": True, "BOOTSTRAP": False, "INPROCESS_WORKERS": False,
                      "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{folder}/b.db",
                      "SECRET_KEY_FALLBACKS": ["old-1", "old-2"]})
    now = datetime.now(UTC)
    alert = Alert(id=1, rule_id="r-1", rule_name="Back door", event_id=1, camera_id="back-door",
                  severity="high", severity_priority=1, status="pending", dedup_key="k",
                  matched_conditions=["camera"], object_type="person", zone_id="porch",
                  event_time=now, created_at=now, updated_at=now)
    body = {"id": 1, "camera_id": "back-door", "started_at": now.isoformat(),
            "object_types": ["person"], "summary": None}
    delivery = SimpleNamespace(message_id="bench-1")
    with app.test_request_context():
        app.config["PUBLIC_URL"] = None
        before = timed(lambda: build_message(delivery, alert, None, body), n)
        app.config["PUBLIC_URL"] = "https://alerts.example.com"
        after = timed(lambda: build_message(delivery, alert, None, body), n)
        assert build_message(delivery, alert, None, body).context["actions"]["acknowledge"]
        token = action_links.issue("acknowledge", 1)
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = "new", ["old-1", "bench"]
        old = action_links.issue("acknowledge", 1)
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = "bench", []
        read = timed(lambda: action_links.read(token), n)
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = "newer", ["old-1", "new"]
        read_old = timed(lambda: action_links.read(old), n)
    print(f"{n} calls each, microseconds\n")
    print("| | median | p99 |\n|---|---:|---:|")
    print(row("build_message, no PUBLIC_URL (before)", before))
    print(row("build_message with links", after))
    print(row("read a token (current key)", read))
    print(row("read a token (second of three keys)", read_old))
    ratio = statistics.median(after) / statistics.median(before)
    print(f"\nwith links / before (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
