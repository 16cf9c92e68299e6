"""A real gunicorn server and a real webhook receiver: a burst of matching events longer than
the rule's group_wait goes out as exactly two group notifications (the first after the wait,
the rest one group_interval later) whose alerts add up to the burst; a server SIGKILLed
during the wait loses nothing (the group flushes after the restart, once); a repeat comes
on time and stops on acknowledge. Times scaled down from the issue's (a 10 s burst,
group_wait 5 s, group_interval 30 s) to keep the test short; the shape is the same."""

import time
from datetime import UTC, datetime

import pytest
import requests

from tests.support.databases import TempDatabase
from tests.support.factories import event_body, rule_body
from tests.support.server import kill_hard, running_server, wait_for

pytestmark = pytest.mark.slow

KEY = "e2e-grouping-admin-key-0123456789"
HEADERS = {"x-access-token": KEY}
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
        setup(url, httpserver.url_for("/hook"), group_by=["camera_id"], group_wait=2,
              group_interval=8)
        start = time.monotonic()
        for i in range(50):  # 50 events over 4 s: twice the wait
            post(url, i)
            time.sleep(max(0.0, start + (i + 1) * 0.08 - time.monotonic()))
        bodies = wait_for(lambda: len(received(httpserver)) == 2 and received(httpserver),
                          timeout=30)
        time.sleep(2.0)  # nothing more comes
        assert len(received(httpserver)) == 2
    assert [b["type"] for b in bodies] == ["alert_group"] * 2
    assert sum(b["data"]["count"] for b in bodies) == 50
    assert all(len(b["data"]["alerts"]) == min(20, b["data"]["count"])  # group_max_alerts
               for b in bodies)
    assert bodies[0]["data"]["group_id"] == bodies[1]["data"]["group_id"]


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


def test_repeat_on_time_and_stops_on_acknowledge(tmp_path, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with running_server(tmp_path, **ENV) as (url, _proc, _log):
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
        assert requests.post(f"{url}/api/alerts/{alert['id']}/acknowledge",
                             headers=HEADERS).status_code == 200
        resolved = wait_for(lambda: [b for b in received(httpserver)
                                     if b["data"]["status"] == "resolved"], timeout=10)
        count = len(received(httpserver))
        time.sleep(3.0)  # past another repeat_interval: nothing more
        assert len(received(httpserver)) == count and len(resolved) == 1
