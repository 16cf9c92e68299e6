"""Webhook channel against real receivers on loopback: signing, classification, no redirects."""

import base64
import contextlib
import socket
import struct
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook
from werkzeug import Response

from alerting.notify import get_notifier
from alerting.notify.base import ChannelSettings, Message
from alerting.notify.webhook import (
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    WebhookNotifier,
    generate_secret,
    parse_retry_after,
    sign,
)

LOOPBACK = ("127.0.0.0/8",)


def make_message(**overrides) -> Message:
    fields = {
        "delivery_id": "dlv_01HZX3",
        "severity": "high",
        "title": "[HIGH] Person at back door (camera back-door)",
        "text": "A person was seen at the back door.",
        "context": {},
        "webhook_body": {
            "type": "alert.created",
            "alert": {"id": 42, "severity": "high", "camera_id": "back-door"},
            "note": "caf\u00e9 \u2603",
        },
    }
    fields.update(overrides)
    return Message(**fields)


def make_settings(**overrides) -> ChannelSettings:
    fields = {
        "webhook_secret": SECRET,
        "webhook_timeout_seconds": 2.0,
        "webhook_allow_cidrs": LOOPBACK,
    }
    fields.update(overrides)
    return ChannelSettings(**fields)


SECRET = generate_secret()


@pytest.fixture(scope="module")
def servers():
    started = [HTTPServer(host="127.0.0.1"), HTTPServer(host="127.0.0.1")]
    for server in started:
        server.start()
    yield started
    for server in started:
        server.clear()
        server.stop()


@pytest.fixture
def receiver(servers):
    servers[0].clear()
    yield servers[0]
    servers[0].clear()


@pytest.fixture
def other_receiver(servers):
    servers[1].clear()
    yield servers[1]
    servers[1].clear()


def send(url: str, **settings):
    return WebhookNotifier().send(make_message(), url, make_settings(**settings))


def test_registered_by_name():
    assert get_notifier("webhook").name == "webhook"


def test_delivers_signed_body_that_standardwebhooks_verifies(receiver):
    receiver.expect_request("/hook", method="POST").respond_with_json({"ok": True})
    message = make_message()

    outcome = WebhookNotifier().send(message, receiver.url_for("/hook"), make_settings())

    assert outcome.ok and not outcome.retryable and outcome.status_code == 200
    assert outcome.error is None and outcome.duration_ms > 0
    request, _response = receiver.log[0]
    headers = dict(request.headers)
    assert Webhook(SECRET).verify(request.get_data(), headers) == message.webhook_body
    assert headers["Webhook-Id"] == message.delivery_id
    assert abs(int(headers["Webhook-Timestamp"]) - time.time()) < 60
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Content-Type"] == "application/json"
    assert headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_verifying_by_hand_matches(receiver):
    receiver.expect_request("/hook").respond_with_data("", status=204)
    assert send(receiver.url_for("/hook")).ok
    request, _ = receiver.log[0]
    msg_id, ts = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    assert request.headers["webhook-signature"] == sign(SECRET, msg_id, int(ts), request.get_data())


def test_same_delivery_id_on_every_retry(receiver):
    receiver.expect_request("/hook").respond_with_data("busy", status=503)
    send(receiver.url_for("/hook"))
    send(receiver.url_for("/hook"))
    assert {r.headers["webhook-id"] for r, _ in receiver.log} == {"dlv_01HZX3"}


def test_no_secret_sends_unsigned(receiver):
    receiver.expect_request("/hook").respond_with_data("ok")
    assert send(receiver.url_for("/hook"), webhook_secret=None).ok
    request, _ = receiver.log[0]
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "dlv_01HZX3"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (502, True),
        (503, True),
        (408, True),
        (425, True),
        (429, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
        (422, False),
    ],
)
def test_status_classification(receiver, status, retryable):
    receiver.expect_request("/hook").respond_with_data("nope\nreason", status=status)
    outcome = send(receiver.url_for("/hook"))
    assert not outcome.ok
    assert outcome.retryable is retryable
    assert outcome.status_code == status
    assert outcome.error == f"HTTP {status}: nope reason"


def test_429_retry_after_seconds(receiver):
    receiver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    outcome = send(receiver.url_for("/hook"))
    assert outcome.retryable and outcome.retry_after == 7.0


