"""Escalation with a real gunicorn server and real webhook receivers: an unacknowledged
alert reaches the escalation target once, on time; one acknowledged before it is due
(through the API, the page's button, or the action link of its notification) never does.
On PostgreSQL, two `flask worker` processes escalate each alert once."""

import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from alerting import create_app
from alerting.extensions import db
from alerting.services import ingest as ingest_service
from alerting.services import rules as rules_service
from tests.support.databases import TempDatabase, postgres_base
from tests.support.factories import event_body, rule_body
from tests.support.faults import WebhookReceiver
from tests.support.server import (
    ACKNOWLEDGE_ON,
    BIN,
    ROOT,
    acknowledge_on,
    free_port,
    running_server,
    server_env,
    upgrade,
    wait_for,
)

KEY = "e2e-escalation-admin-key-0123456789"
ESCALATE_AFTER = 2
PASSWORD = "e2e-escalation-admin-password"


def escalated(receiver):
    return [(at, body) for at, body in receiver.bodies if body["type"] == "alert.escalated"]


@pytest.mark.parametrize("where", ACKNOWLEDGE_ON)
def test_escalates_once_on_time_and_never_once_acknowledged(tmp_path, where):
    headers = {"x-access-token": KEY}
    receiver = WebhookReceiver()  # the escalation target (the neighbour's phone)
    ours = WebhookReceiver()  # the rule's own webhook: its bodies carry the action links
    port = free_port()
    try:
        with running_server(tmp_path, port=port, ALERTING_BOOTSTRAP_API_KEY=KEY,
                            ALERTING_PUBLIC_URL=f"http://127.0.0.1:{port}",
                            ALERTING_ADMIN_PASSWORD=PASSWORD,
                            ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8") as (url, _proc, _log):
            assert requests.put(url + "/api/notification/config", headers=headers, json={
                "default_webhook_url": ours.url}).status_code == 200
            response = requests.post(url + "/api/alerts/rules", headers=headers, json=rule_body(
                channels=["webhook"], escalate_after=ESCALATE_AFTER,
                escalation_targets={"webhook_url": receiver.url}))
            assert response.status_code == 201, response.json()

            def post(external_id):
                requests.post(url + "/api/events", headers=headers, json=event_body(
                    started_at=datetime.now(UTC).isoformat(), external_id=external_id,
                    source="e2e"))
                return wait_for(lambda: next(
                    (a for a in requests.get(url + "/api/alerts?limit=200",
                                             headers=headers).json()["alerts"]
                     if a["event_id"] and a["status"] != "pending"
                     and _event_of(url, headers, a) == external_id), None))

            seen = post("ignored")
            acked = post("acknowledged")
            link = next(body["data"]["actions"]["acknowledge"] for _at, body in ours.bodies
                        if body["data"]["alert"]["id"] == acked["id"])
            acknowledge_on(url, where, acked["id"], api_key=KEY, password=PASSWORD, link=link)
            [(arrived, body)] = wait_for(lambda: escalated(receiver), timeout=10)
            assert body["data"]["alert"]["id"] == seen["id"]
            assert body["data"]["escalation"]["reason"] \
                == "Escalated: not acknowledged within 2 s"
            due = datetime.fromisoformat(seen["escalate_at"])
            assert due == datetime.fromisoformat(seen["created_at"]) \
                + timedelta(seconds=ESCALATE_AFTER)
            assert timedelta(0) <= arrived - due < timedelta(seconds=1.5)  # on time
            time.sleep(ESCALATE_AFTER + 1.0)  # the acknowledged one's time has passed too
            assert len(escalated(receiver)) == 1 and sum(receiver.received.values()) == 1
            detail = requests.get(f"{url}/api/alerts/{seen['id']}", headers=headers).json()
            assert detail["escalate_at"] is None
            assert [d["kind"] for d in detail["deliveries"]] == ["alert", "escalation"]
            detail = requests.get(f"{url}/api/alerts/{acked['id']}", headers=headers).json()
            assert (detail["status"], detail["escalate_at"]) == ("acknowledged", None)
            assert [d["kind"] for d in detail["deliveries"]] == ["alert"]
    finally:
        receiver.stop()
        ours.stop()


def _event_of(url, headers, alert):
    return requests.get(f"{url}/api/events/{alert['event_id']}",
                        headers=headers).json()["external_id"]


@pytest.mark.skipif(postgres_base() is None, reason="needs PostgreSQL: set "
                    "ALERTING_TEST_DATABASE_URL=postgresql+psycopg://...")
def test_two_worker_processes_escalate_each_alert_once(tmp_path):
    receiver = WebhookReceiver()
    database = TempDatabase(tmp_path, "escalation")
    env = server_env(database.url, ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8")
    upgrade(env)
    count = 40
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": env["ALERTING_SECRET_KEY"],
                      "BOOTSTRAP": False, "INPROCESS_WORKERS": False,
                      "WEBHOOK_ALLOW_CIDRS": ["127.0.0.0/8"]})
    with app.app_context():
        rules_service.create_rule(rule_body(escalate_after=1, escalation_targets={
            "webhook_url": receiver.url}), "test")
        now = datetime.now(UTC)
        ingest_service.ingest({"events": [event_body(
            started_at=(now + timedelta(milliseconds=i)).isoformat(), external_id=f"p{i}",
            source="e2e") for i in range(count)]})
        db.session.remove()
        db.engine.dispose()
    log = open(tmp_path / "workers.log", "ab")  # noqa: SIM115
    workers = [subprocess.Popen([str(BIN / "flask"), "worker"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT) for _ in range(2)]
    try:
        wait_for(lambda: len(escalated(receiver)) >= count, timeout=30)
        time.sleep(1.5)  # a second escalation of any of them would have arrived by now
        ids = [body["data"]["alert"]["id"] for _at, body in escalated(receiver)]
        assert len(ids) == count and len(set(ids)) == count
        assert set(receiver.received.values()) == {1}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=15)
        log.close()
        receiver.stop()
        database.drop()
