"""Web push channel: pywebpush sending to a real push service on loopback, which verifies
the VAPID JWT and decrypts the payload with the subscription's keys made here."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from alerting.notify import get_notifier
from alerting.notify.base import ChannelSettings, Message
from alerting.notify.media import Snapshot
from alerting.notify.webpush import (
    MAX_PAYLOAD,
    WebPushNotifier,
    encoded,
    notification_actions,
    urgency,
)
from tests.support.server import free_port
from tests.support.webpush import BrowserKeys, b64url, start_push_service


@pytest.fixture(scope="module")
def service():
    found = start_push_service()
    yield found
    found.server.stop()


@pytest.fixture
def push(service):
    service.received.clear()
    service.refused.clear()
    service.answers.clear()
    return service


def _pem() -> str:
    key = Vapid02()
    key.generate_keys()
    return key.private_pem().decode()


SETTINGS = ChannelSettings(webhook_allow_cidrs=("127.0.0.0/8",), vapid_private_key=_pem(),
                           vapid_subject="mailto:ops@example.org")


def make_message(**context) -> Message:
    return Message(
        delivery_id="dlv-1", severity="critical",
        title="[CRITICAL] Person at back door (camera back-door)",
        text="Back door matched an event on camera back-door.",
        context={"alert": {"id": 42, "event_id": 7},
                 "event": {"id": 7, "media": {"snapshot_url": "http://nvr/snap.jpg"}},
                 "rule": {"name": "Back door", "severity": "critical", "sound": "chime"},
                 **context})


def target(subscription: dict) -> str:
    return json.dumps(subscription)


def test_registered_by_name():
    assert get_notifier("webpush").name == "webpush"


def test_push_service_gets_a_payload_it_decrypts_with_the_subscription_keys(push):
    outcome = WebPushNotifier().send(make_message(), target(push.subscribe("phone")), SETTINGS)

    assert outcome.ok, outcome.error
    assert outcome.status_code == 201
    [got] = push.received
    assert got.payload == {
        "title": "[CRITICAL] Person at back door (camera back-door)",
        "body": "Back door matched an event on camera back-door.",
        "severity": "critical", "priority": "normal", "alert_id": 42, "url": "/alerts/42",
        "snapshot_url": "/media/events/7/snapshot.jpg",
        "actions": [{"action": "open", "title": "Open", "url": "/alerts/42"}],
        "tag": "alert-42", "timestamp": got.payload["timestamp"], "sound": "chime",
    }
    assert got.claims["aud"] == push.origin and got.claims["sub"] == "mailto:ops@example.org"
    assert got.headers["Urgency"] == "high" and int(got.headers["Ttl"]) > 0
    assert got.headers["Topic"] == "alert-42"


def test_the_vapid_key_is_the_one_configured(push):
    WebPushNotifier().send(make_message(), target(push.subscribe("tablet")), SETTINGS)
    key = Vapid02.from_pem(SETTINGS.vapid_private_key.encode())
    raw = key.public_key.public_bytes(serialization.Encoding.X962,
                                      serialization.PublicFormat.UncompressedPoint)
    assert push.received[0].claims["k"] == b64url(raw)


def test_a_payload_encrypted_to_other_keys_does_not_decrypt(push):
    good = push.subscribe("a")
    other = push.subscribe("b")
    # a's endpoint with b's keys: the service, holding a's keys, cannot read it (its
    # handler fails: a 500, retried)
    outcome = WebPushNotifier().send(make_message(), target({**good, "keys": other["keys"]}),
                                     SETTINGS)

    assert not outcome.ok and outcome.retryable
    assert push.received == []


@pytest.mark.parametrize("status", [404, 410])
def test_gone_is_permanent_and_says_so(push, status):
    subscription = push.subscribe("old")
    push.answers["old"] = status

    outcome = WebPushNotifier().send(make_message(), target(subscription), SETTINGS)

    assert not outcome.ok and not outcome.retryable and outcome.gone
    assert outcome.status_code == status


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (503, True), (400, False),
                                                   (413, False)])
def test_other_refusals(push, status, retryable):
    subscription = push.subscribe("busy")
    push.answers["busy"] = status

    outcome = WebPushNotifier().send(make_message(), target(subscription), SETTINGS)

    assert not outcome.ok and not outcome.gone
    assert outcome.retryable is retryable and outcome.status_code == status


def test_loopback_is_refused_without_the_allow_list(push):
    settings = ChannelSettings(vapid_private_key=SETTINGS.vapid_private_key)
    outcome = WebPushNotifier().send(make_message(), target(push.subscribe("x")), settings)

    assert not outcome.ok and not outcome.retryable
    assert "outgoing connection policy" in outcome.error
    assert push.received == []


def test_nothing_listening_is_retryable():
    subscription = BrowserKeys().subscription(f"http://127.0.0.1:{free_port()}/push/x")
    outcome = WebPushNotifier().send(make_message(), target(subscription), SETTINGS)

    assert not outcome.ok and outcome.retryable


@pytest.mark.parametrize("bad", ["unreadable-target://secret-key-changed", "{}", "[]"])
def test_an_unreadable_subscription_is_permanent(bad):
    outcome = WebPushNotifier().send(make_message(), bad, SETTINGS)

    assert not outcome.ok and not outcome.retryable and "cannot be read" in outcome.error


def test_no_vapid_key_is_retryable(push):
    outcome = WebPushNotifier().send(make_message(), target(push.subscribe("y")),
                                     ChannelSettings(webhook_allow_cidrs=("127.0.0.0/8",)))

    assert not outcome.ok and outcome.retryable and push.received == []


def test_a_long_body_is_shortened_to_fit_one_message():
    message = make_message()
    long = Message(**{**message.__dict__, "text": "x" * 20000})

    assert len(encoded(long).encode()) <= MAX_PAYLOAD
    assert json.loads(encoded(long))["title"] == message.title


def test_no_snapshot_no_sound():
    message = Message(delivery_id="d", severity="low", title="t", text="b",
                      context={"alert": {"id": 1}, "event": {"id": 1, "media": {}},
                               "rule": {"name": "r"}})
    body = json.loads(encoded(message))

    assert body["snapshot_url"] is None and "sound" not in body


def test_actions_are_built_in_one_place():
    assert notification_actions({"id": 5}) == [
        {"action": "open", "title": "Open", "url": "/alerts/5"}]


LINKS = {"open": "https://alerts.example.com/alerts/42",
         "acknowledge": "https://alerts.example.com/actions/tok-ack",
         "snooze_camera": "https://alerts.example.com/actions/tok-cam",
         "snooze_rule": "https://alerts.example.com/actions/tok-rule"}


def test_signed_action_links_become_post_buttons_on_the_apps_own_origin(push):
    """Acknowledge and snooze-camera first (the two buttons browsers show), then snooze-rule;
    each a POST to the link's path, so the worker's fetch stays same-origin."""
    message = make_message(actions=LINKS)
    outcome = WebPushNotifier().send(message, target(push.subscribe("acts")), SETTINGS)

    assert outcome.ok, outcome.error
    [got] = push.received
    assert got.payload["actions"] == [
        {"action": "acknowledge", "title": "Acknowledge", "url": "/actions/tok-ack",
         "method": "POST"},
        {"action": "snooze_camera", "title": "Snooze camera 30 min",
         "url": "/actions/tok-cam", "method": "POST"},
        {"action": "snooze_rule", "title": "Snooze rule 1 h", "url": "/actions/tok-rule",
         "method": "POST"}]
    assert got.payload["url"] == "/alerts/42"  # the click on the notification opens the alert


def test_an_alert_without_a_camera_snooze_shows_acknowledge_and_snooze_rule():
    links = {k: v for k, v in LINKS.items() if k != "snooze_camera"}
    assert [a["action"] for a in notification_actions({"id": 1}, links)] == [
        "acknowledge", "snooze_rule"]


def test_the_snapshot_is_its_signed_link_when_there_is_one():
    signed = "https://alerts.example.com/media/events/7/snapshot.jpg?exp=1&sig=x"
    message = Message(**{**make_message().__dict__,
                         "snapshots": (Snapshot(event_id=7, fetch=bytes, link=signed),)})
    assert json.loads(encoded(message))["snapshot_url"] == signed
    # without ALERTING_PUBLIC_URL there is no signed link: the app's route, with the session
    unsigned = Message(**{**message.__dict__,
                          "snapshots": (Snapshot(event_id=9, fetch=bytes),)})
    assert json.loads(encoded(unsigned))["snapshot_url"] == "/media/events/9/snapshot.jpg"


@pytest.mark.parametrize(("severity", "priority", "expected"), [
    ("low", "urgent", "high"), ("medium", "high", "high"), ("critical", "low", "low"),
    ("critical", "normal", "high"), ("medium", "normal", "normal"), ("low", "normal", "low")])
def test_urgency_follows_the_priority_else_the_severity(push, severity, priority, expected):
    message = Message(**{**make_message().__dict__, "severity": severity,
                         "priority": priority})
    assert urgency(message) == expected
    WebPushNotifier().send(message, target(push.subscribe(f"u-{severity}-{priority}")),
                           SETTINGS)
    [got] = push.received
    assert got.headers["Urgency"] == expected and got.payload["priority"] == priority