def test_503_retry_after_http_date(receiver):
    when = datetime.now(UTC) + timedelta(seconds=120)
    receiver.expect_request("/hook").respond_with_data(
        "maintenance", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    outcome = send(receiver.url_for("/hook"))
    assert outcome.retryable and 100 < outcome.retry_after <= 120


def test_500_ignores_retry_after(receiver):
    receiver.expect_request("/hook").respond_with_data(
        "", status=500, headers={"Retry-After": "30"}
    )
    assert send(receiver.url_for("/hook")).retry_after is None


def test_redirect_is_permanent_and_not_followed(receiver, other_receiver):
    other_receiver.expect_request("/elsewhere").respond_with_data("should not be reached")
    target = other_receiver.url_for("/elsewhere")
    receiver.expect_request("/hook").respond_with_response(
        Response("moved", status=302, headers={"Location": target})
    )

    outcome = send(receiver.url_for("/hook"))

    assert not outcome.ok and not outcome.retryable
    assert outcome.status_code == 302
    assert target in outcome.error
    assert other_receiver.log == []


def test_loopback_refused_without_allow_list(receiver):
    receiver.expect_request("/hook").respond_with_data("ok")
    outcome = send(receiver.url_for("/hook"), webhook_allow_cidrs=())
    assert not outcome.ok and not outcome.retryable
    assert outcome.error.startswith("unsafe URL: loopback")
    assert receiver.log == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "not a url", "http://169.254.169.254/"])
def test_unsafe_or_invalid_urls_are_permanent(url):
    outcome = send(url)
    assert not outcome.ok and not outcome.retryable
    assert outcome.error.startswith("unsafe URL")


def test_bad_secret_is_permanent(receiver):
    outcome = send(receiver.url_for("/hook"), webhook_secret="whsec_***not base64***")
    assert not outcome.ok and not outcome.retryable and "secret" in outcome.error
    assert receiver.log == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retryable():
    outcome = send(f"http://127.0.0.1:{_free_port()}/hook")
    assert not outcome.ok and outcome.retryable and outcome.status_code is None
    assert "connection error" in outcome.error


def test_timeout_is_retryable():
    # A listening socket that never accepts: the kernel completes the handshake, nobody answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        outcome = send(f"http://127.0.0.1:{port}/hook", webhook_timeout_seconds=0.3)
    assert time.monotonic() - started < 2
    assert not outcome.ok and outcome.retryable
    assert "timed out" in outcome.error


def test_connection_reset_is_retryable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]

        def reset_one():
            conn, _ = listener.accept()
            conn.recv(65536)
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

        thread = threading.Thread(target=reset_one, daemon=True)
        thread.start()
        outcome = send(f"http://127.0.0.1:{port}/hook")
        thread.join(timeout=5)
    assert not outcome.ok and outcome.retryable
    assert "connection error" in outcome.error


class RawReceiver:
    """A bare HTTP/1.1 receiver counting the connections it accepts. Each answer is
    `reply(n)` for the n-th request; `close_after` closes the connection after answering
    (without saying so), as an idle timeout on a receiver would."""

    def __init__(self, reply=lambda n: b"ok", status=200, close_after=False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.connections = 0
        self.requests = 0
        self.reply, self.status, self.close_after = reply, status, close_after
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rb") as stream, contextlib.suppress(OSError):  # hung up
            while True:
                head = [line for line in iter(stream.readline, b"\r\n") if line]
                if not head:
                    return
                length = next(int(h.split(b":")[1]) for h in head
                              if h.lower().startswith(b"content-length"))
                stream.read(length)
                self.requests += 1
                body = self.reply(self.requests)
                conn.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s"
                             % (self.status, len(body), body))
                if self.close_after:
                    return

    def close(self):
        self.listener.close()


