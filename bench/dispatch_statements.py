"""Statements and commits per delivered webhook while a Dispatcher drains the outbox.

Usage: python bench/dispatch_statements.py [--deliveries 400]

One webhook rule (bench/delivery.py's receiver, answering at once), `--deliveries` events
posted and matched first, then a Dispatcher's drain() counted with the engine's
`before_cursor_execute` and `commit` events. Deterministic but for how many finished sends
each step finds (the steps column).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import delivery  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=400)
    args = parser.parse_args(argv)
    from sqlalchemy import event

    from alerting.extensions import db
    from alerting.notify.dispatcher import Dispatcher
    from tests.support.app import make_app, make_key
    from tests.support.factories import configure, create_rule, run_matcher

    receiver = delivery.Receiver(keep_bodies=False)
    try:
        app = make_app(Path(tempfile.mkdtemp()), WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
        headers = {"x-access-token": make_key(app)}
        configure(app, headers, default_webhook_url=receiver.url)
        client = app.test_client()
        create_rule(client, headers, channels=["webhook"], camera_ids=["cam-fast"],
                    cooldown_seconds=0)
        for start in range(0, args.deliveries, 100):
            body = {"events": [delivery.event(i, "cam-fast", "s")
                               for i in range(start, min(start + 100, args.deliveries))]}
            assert client.post("/api/events", json=body, headers=headers).status_code == 201
        run_matcher(app)
        with app.app_context():
            engine = db.engine
        counts = {"statements": 0, "commits": 0, "steps": 0}

        def bump(name):
            return lambda *_args: counts.__setitem__(name, counts[name] + 1)

        event.listen(engine, "before_cursor_execute", bump("statements"))
        event.listen(engine, "commit", bump("commits"))
        dispatcher = Dispatcher(app)
        step = dispatcher.step
        dispatcher.step = lambda: bump("steps")() or step()
        try:
            dispatcher.drain(120)
        finally:
            dispatcher.stop()
        assert receiver.wait_for(args.deliveries, 30)
        n = receiver.count()
        print(f"{n} webhooks, {counts['steps']} steps: {counts['statements'] / n:.2f} "
              f"statements and {counts['commits'] / n:.2f} commits per webhook, "
              f"{counts['statements'] / counts['steps']:.1f} statements per step")
    finally:
        receiver.stop()


if __name__ == "__main__":
    main()
