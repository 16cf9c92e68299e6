"""gunicorn as served (gunicorn.conf.py, alerting/gunicorn_output.py): no credential in any
log line, and its own error answers (a URL over the request-line limit) in JSON."""

import logging
import secrets
import socket

import pytest
import requests

from tests.support.app import make_app
from tests.support.server import running_server

ADMIN_KEY = "ak_" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("serving")
    access_log = tmp_path / "access.log"
    # The default format, and a request header an operator might add to it.
    log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-access-token}i)s'
    args = f"--access-logfile {access_log} --access-logformat '{log_format}'"
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=ADMIN_KEY,
                        GUNICORN_CMD_ARGS=args) as (url, _p, log):
        yield url, access_log, log


def raw_request(url: str, request_line: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_tokens_are_not_in_the_access_or_error_log(server):
    url, access_log, server_log = server
    tokens = {name: secrets.token_hex(12) for name in ("token", "api_key", "key")}
    refused = requests.get(f"{url}/ws/events?access_token={ADMIN_KEY}", timeout=5)
    assert refused.status_code >= 400  # not a WebSocket handshake
    requests.get(f"{url}/ws/videodb?token={tokens['token']}", timeout=5)
    requests.get(f"{url}/api/alerts?limit=5&api_key={tokens['api_key']}&key={tokens['key']}",
                 headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=5)
    assert requests.get(f"{url}/api/alerts", headers={"x-access-token": ADMIN_KEY},
                        timeout=5).status_code == 200
    # A malformed request line, which gunicorn logs (with the line) as an invalid request.
    raw_request(url, f"GET /ws/events?access_token={ADMIN_KEY} HTTP/1.1 extra".encode())

    logged = access_log.read_text()
    assert "GET /ws/events?access_token=[REDACTED] HTTP/1.1" in logged
    assert "GET /ws/videodb?token=[REDACTED] HTTP/1.1" in logged
    assert "GET /api/alerts?limit=5&api_key=[REDACTED]&key=[REDACTED] HTTP/1.1" in logged
    everything = logged + server_log.read_text()
    assert "Invalid request" in everything
    for secret in (ADMIN_KEY, *tokens.values()):
        assert secret not in everything


@pytest.mark.parametrize("length", [5000, 9000, 70000])
def test_an_over_long_api_url_is_a_json_414(server, length):
    url, _access_log, _server_log = server
    response = requests.get(f"{url}/api/alerts?q=" + "a" * length, timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "uri_too_long" and response.json()["message"]


def test_other_protocol_errors_are_json_too(server):
    url, _access_log, _server_log = server
    answer = raw_request(url, b"GET /api/health HTTP/1.1 extra")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert b'"error": "bad_request"' in body


def test_headers_that_never_end_are_a_431_from_the_poller_not_a_waiting_thread(server):
    url, _access_log, _server_log = server
    host, port = url.removeprefix("http://").split(":")
    lines = b"".join(b"X-Pad-%d: %s\r\n" % (n, b"a" * 600) for n in range(110))
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + lines)  # no blank line
        chunks = []
        while chunk := sock.recv(65536):  # answered and closed, not left waiting for more
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431") and b"Content-Type: application/json" in head
    assert b'"error": "headers_too_large"' in body


def test_the_app_redacts_its_own_log_lines(tmp_path, caplog):
    make_app(tmp_path)
    with caplog.at_level(logging.INFO):
        logging.getLogger("alerting.test").info("refused %s", "/ws/events?access_token=s3cr3t")
    assert "/ws/events?access_token=[REDACTED]" in caplog.text and "s3cr3t" not in caplog.text