@pytest.fixture
def raw_receiver():
    made = []

    def make(**kwargs):
        made.append(RawReceiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def test_connections_are_kept_alive_one_per_thread(raw_receiver):
    receiver = raw_receiver()
    assert all(send(receiver.url).ok for _ in range(3))
    assert receiver.connections == 1
    other = []
    thread = threading.Thread(target=lambda: other.append(send(receiver.url)))
    thread.start()
    thread.join()
    assert other[0].ok and receiver.connections == 2 and receiver.requests == 4


def counting_resolver(monkeypatch) -> list[str]:
    """The hosts the webhook channel resolves and checks, in order."""
    from alerting.notify import webhook

    resolved = []

    def resolve(host, port, allow):
        resolved.append(host)
        return real(host, port, allow)

    real = webhook.resolve_checked
    monkeypatch.setattr(webhook, "resolve_checked", resolve)
    return resolved


def test_a_kept_alive_connection_is_not_resolved_again(raw_receiver, monkeypatch):
    resolved = counting_resolver(monkeypatch)
    receiver = raw_receiver()
    assert all(send(receiver.url).ok for _ in range(3))
    assert resolved == ["127.0.0.1"] and receiver.connections == 1


def test_every_new_connection_is_checked(raw_receiver, monkeypatch):
    resolved = counting_resolver(monkeypatch)
    receiver = raw_receiver(close_after=True)
    for _ in range(2):
        assert send(receiver.url).ok
        time.sleep(0.05)
    assert resolved == ["127.0.0.1", "127.0.0.1"] and receiver.connections == 2


def test_a_narrower_allow_list_is_not_passed_by_a_kept_alive_connection(raw_receiver):
    receiver = raw_receiver()
    assert send(receiver.url).ok
    outcome = send(receiver.url, webhook_allow_cidrs=())
    assert not outcome.ok and not outcome.retryable
    assert outcome.error.startswith("unsafe URL: loopback")
    assert receiver.requests == 1


def test_a_connection_the_receiver_closed_is_replaced(raw_receiver):
    receiver = raw_receiver(close_after=True)
    for _ in range(3):
        assert send(receiver.url).ok
        time.sleep(0.05)  # the receiver's close has arrived: seen before the next request
    assert receiver.connections == 3 and receiver.requests == 3


def test_a_close_racing_the_next_request_is_retried_once(raw_receiver, monkeypatch):
    receiver = raw_receiver(close_after=True)
    assert send(receiver.url).ok
    time.sleep(0.05)
    # As if the receiver closed the connection just after the check that it was still open.
    monkeypatch.setattr("alerting.notify.webhook._dropped", lambda sock: False)
    outcome = send(receiver.url)
    assert outcome.ok and receiver.connections == 2 and receiver.requests == 2


def test_a_huge_answer_is_cut_and_its_connection_not_kept(raw_receiver):
    receiver = raw_receiver(reply=lambda n: b"x" * (MAX_RESPONSE_BYTES * 3), status=500)
    outcome = send(receiver.url)
    assert outcome.status_code == 500 and outcome.error == "HTTP 500: " + "x" * 200
    send(receiver.url)
    assert receiver.connections == 2


def test_url_credentials_and_query_are_sent(receiver):
    receiver.expect_request("/hook", query_string="a=1").respond_with_data("ok")
    url = receiver.url_for("/hook?a=1").replace("http://", "http://me:p%40ss@")
    assert send(url).ok
    request, _ = receiver.log[0]
    assert request.authorization.username == "me" and request.authorization.password == "p@ss"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_generate_secret_format():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert generate_secret() != secret


def test_sign_matches_standardwebhooks():
    body = b'{"a":1}'
    ts = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    expected = Webhook(SECRET).sign("msg_1", ts, body.decode())
    assert sign(SECRET, "msg_1", 1_700_000_000, body) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", 0.0), ("-5", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date_in_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_bad_allow_list_is_permanent():
    outcome = send("http://127.0.0.1:9/hook", webhook_allow_cidrs=("127.0.0.0/33",))
    assert not outcome.ok and not outcome.retryable and "webhook_allow_cidrs" in outcome.error


class TricklingReceiver:
    """Reads the request, then answers one byte every `interval` seconds: each read of the
    answer is quick, the whole answer takes about 15 s."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"." * 20 + b"\r\n\r\nok"

    def __init__(self, interval=0.3, body_only=False):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.interval, self.body_only = interval, body_only
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            with conn:
                conn.recv(65536)
                for byte in self.ANSWER:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.interval)

    def close(self):
        self.listener.close()


def test_a_trickling_answer_fails_at_the_deadline_not_per_read():
    receiver = TricklingReceiver()
    try:
        started = time.monotonic()
        outcome = send(receiver.url, webhook_timeout_seconds=1.0)
        elapsed = time.monotonic() - started
    finally:
        receiver.close()
    assert not outcome.ok and outcome.retryable
    assert outcome.error == "timed out after 1s"
    assert 0.9 < elapsed < 3.0  # each byte came within 0.3 s: a per-read timeout never fired


def test_the_deadline_covers_the_retry_on_a_new_connection(raw_receiver, monkeypatch):
    receiver = raw_receiver(close_after=True)
    assert send(receiver.url).ok
    time.sleep(0.05)
    monkeypatch.setattr("alerting.notify.webhook._dropped", lambda sock: False)
    outcome = send(receiver.url, webhook_timeout_seconds=1.0)
    assert outcome.ok and receiver.connections == 2
