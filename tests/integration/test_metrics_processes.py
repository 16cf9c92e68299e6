"""/metrics of a real gunicorn server sums what another process counted: a `flask worker`
matches the events the server stored, and its alerts show in the server's scrape, also
after the worker has stopped."""

import subprocess
import time

import requests

from tests.support.databases import TempDatabase
from tests.support.metrics import samples, value
from tests.support.server import BIN, ROOT, running_server, server_env, wait_for

KEY = "ak_metrics-processes-test-key-000000000000"


def test_a_flask_worker_process_counts_in_the_servers_metrics(tmp_path):
    database = TempDatabase(tmp_path, "metrics")
    env = {"ALERTING_INPROCESS_WORKERS": "off", "ALERTING_BOOTSTRAP_API_KEY": KEY}
    try:
        with running_server(tmp_path, database=database, **env) as (url, _proc, _log):
            headers = {"x-access-token": KEY}

            def scrape():
                response = requests.get(url + "/metrics", headers=headers, timeout=10)
                assert response.status_code == 200, response.text
                return samples(response.text)

            rule = requests.post(url + "/api/alerts/rules", headers=headers, timeout=10, json={
                "name": "any person", "severity": "low", "object_types": ["person"],
                "cooldown_seconds": 0, "channels": []}).json()
            for i in range(4):
                response = requests.post(url + "/api/events", headers=headers, timeout=10, json={
                    "camera_id": "yard", "source": "proc-test", "external_id": f"p-{i}",
                    "started_at": "2026-01-15T02:00:00Z",
                    "detections": [{"object_type": "person", "confidence": 0.9}]})
                assert response.status_code == 201
            stored = scrape()
            assert value(stored, "alerting_events_ingested_total", source="proc-test") == 4
            assert value(stored, "alerting_events_unprocessed") == 4
            assert value(stored, "alerting_alerts_total", severity="low",
                         rule_id=rule["id"]) == 0

            worker = subprocess.Popen(
                [str(BIN / "flask"), "worker", "--no-dispatcher"], cwd=ROOT,
                env=server_env(database.url, **env), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                matched = wait_for(lambda: (found := scrape()) and value(
                    found, "alerting_alerts_total", severity="low", rule_id=rule["id"]) == 4
                    and found, timeout=60, interval=0.2)
                # (the folder is this test process's too: compare with before)
                assert value(matched, "alerting_matching_lag_seconds_count") - \
                    value(stored, "alerting_matching_lag_seconds_count") == 4
                assert value(matched, "alerting_events_unprocessed") == 0
            finally:
                worker.terminate()
                worker.wait(timeout=30)
            time.sleep(0.1)
            after = scrape()  # the worker is gone; what it counted still counts
            assert value(after, "alerting_alerts_total", severity="low", rule_id=rule["id"]) == 4
    finally:
        database.drop()
