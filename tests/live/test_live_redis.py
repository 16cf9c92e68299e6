"""The Redis-backed hub: what one process publishes, every process's clients receive."""

import os
import time

import pytest

from alerting.live import LiveMessage, LocalHub
from alerting.live.redis_hub import RedisHub
from tests.support.databases import REDIS_URL, redis_reachable

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


def test_subscribe_returns_once_the_listener_is_subscribed():
    channel = f"alerting:test:{os.getpid()}:{time.monotonic_ns()}"
    web, worker = RedisHub(REDIS_URL, LocalHub(), channel=channel), \
        RedisHub(REDIS_URL, LocalHub(), channel=channel)
    try:
        subscription = web.subscribe()
        worker.publish(LiveMessage.build("alert_created", {"id": 1}))  # no pause before
        message = receive(subscription)
        assert message is not None and message.data == {"id": 1}
    finally:
        web.close()
        worker.close()


def test_a_listener_that_reconnects_resends_what_it_missed_once():
    import redis

    channel = f"alerting:test:{os.getpid()}:{time.monotonic_ns()}"
    name = f"live-test-{time.monotonic_ns()}"
    stored = [5]  # alert ids in "the database"

    def resync(after):
        return [LiveMessage.build("alert_created", {"id": n}) for n in stored if n > after]

    web = RedisHub(REDIS_URL, LocalHub(), channel=channel, latest=lambda: max(stored),
                   resync=resync, client_name=name)
    worker = RedisHub(REDIS_URL, LocalHub(), channel=channel)
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        subscription = web.subscribe()
        stored.append(6)
        worker.publish(LiveMessage.build("alert_created", {"id": 6}))
        assert receive(subscription).data == {"id": 6}

        stored.extend([7, 8])  # created while the listener is away: never heard
        listeners = [c for c in admin.client_list() if c["name"] == name and c["sub"] != "0"]
        assert len(listeners) == 1
        admin.client_kill_filter(_id=listeners[0]["id"])
        assert [receive(subscription).data["id"] for _ in range(2)] == [7, 8]

        stored.append(9)
        worker.publish([LiveMessage.build("alert_created", {"id": 8}),  # heard already
                        LiveMessage.build("alert_created", {"id": 9})])
        assert receive(subscription).data == {"id": 9}
        assert subscription.get(0.3) is None
    finally:
        web.close()
        worker.close()
        admin.close()
