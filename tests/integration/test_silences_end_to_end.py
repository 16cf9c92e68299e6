"""A real gunicorn server and a real webhook receiver: nothing arrives while a silence is
active; the next alert after it expires does (its silenced predecessor started no cooldown)."""

import time
from datetime import UTC, datetime

import requests

from tests.support.factories import event_body, rule_body
from tests.support.faults import WebhookReceiver
from tests.support.server import running_server, wait_for

KEY = "e2e-silences-admin-key-0123456789"


def test_webhook_sees_nothing_while_silenced_and_the_next_alert_after(tmp_path):
    headers = {"x-access-token": KEY}
    receiver = WebhookReceiver()
    try:
        with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY,
                            ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8") as (url, _proc, _log):
            assert requests.put(url + "/api/notification/config", headers=headers, json={
                "default_webhook_url": receiver.url}).status_code == 200
            requests.post(url + "/api/alerts/rules", headers=headers,
                          json=rule_body(channels=["webhook"], cooldown_seconds=600))
            silence = requests.post(url + "/api/silences", headers=headers, json={
                "matchers": [{"field": "camera_id", "op": "=", "value": "back-door"}],
                "duration": 3600, "comment": "gardener"}).json()

            def alerts(status):
                return requests.get(f"{url}/api/alerts?status={status}",
                                    headers=headers).json()["alerts"]

            for i in range(3):
                requests.post(url + "/api/events", headers=headers, json=event_body(
                    started_at=datetime.now(UTC).isoformat(), external_id=f"s{i}",
                    source="e2e"))
            silenced = wait_for(lambda: len(alerts("silenced")) == 3 and alerts("silenced"))
            assert {a["silence_id"] for a in silenced} == {silence["id"]}
            time.sleep(1.0)  # a dispatcher poll or two: still nothing may arrive
            assert sum(receiver.received.values()) == 0

            expired = requests.post(f"{url}/api/silences/{silence['id']}/expire",
                                    headers=headers).json()
            assert expired["state"] == "expired"
            requests.post(url + "/api/events", headers=headers, json=event_body(
                started_at=datetime.now(UTC).isoformat(), external_id="after", source="e2e"))
            wait_for(lambda: sum(receiver.received.values()) == 1)
            [delivered] = wait_for(lambda: alerts("delivered"))
            assert delivered["silence_id"] is None
            assert len(alerts("silenced")) == 3  # never changed afterwards
    finally:
        receiver.stop()
