"""The Redis-backed hub: what one process publishes, every process's clients receive."""

import os
import time

import pytest

from alerting.live import LiveMessage, LocalHub
from alerting.live.redis_hub import RedisHub
from tests.test_deploy import REDIS_URL, redis_reachable

pytestmark = pytest.mark.skipif(
    not redis_reachable(), reason="needs Redis: set ALERTING_TEST_REDIS_URL (.ci/run does)")


def receive(subscription, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = subscription.get(0.1)
        if message is not None:
            return message
    return None


def test_fan_out_between_two_processes_hubs():
    channel = f"alerting:test:{os.getpid()}:{time.monotonic_ns()}"
    web_a = RedisHub(REDIS_URL, LocalHub(), channel=channel)
    web_b = RedisHub(REDIS_URL, LocalHub(), channel=channel)
    worker = RedisHub(REDIS_URL, LocalHub(), channel=channel)  # publishes, never listens
    try:
        on_a, on_b = web_a.subscribe(), web_b.subscribe()
        time.sleep(0.3)  # both listeners subscribed
        worker.publish(LiveMessage.build("alert_created", {"id": 7}, "<li>seven</li>"))
        for subscription in (on_a, on_b):
            message = receive(subscription)
            assert message is not None and message.type == "alert_created"
            assert message.data == {"id": 7} and message.html == "<li>seven</li>"
        assert worker._listener is None  # a process without clients does not listen
    finally:
        for hub in (web_a, web_b, worker):
            hub.close()


def test_redis_down_still_reaches_this_process():
    local = LocalHub()
    hub = RedisHub("redis://127.0.0.1:1/0", local)  # nothing listens on port 1
    subscription = local.subscribe()
    hub.publish(LiveMessage.build("alert_updated", {"id": 1}))
    assert subscription.get(1.0).type == "alert_updated"
    hub.close()
