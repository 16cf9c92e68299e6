"""CPU per live publish in-process: what handing one matched event and its alert to the hub
costs the thread that committed them (the POST's, or the matcher's).

Usage: python bench/live_publish_cpu.py [--events 1000] [--repeat 3] [--formats json]
                                        [--profile]

Stores `--events` events that one rule matches (through the API, matched by the in-process
matcher), subscribes to the hub in `--formats`, then sends events_matched for each (event,
alert) pair as the matcher does after its commit, and prints the CPU microseconds per publish
(process time: less sensitive to the machine's load than wall-clock figures), the median of
`--repeat` rounds. The subscription is emptied after each publish, as the live loop does.
`--profile` prints cProfile's top functions of one more round.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_cpu import report_rounds, sqlite_app  # noqa: E402

KEY = "bench-live-publish-key-0123456789"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["json"], choices=["json", "html"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    from sqlalchemy import select

    from alerting import signals
    from alerting.extensions import db
    from alerting.live import hub
    from alerting.models import Alert
    from alerting.services import alert_pipeline

    app = sqlite_app(KEY, prefix="live-publish-cpu-")
    client = app.test_client()
    headers = {"x-access-token": KEY}
    rule = {"name": "Everything", "severity": "high", "object_types": ["person"],
            "cooldown_seconds": 0, "channels": []}
    assert client.post("/api/alerts/rules", json=rule, headers=headers).status_code == 201
    body = {"camera_id": "cam-1", "started_at": "2026-01-15T02:00:00Z", "risk_score": 80,
            "summary": "person walking up the driveway",
            "detections": [{"object_type": "person", "confidence": 0.9,
                            "zone_ids": ["driveway"]}]}
    for _ in range(args.events):
        assert client.post("/api/events", json=body, headers=headers).status_code == 201
    with app.app_context():
        while alert_pipeline.match_pending(1000):
            pass
        pairs = db.session.execute(select(Alert.event_id, Alert.id).order_by(Alert.id)).all()
        db.session.remove()
    assert len(pairs) == args.events, len(pairs)
    subscriptions = [hub(app).subscribe(fmt=fmt, size=1 << 20) for fmt in args.formats]

    def round_(profile: cProfile.Profile | None = None) -> float:
        started = time.process_time()
        if profile:
            profile.enable()
        for event_id, alert_id in pairs:
            with app.test_request_context("/api/events", method="POST"):  # the POST's context
                signals.events_matched.send(app, event_ids=[event_id], alert_ids=[alert_id])
                db.session.remove()
            for subscription in subscriptions:
                assert len(subscription.take(0, 4096)) == 2
        if profile:
            profile.disable()
        return (time.process_time() - started) / len(pairs) * 1e6

    report_rounds(round_, "+".join(args.formats), "publish", repeat=args.repeat,
                  profile=args.profile, listings=(("cumulative", 40),))


if __name__ == "__main__":
    main()
