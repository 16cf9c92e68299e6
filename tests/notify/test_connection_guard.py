"""The outgoing connection policy on push (Apprise) and the guard under it: real receivers on
loopback, IPv4 and IPv6, never see a connection the policy refuses, and do see allowed ones.
Whatever the plugin, whatever DNS answers at send time; no redirect is followed."""

import re
import socket
import threading

import pytest
from pytest_httpserver import HTTPServer

from alerting.notify.base import ChannelSettings, Message
from alerting.notify.push import PushNotifier
from alerting.notify.ssrf import ConnectionNotAllowed, outgoing_policy

LOOPBACK = ("127.0.0.0/8", "::1/128")


@pytest.fixture(scope="module")
def receivers():
    servers = [HTTPServer(host="127.0.0.1"), HTTPServer(host="::1")]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.clear()
        server.stop()


@pytest.fixture
def v4(receivers):
    receivers[0].clear()
    receivers[0].expect_request(re.compile("/.*")).respond_with_json({"ok": True})
    return receivers[0]


@pytest.fixture
def v6(receivers):
    receivers[1].clear()
    receivers[1].expect_request(re.compile("/.*")).respond_with_json({"ok": True})
    return receivers[1]


class Listener:
    """A bare TCP server on loopback that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.server.close()


def message() -> Message:
    return Message(delivery_id="dlv-guard", severity="high", title="title", text="text")


# Every kind of push URL that reached loopback before the guard, and a few more spellings.
PUSH_URLS = [
    "json://127.0.0.1:{v4}/push",
    "xml://127.0.0.1:{v4}/push",
    "form://127.0.0.1:{v4}/push",
    "ntfy://127.0.0.1:{v4}/topic",
    "gotify://127.0.0.1:{v4}/AbCdEfGhIjKlMnO",
    "json://user:pass@127.0.0.1:{v4}/push",
    "json://localhost:{v4}/push",
    "json://2130706433:{v4}/push",
    "json://0x7f000001:{v4}/push",
    "json://[::1]:{v6}/push",
]


@pytest.mark.parametrize("template", PUSH_URLS)
def test_push_to_loopback_is_refused_and_never_connects(template, v4, v6):
    url = template.format(v4=v4.port, v6=v6.port)
    outcome = PushNotifier().send(message(), url, ChannelSettings())
    assert not outcome.ok and not outcome.retryable
    assert outcome.error.startswith("refused by the outgoing connection policy: loopback")
    assert v4.log == [] and v6.log == []


@pytest.mark.parametrize("template", PUSH_URLS)
def test_push_to_an_allowed_address_is_delivered(template, v4, v6):
    url = template.format(v4=v4.port, v6=v6.port)
    outcome = PushNotifier().send(message(), url, ChannelSettings(webhook_allow_cidrs=LOOPBACK))
    assert outcome.ok, outcome.error
    assert len(v4.log) + len(v6.log) == 1


@pytest.mark.parametrize("allow", [("10.0.0.0/8",), ("127.0.0.2/32",), ("::1/128",)])
def test_an_allow_list_that_does_not_cover_the_address_refuses(allow, v4):
    outcome = PushNotifier().send(message(), f"json://127.0.0.1:{v4.port}/push",
                                  ChannelSettings(webhook_allow_cidrs=allow))
    assert not outcome.ok and "loopback address 127.0.0.1 is not allowed" in outcome.error
    assert v4.log == []


@pytest.mark.parametrize("redirect", ["", "?redirect=yes"])
def test_push_follows_no_redirect(receivers, redirect):
    server = receivers[0]
    server.clear()
    server.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/push")})
    server.expect_request("/push").respond_with_json({})
    outcome = PushNotifier().send(message(), f"json://127.0.0.1:{server.port}/moved{redirect}",
                                  ChannelSettings(webhook_allow_cidrs=LOOPBACK))
    assert not outcome.ok and not outcome.retryable
    assert outcome.error == ("refused by the outgoing connection policy: "
                             "HTTP 302 redirect not followed")
    assert [request.path for request, _ in server.log] == ["/moved"]


def test_the_address_connected_to_is_checked_not_the_name(monkeypatch, v4):
    """A name that no check saw resolving to loopback (DNS answering differently at send
    time) is refused at the connection itself; allowed, it reaches the receiver."""
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "rebind.example":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = f"json://rebind.example:{v4.port}/push"
    refused = PushNotifier().send(message(), url, ChannelSettings())
    assert not refused.ok and "loopback address 127.0.0.1" in refused.error and v4.log == []
    allowed = PushNotifier().send(message(), url, ChannelSettings(webhook_allow_cidrs=LOOPBACK))
    assert allowed.ok, allowed.error
    assert [request.headers["Host"] for request, _ in v4.log] == [f"rebind.example:{v4.port}"]


def test_smtp_based_push_goes_through_the_policy_too():
    """mailto:// is Apprise's own SMTP client, not requests: refused, it never connects."""
    listener = Listener()
    url = (f"mailto://user:pw@example.com?smtp=127.0.0.1&port={listener.port}"
           "&from=a@example.com&to=b@example.com&mode=insecure")
    try:
        refused = PushNotifier().send(message(), url, ChannelSettings())
        assert not refused.ok and not refused.retryable
        assert refused.error.startswith("refused by the outgoing connection policy: loopback")
        assert listener.accepted == 0
        PushNotifier().send(message(), url, ChannelSettings(webhook_allow_cidrs=LOOPBACK))
        assert listener.accepted >= 1  # allowed, it does connect (and fails: no SMTP there)
    finally:
        listener.close()


def test_guard_refuses_udp_and_unix_sockets_and_is_off_outside_the_block(tmp_path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.5)
    path = str(tmp_path / "s")
    unix_server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_server.bind(path)
    unix_server.listen()
    try:
        with outgoing_policy(()) as policy:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                    pytest.raises(ConnectionNotAllowed):
                udp.sendto(b"x", receiver.getsockname())
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix, \
                    pytest.raises(ConnectionNotAllowed):
                unix.connect(path)
        assert policy.refused == ["loopback address 127.0.0.1 is not allowed",
                                  "only TCP or UDP over IPv4/IPv6 is allowed"]
        with pytest.raises(TimeoutError):
            receiver.recvfrom(10)  # nothing was sent
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(b"y", receiver.getsockname())  # no policy here: as always
        assert receiver.recvfrom(10)[0] == b"y"
    finally:
        receiver.close()
        unix_server.close()
