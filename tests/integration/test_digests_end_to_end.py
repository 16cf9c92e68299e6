"""Digests with a real gunicorn server (its in-process digest and dispatch loops) and a real
aiosmtpd server: summaries arrive at their time with the counts, and across a restart no
alert is left out or counted twice."""

import email
import re
import time
from datetime import UTC, datetime

import requests

from tests.support.databases import TempDatabase
from tests.support.factories import event_body, rule_body
from tests.support.receivers import Collector, start_smtp
from tests.support.server import running_server, wait_for

KEY = "e2e-digests-admin-key-0123456789"
HEADERS = {"x-access-token": KEY}


def totals(collector):
    """(alerts counted, the plain text) of each digest email received."""
    out = []
    for envelope in collector.envelopes:
        message = email.message_from_bytes(envelope.content)
        count = int(re.search(r": (\d+) alerts?$", message["Subject"]).group(1))
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        out.append((count, text.get_payload(decode=True).decode()))
    return out


def post(url, external_id, camera="back-door"):
    response = requests.post(url + "/api/events", headers=HEADERS, json=event_body(
        camera_id=camera, started_at=datetime.now(UTC).isoformat(), external_id=external_id,
        source="e2e"))
    assert response.status_code == 201, response.text


def test_digests_arrive_with_the_counts_and_survive_a_restart(tmp_path):
    collector = Collector()
    smtp = start_smtp(collector)
    database = TempDatabase(tmp_path, "digests")
    env = {"ALERTING_BOOTSTRAP_API_KEY": KEY, "ALERTING_SMTP_USE_TLS": "false",
           "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8"}
    try:
        with running_server(tmp_path, database=database, **env) as (url, _proc, _log):
            assert requests.put(url + "/api/notification/config", headers=HEADERS, json={
                "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_use_tls": False,
                "smtp_from_address": "alerts@example.com"}).status_code == 200
            assert requests.post(url + "/api/alerts/rules", headers=HEADERS, json=rule_body(
                camera_ids=None)).status_code == 201
            assert requests.put(url + "/api/notification/digests", headers=HEADERS, json={
                "digests": [{"name": "short", "channel": "email", "target": "me@example.com",
                             "schedule": {"every_seconds": 2}}]}).status_code == 200
            wait_for(lambda: requests.get(url + "/api/notification/digests", headers=HEADERS)
                     .json()["digests"][0]["state"])  # the loop has started it
            for i in range(3):
                post(url, f"a{i}", camera="porch")
            post(url, "b0", camera="garden")
            wait_for(lambda: sum(n for n, _ in totals(collector)) == 4, timeout=20)
            texts = "\n".join(text for _, text in totals(collector))
            assert "porch" in texts and "garden" in texts
            if len(totals(collector)) == 1:  # all four in one summary: the counts per camera
                assert "3 x Person at the back door on porch (high)" in texts
                assert "1 x Person at the back door on garden (high)" in texts
            post(url, "c0")  # written just before the stop: the next digest's
        sent_before = len(collector.envelopes)
        time.sleep(3)  # down while the digest falls due
        with running_server(tmp_path, database=database, migrate=False, **env) as (url, *_):
            wait_for(lambda: sum(n for n, _ in totals(collector)) >= 5, timeout=20)
            time.sleep(3)  # a repeat would have come by now
            assert sum(n for n, _ in totals(collector)) == 5
            assert len(collector.envelopes) > sent_before
            state = requests.get(url + "/api/notification/digests",
                                 headers=HEADERS).json()["digests"][0]["state"]
            assert state["last_sent_at"] is not None
    finally:
        smtp.stop()
        database.drop()
