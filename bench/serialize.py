"""The response serializers on their hot paths: 1,000 alerts (live messages, delivery
bodies) and 1,000 events with two detections each (event pages), as ORM objects built in
memory (no database), serialized by `alert_json` / `event_json`.

Usage: python bench/serialize.py [--rows 1000] [--repeat 20]

Prints the best of --repeat runs per serializer, in ms per 1,000 rows; with --pydantic also
pydantic's own way for alerts, for comparison: `Model.model_validate(row, from_attributes=True)
.model_dump(mode="json")` with schemas/responses.py's models (skipped when they are absent,
i.e. on the code before them).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.models import Alert, Detection, Event  # noqa: E402
from alerting.services.alerts import alert_json  # noqa: E402
from alerting.services.events import event_json  # noqa: E402


def rows(count: int) -> tuple[list[Alert], list[Event]]:
    start = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    events, alerts = [], []
    for i in range(count):
        at = start + timedelta(seconds=i)
        event = Event(id=i + 1, camera_id=f"cam-{i % 8}", started_at=at, ended_at=None,
                      risk_score=i % 100, risk_level="high", summary="A person at the door",
                      labels=["person"], source="bench", external_id=str(i),
                      scene_index_id=None, attributes={"n": i}, received_at=at,
                      processed_at=at)
        event.detections = [
            Detection(object_type="person", confidence=0.9, zone_ids=["porch"],
                      bbox=[1.0, 2.0, 3.0, 4.0], track_id="7"),
            Detection(object_type="car", confidence=0.8, zone_ids=None, bbox=None,
                      track_id=None),
        ]
        events.append(event)
        alerts.append(Alert(id=i + 1, rule_id="4b0f4f4e-8f52-4f61-9d7c-3b1f1e0b9c11",
                            rule_name="Person at night", event_id=i + 1,
                            camera_id=event.camera_id, severity="high", status="pending",
                            dedup_key=f"cam-{i % 8}:person", matched_conditions=["object_type"],
                            object_type="person", zone_id="porch", event_time=at,
                            created_at=at, updated_at=at))
    return alerts, events


def best_ms(fn, items, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - began)
    return best * 1000 * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pydantic", action="store_true")
    args = parser.parse_args()
    alerts, events = rows(args.rows)
    print(f"alert_json  {best_ms(alert_json, alerts, args.repeat):7.2f} ms / 1,000 alerts")
    print(f"event_json  {best_ms(event_json, events, args.repeat):7.2f} ms / 1,000 events")
    if args.pydantic:
        try:
            from alerting.schemas import responses
        except ImportError:
            return
        # Alerts only: an event's object_types is derived, which from_attributes cannot read.
        def dump(row):
            return responses.Alert.model_validate(row, from_attributes=True).model_dump(
                mode="json")
        print(f"pydantic    {best_ms(dump, alerts, args.repeat):7.2f} ms / 1,000 alerts")


if __name__ == "__main__":
    main()
