"""The alert's action links in each channel: email buttons and text lines (a real aiosmtpd
server), ntfy action buttons (Apprise posting to a local ntfy-style receiver)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace

from alerting.notify.base import ChannelSettings
from alerting.notify.email import EmailNotifier
from alerting.notify.push import PushNotifier, with_ntfy_actions
from tests.notify.test_email import make_message, make_settings
from tests.notify.test_push import receiver, server  # noqa: F401 (fixtures)
from tests.support.receivers import Collector

BASE = "https://alerts.example.com"
ACTIONS = {"open": f"{BASE}/alerts/42", "acknowledge": f"{BASE}/actions/AAA.bbb.ccc",
           "snooze_camera": f"{BASE}/actions/DDD.eee.fff",
           "snooze_rule": f"{BASE}/actions/GGG.hhh.iii"}


def with_actions(actions):
    message = make_message()
    return replace(message, context={**message.context, "actions": actions,
                                     "alert_url": actions.get("open")})


def sent_mail(smtp_server, message):
    collector = Collector()
    controller = smtp_server(collector)
    outcome = EmailNotifier().send(message, "ops@example.com", make_settings(controller))
    assert outcome.ok, outcome.error
    [envelope] = collector.envelopes
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


def test_email_has_a_button_and_a_line_for_each_link(smtp_server):
    text, html = sent_mail(smtp_server, with_actions(ACTIONS))
    for label, name in (("Acknowledge", "acknowledge"), ("Snooze camera 30 min", "snooze_camera"),
                        ("Snooze rule 1 h", "snooze_rule")):
        assert f"{label}: {ACTIONS[name]}" in text
        assert f'href="{ACTIONS[name]}"' in html and f">{label}</a>" in html
    assert f"Open the alert: {ACTIONS['open']}" in text
    assert f'href="{ACTIONS["open"]}"' in html
    assert "works once" in text and "works once" in html


def test_email_without_links_has_no_buttons(smtp_server):
    text, html = sent_mail(smtp_server, with_actions({}))
    assert "/actions/" not in text + html and "works once" not in text + html
    # A link that is not http(s) is never shown.
    text, html = sent_mail(smtp_server, with_actions({"acknowledge": "javascript:alert(1)"}))
    assert "javascript:" not in text + html


def test_ntfy_gets_post_buttons_and_the_click_url(receiver):  # noqa: F811 (the fixture)
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
