"""Email channel against a real aiosmtpd server on loopback."""

import email
import email.policy
import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from alerting.notify import get_notifier
from alerting.notify.base import ChannelSettings, Message
from alerting.notify.email import EmailNotifier, message_id, render
from tests.support.receivers import Collector
from tests.support.server import free_port


class RejectRecipients:
    def __init__(self, reply):
        self.reply = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.reply


class RejectData:
    def __init__(self, reply):
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):
        return self.reply


def make_message(**overrides) -> Message:
    fields = {
        "delivery_id": "dlv-7f3a",
        "severity": "high",
        "title": "[HIGH] Person at back door (camera back-door)",
        "text": "A person was seen at the back door.",
        "context": {
            "alert": {"id": 42, "created_at": "2025-12-23T10:00:05Z"},
            "rule": {"id": "r1", "name": "Back door at night", "severity": "high"},
            "event": {
                "camera_id": "back-door",
                "started_at": datetime(2025, 12, 23, 10, 0, 0, tzinfo=UTC),
                "summary": "Person <script>alert(1)</script> near the door",
                "risk_level": "high",
                "detections": [
                    {"object_type": "person", "confidence": 0.92, "zone_ids": ["porch"]},
                ],
            },
            "matched_conditions": ["object_type", "camera", "schedule"],
            "alert_url": "http://alerting.local/alerts/42",
        },
        "webhook_body": {},
    }
    fields.update(overrides)
    return Message(**fields)


def make_settings(controller=None, **overrides) -> ChannelSettings:
    fields = {
        "smtp_host": "127.0.0.1",
        "smtp_port": controller.port if controller else free_port(),
        "smtp_from_address": "alerts@example.com",
        "smtp_timeout": 5.0,
        "webhook_allow_cidrs": ("127.0.0.0/8",),  # the receiver is on loopback
    }
    fields.update(overrides)
    return ChannelSettings(**fields)


def test_registered_by_name():
    assert get_notifier("email").name == "email"


