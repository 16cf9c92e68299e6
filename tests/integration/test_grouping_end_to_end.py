"""A real gunicorn server and a real webhook receiver: a burst of 50 matching events over
10 s with group_wait 5 s and group_interval 30 s (the issue's numbers) goes out as exactly
two group notifications (the first after the wait, the rest one group_interval later) whose
alerts add up to the 50; a server SIGKILLed during the wait loses nothing (the group flushes
after the restart, once); a repeat comes on time and stops on acknowledge."""

import time
from datetime import UTC, datetime

import pytest
import requests

from tests.support.databases import TempDatabase
from tests.support.factories import event_body, rule_body
from tests.support.server import (
    ACKNOWLEDGE_ON,
    acknowledge_on,
    free_port,
    kill_hard,
    running_server,
    wait_for,
)

pytestmark = pytest.mark.slow

KEY = "e2e-grouping-admin-key-0123456789"
HEADERS = {"x-access-token": KEY}
PASSWORD = "e2e-grouping-admin-password"
ENV = {"ALERTING_BOOTSTRAP_API_KEY": KEY, "ALERTING_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8"}


def setup(url, hook, **grouping):
    assert requests.put(url + "/api/notification/config", headers=HEADERS, json={
        "default_webhook_url": hook}).status_code == 200
    response = requests.post(url + "/api/alerts/rules", headers=HEADERS,
                             json=rule_body(channels=["webhook"], **grouping))
    assert response.status_code == 201, response.text


def post(url, i):
    assert requests.post(url + "/api/events", headers=HEADERS, json=event_body(
        started_at=datetime.now(UTC).isoformat(), external_id=f"g{i}",
        source="e2e")).status_code == 201


def received(httpserver):
    return [request.get_json() for request, _response in httpserver.log]


def test_a_burst_longer_than_the_wait_is_two_webhooks(tmp_path, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with running_server(tmp_path, **ENV) as (url, _proc, _log):
        setup(url, httpserver.url_for("/hook"), group_by=["camera_id"], group_wait=5,
              group_interval=30, group_max_alerts=50)
        start = time.monotonic()
        for i in range(50):  # 50 events over 10 s: twice the wait
            post(url, i)
            time.sleep(max(0.0, start + (i + 1) * 0.2 - time.monotonic()))
        bodies = wait_for(lambda: len(received(httpserver)) == 2 and received(httpserver),
                          timeout=45)
        time.sleep(2.0)  # nothing more comes
        assert len(received(httpserver)) == 2
        alert_ids = {a["id"] for a in requests.get(url + "/api/alerts?limit=200",
                                                   headers=HEADERS).json()["alerts"]}
    assert [b["type"] for b in bodies] == ["alert_group"] * 2
    assert [b["data"]["kind"] for b in bodies] == ["flush", "flush"]
    first, second = (b["data"] for b in bodies)
    assert first["group_id"] == second["group_id"]
    assert 0 < first["count"] < 50 and first["count"] + second["count"] == 50
    listed = [a["id"] for b in (first, second) for a in b["alerts"]]
    assert len(listed) == 50 and set(listed) == alert_ids  # each alert once, none left out
    sent = [datetime.fromisoformat(b["timestamp"]) for b in bodies]
    opened = min(datetime.fromisoformat(a["created_at"]) for a in first["alerts"])
    assert 5 <= (sent[0] - opened).total_seconds() < 6.5  # group_wait after the first alert
    assert 30 <= (sent[1] - sent[0]).total_seconds() < 31.5  # one group_interval later


def test_sigkill_during_the_wait_loses_nothing(tmp_path, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    database = TempDatabase(tmp_path, "grouping")
    with running_server(tmp_path, database=database, **ENV) as (url, proc, _log):
        setup(url, httpserver.url_for("/hook"), group_by=["rule_id"], group_wait=4)
        for i in range(5):
            post(url, i)
        wait_for(lambda: len(requests.get(url + "/api/alerts", headers=HEADERS)
                             .json()["alerts"]) == 5)
        kill_hard(proc)  # during the wait: the group is stored, nothing sent
    assert received(httpserver) == []
    with running_server(tmp_path, migrate=False, database=database, **ENV):
        [body] = wait_for(lambda: received(httpserver), timeout=30)
        time.sleep(1.5)
        assert len(received(httpserver)) == 1  # once
    assert body["data"]["count"] == 5
    database.drop()


@pytest.mark.parametrize("where", ACKNOWLEDGE_ON)
def test_repeat_on_time_and_stops_on_acknowledge(tmp_path, httpserver, where):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    port = free_port()
    with running_server(tmp_path, port=port, ALERTING_PUBLIC_URL=f"http://127.0.0.1:{port}",
                        ALERTING_ADMIN_PASSWORD=PASSWORD, **ENV) as (url, _proc, _log):
        setup(url, httpserver.url_for("/hook"), group_by=["rule_id"], group_wait=0,
              repeat_interval=2)
        post(url, 0)
        wait_for(lambda: len(received(httpserver)) >= 2, timeout=20)
        first, repeat = received(httpserver)[:2]
        assert (first["data"]["kind"], repeat["data"]["kind"]) == ("flush", "repeat")
        gap = (datetime.fromisoformat(repeat["timestamp"])
               - datetime.fromisoformat(first["timestamp"])).total_seconds()
        assert 2.0 <= gap < 3.5
        [alert] = requests.get(url + "/api/alerts", headers=HEADERS).json()["alerts"]
        acknowledge_on(url, where, alert["id"], api_key=KEY, password=PASSWORD,
                       link=repeat["data"]["actions"].get("acknowledge_group", ""))
        acknowledged = time.monotonic()
        resolved = wait_for(lambda: [b for b in received(httpserver)
                                     if b["data"]["status"] == "resolved"], timeout=10)
        assert time.monotonic() - acknowledged < 1.5  # at once, not at the next repeat time
        count = len(received(httpserver))
        time.sleep(3.0)  # past another repeat_interval: nothing more
        assert len(received(httpserver)) == count and len(resolved) == 1
        assert requests.get(f"{url}/api/alerts/{alert['id']}",
                            headers=HEADERS).json()["status"] == "acknowledged"
