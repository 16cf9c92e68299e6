"""Push channel: Apprise's json:// plugin posting to a pytest-httpserver receiver on loopback."""

from dataclasses import replace

import pytest
from pytest_httpserver import HTTPServer

from alerting.notify import get_notifier
from alerting.notify.base import ChannelSettings, Message
from alerting.notify.push import PushNotifier, with_ntfy_actions


@pytest.fixture(scope="module")
def server():
    receiver = HTTPServer(host="127.0.0.1")
    receiver.start()
    yield receiver
    receiver.clear()
    receiver.stop()


@pytest.fixture
def receiver(server):
    server.clear()
    yield server
    server.clear()


def make_message() -> Message:
    return Message(
        delivery_id="dlv-1",
        severity="critical",
        title="[CRITICAL] Person at back door (camera back-door)",
        text="A person was seen at the back door at 02:14.",
    )


LOOPBACK = ChannelSettings(webhook_allow_cidrs=("127.0.0.0/8",))  # the receiver's address


def json_url(receiver: HTTPServer, path: str = "/push") -> str:
    return f"json://127.0.0.1:{receiver.port}{path}"


def test_registered_by_name():
    assert get_notifier("push").name == "push"


def test_receiver_gets_title_and_body(receiver):
    receiver.expect_request("/push", method="POST").respond_with_json({"ok": True})

    outcome = PushNotifier().send(make_message(), json_url(receiver), LOOPBACK)

    assert outcome.ok, outcome.error
    assert outcome.duration_ms > 0
    request, _ = receiver.log[0]
    payload = request.get_json()
    assert payload["title"] == "[CRITICAL] Person at back door (camera back-door)"
    assert payload["message"] == "A person was seen at the back door at 02:14."
    assert payload["type"] == "failure"


def test_receiver_error_is_retryable_with_apprise_reason(receiver):
    receiver.expect_request("/push").respond_with_data("broken", status=500)

    outcome = PushNotifier().send(make_message(), json_url(receiver), LOOPBACK)

    assert not outcome.ok and outcome.retryable
    assert "500" in outcome.error


def test_nothing_listening_is_retryable(receiver):
    port = receiver.port
    outcome = PushNotifier().send(
        make_message(),
        f"json://127.0.0.1:{port + 1 if port < 65535 else port - 1}/x",
        LOOPBACK,
    )
    assert not outcome.ok and outcome.retryable


def test_falls_back_to_configured_urls(receiver):
    receiver.expect_request("/push").respond_with_json({})
    settings = ChannelSettings(push_urls=(json_url(receiver),),
                               webhook_allow_cidrs=("127.0.0.0/8",))
    assert PushNotifier().send(make_message(), "", settings).ok
    assert len(receiver.log) == 1


@pytest.mark.parametrize("target", ["nope://token@host", "not a url"])
def test_unusable_url_is_permanent_and_not_echoed(target):
    outcome = PushNotifier().send(make_message(), target, LOOPBACK)
    assert not outcome.ok and not outcome.retryable
    assert "token" not in outcome.error


def test_no_url_at_all_is_permanent():
    outcome = PushNotifier().send(make_message(), "", LOOPBACK)
    assert not outcome.ok and not outcome.retryable and "no push URL" in outcome.error


# The alert's action links (services/action_links.py) as ntfy buttons.
BASE = "https://alerts.example.com"
ACTIONS = {"open": f"{BASE}/alerts/42", "acknowledge": f"{BASE}/actions/AAA.bbb.ccc",
           "snooze_camera": f"{BASE}/actions/DDD.eee.fff",
           "snooze_rule": f"{BASE}/actions/GGG.hhh.iii"}


def with_actions(actions):
    return replace(make_message(), context={"actions": actions})


def test_ntfy_gets_post_buttons_and_the_click_url(receiver):
    ntfy = receiver  # an HTTP server standing in for ntfy: Apprise posts the message to it
    ntfy.expect_request("/", method="POST").respond_with_json({"id": "x"})
    settings = ChannelSettings(webhook_allow_cidrs=("127.0.0.0/8",))
    target = f"ntfy://127.0.0.1:{ntfy.port}/alerts"
    outcome = PushNotifier().send(with_actions(ACTIONS), target, settings)
    assert outcome.ok, outcome.error
    [(request, _)] = ntfy.log
    assert request.get_json()["topic"] == "alerts"
    assert request.headers["X-Click"] == ACTIONS["open"]
    buttons = [part.strip() for part in request.headers["X-Actions"].split(";")]
    assert buttons == [
        f"http, Acknowledge, {ACTIONS['acknowledge']}, method=POST, "
        "headers.Accept=application/json, clear=true",
        f"http, Snooze camera 30 min, {ACTIONS['snooze_camera']}, method=POST, "
        "headers.Accept=application/json, clear=true",
        f"http, Snooze rule 1 h, {ACTIONS['snooze_rule']}, method=POST, "
        "headers.Accept=application/json, clear=true",
    ]  # three at most: ntfy refuses more; the open link is the click URL


def test_ntfy_view_button_when_there_is_room():
    links = {"open": ACTIONS["open"], "acknowledge": ACTIONS["acknowledge"]}
    url = with_ntfy_actions("ntfys://ntfy.sh/topic?priority=high", links)
    assert url.startswith("ntfys://ntfy.sh/topic?priority=high&click=")
    assert "view%2C%20Open%2C%20https%3A%2F%2Falerts.example.com%2Falerts%2F42" in url


def test_other_urls_and_own_parameters_are_kept():
    assert with_ntfy_actions("json://127.0.0.1/push", ACTIONS) == "json://127.0.0.1/push"
    assert with_ntfy_actions("ntfy://h/t", {}) == "ntfy://h/t"
    assert with_ntfy_actions("ntfy://[::1/t", ACTIONS) == "ntfy://[::1/t"  # not a URL
    own = "ntfy://h/t?click=https://mine.example&actions=view,Mine,https://mine.example"
    assert with_ntfy_actions(own, ACTIONS) == own