def test_delivers_text_and_html_with_subject_and_message_id(smtp_server):
    collector = Collector()
    controller = smtp_server(collector)
    message = make_message()

    outcome = EmailNotifier().send(
        message, "ops@example.com, oncall@example.com", make_settings(controller)
    )

    assert outcome.ok, outcome.error
    assert outcome.error is None and outcome.duration_ms > 0
    [envelope] = collector.envelopes
    assert envelope.mail_from == "alerts@example.com"
    assert sorted(envelope.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert mail["Subject"] == message.title
    assert mail["Message-ID"] == "<dlv-7f3a@alerting.local>"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Back door at night" in body
        assert "back-door" in body
        assert "person 92%" in body
        assert "porch" in body
        assert "2025-12-23 10:00:00 UTC" in body
        assert "http://alerting.local/alerts/42" in body
        assert "schedule" in body
    assert "<script>" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "<link" not in html


def test_message_id_is_stable_and_safe():
    assert message_id("abc") == message_id("abc") == "<abc@alerting.local>"
    assert message_id("a b<c>@d") == "<a-b-c--d@alerting.local>"


def test_render_survives_an_empty_context():
    text, html = render(make_message(context={}))
    assert "[HIGH] Person at back door" in text and "<html" in html


def test_smtp_down_is_retryable():
    outcome = EmailNotifier().send(make_message(), "ops@example.com", make_settings())
    assert not outcome.ok and outcome.retryable
    assert outcome.error.startswith("could not connect to an SMTP server at 127.0.0.1:")


def _silent_listener(reply: bytes):
    """A real TCP server on loopback that accepts, answers `reply` (maybe nothing) and closes:
    an open port that does not speak SMTP."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            with conn:
                if reply:
                    conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return server, accepted


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 400 Bad Request\r\n\r\n",
                                   b"SSH-2.0-OpenSSH_9.6\r\n"])
def test_open_port_and_closed_port_give_the_same_error(reply):
    server, accepted = _silent_listener(reply)
    open_port = server.getsockname()[1]
    closed_port = free_port()
    try:
        opened = EmailNotifier().send(make_message(), "ops@example.com",
                                      make_settings(smtp_port=open_port))
        closed = EmailNotifier().send(make_message(), "ops@example.com",
                                      make_settings(smtp_port=closed_port))
    finally:
        server.close()
    assert accepted  # the open port was really connected to
    assert (opened.ok, opened.retryable, opened.status_code) == (False, True, None)
    assert (closed.ok, closed.retryable, closed.status_code) == (False, True, None)
    assert opened.error.replace(str(open_port), "PORT") == closed.error.replace(
        str(closed_port), "PORT") == "could not connect to an SMTP server at 127.0.0.1:PORT"


@pytest.mark.parametrize("allow", [(), ("10.0.0.0/8",), ("127.0.0.2/32",)])
def test_smtp_host_outside_the_allow_list_is_never_connected_to(smtp_server, allow):
    collector = Collector()
    controller = smtp_server(collector)
    server, accepted = _silent_listener(b"")
    try:
        for port in (controller.port, server.getsockname()[1]):
            outcome = EmailNotifier().send(make_message(), "ops@example.com",
                                           make_settings(smtp_port=port,
                                                         webhook_allow_cidrs=allow))
            assert not outcome.ok and not outcome.retryable
            assert outcome.error == ("refused by the outgoing connection policy: "
                                     "loopback address 127.0.0.1 is not allowed")
    finally:
        server.close()
    assert collector.envelopes == [] and accepted == []


def test_recipient_rejected_550_is_permanent(smtp_server):
    controller = smtp_server(RejectRecipients("550 5.1.1 No such user"))
    outcome = EmailNotifier().send(make_message(), "nobody@example.com", make_settings(controller))
    assert not outcome.ok and not outcome.retryable
    assert outcome.status_code == 550 and "No such user" in outcome.error


def test_data_rejected_554_is_permanent(smtp_server):
    controller = smtp_server(RejectData("554 5.7.1 Message rejected"))
    outcome = EmailNotifier().send(make_message(), "ops@example.com", make_settings(controller))
    assert not outcome.ok and not outcome.retryable and outcome.status_code == 554


def test_greylisting_451_is_retryable(smtp_server):
    controller = smtp_server(RejectRecipients("451 4.7.1 Try again later"))
    outcome = EmailNotifier().send(make_message(), "ops@example.com", make_settings(controller))
    assert not outcome.ok and outcome.retryable and outcome.status_code == 451


def test_starttls_not_offered_is_permanent(smtp_server):
    controller = smtp_server(Collector())
    settings = make_settings(controller, smtp_use_tls=True)
    outcome = EmailNotifier().send(make_message(), "ops@example.com", settings)
    assert not outcome.ok and not outcome.retryable and "STARTTLS" in outcome.error


@pytest.mark.parametrize(
    ("overrides", "target", "error"),
    [
        ({"smtp_host": None}, "ops@example.com", "no SMTP host"),
        ({"smtp_from_address": ""}, "ops@example.com", "no from address"),
        ({}, " , ", "no email recipients"),
        ({}, "ops@example.com\r\nBcc: x@evil.test", "newline"),
    ],
)
def test_configuration_errors_are_permanent(overrides, target, error):
    outcome = EmailNotifier().send(make_message(), target, make_settings(**overrides))
    assert not outcome.ok and not outcome.retryable and error in outcome.error


# The alert's action links (services/action_links.py): a button and a line each.

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


def test_an_address_the_email_library_cannot_write_fails_the_send_not_the_sender(smtp_server):
    """Python's header folding raises TypeError on some address lists (local parts starting
    with a dot, after another address; Flask-Mail orders them by hash: these fail in every
    order): stored before the schema refused such addresses, it must be a failed attempt
    that says why, not an exception (a 500 from the test button)."""
    collector = Collector()
    controller = smtp_server(collector)
    recipients = ("33m@HTG.P.8cnyk.W, .KBU+Ei9?Lus%{zAU=@RYsNWta2iV.q.z.s.c.v.zXTTEvz.P.y, "
                  ".KBU+Ei9?Lus%{zAU=@x.y, .x?y@z.co")
    outcome = EmailNotifier().send(make_message(), recipients, make_settings(controller))
    assert not outcome.ok and not outcome.retryable
    assert "cannot be written" in outcome.error
    assert collector.envelopes == []
