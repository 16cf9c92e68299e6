"""Many connections on one real server (gunicorn, 16 threads): 300 idle WebSockets and 60
clients sending their headers a byte at a time hold no thread, so the API keeps answering,
an alert still reaches a reading client, and the caps refuse with a close code, not by
starving HTTP. bench/connections.py runs the full 1,000 / 200."""

from __future__ import annotations

import json
import socket
import statistics
import time

import pytest
import requests
import websocket

from tests.support.factories import event_body, rule_body
from tests.support.metrics import samples, value
from tests.support.server import THREADS, Slowloris, running_server, wait_for

KEY = "many-admin-key-0123456789"
IDLE = 300
SLOW = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("many")
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY,
                        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),  # its own
                        ALERTING_LIVE_MAX_CONNECTIONS=str(IDLE + 10),
                        ALERTING_LIVE_MAX_PER_PRINCIPAL=str(IDLE),
                        HEADER_TIMEOUT="4", BODY_TIMEOUT="4") as (url, _proc, _log):
        api = requests.Session()
        api.headers["x-access-token"] = KEY
        assert api.post(url + "/api/alerts/rules",
                        json=rule_body(camera_ids=["back-door"])).status_code == 201
        yield url, api
        api.close()


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws/events"


def connect(url: str, key: str) -> websocket.WebSocket:
    return websocket.create_connection(ws_url(url), timeout=10,
                                       header={"x-access-token": key})


def receive(ws, kind: str, limit: int = 100) -> dict:
    for _ in range(limit):
        message = json.loads(ws.recv())
        if message["type"] == kind:
            return message["data"]
    raise AssertionError(f"no {kind} in {limit} messages")


def close_frame(ws) -> tuple[int, bool]:
    """The close frame's code, and whether its reason says to try again later."""
    opcode, frame = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE, (opcode, frame)
    reason = frame[2:].decode()
    return int.from_bytes(frame[:2], "big"), "limit" in reason


def open_websockets(url: str) -> int:
    health = requests.get(url + "/api/health", timeout=10).json()
    return health["connections"]["websockets"]["open"]


def timed_health(url: str) -> float:
    started = time.monotonic()
    response = requests.get(url + "/api/health", timeout=10)
    assert response.status_code == 200
    return time.monotonic() - started


def test_idle_websockets_and_slow_clients_hold_no_thread(server):
    url, api = server
    port = int(url.rsplit(":", 1)[1])
    reader_key = api.post(url + "/api/keys", json={"name": "reader", "scope": "read"}).json()
    idle: list[websocket.WebSocket] = []
    slow = Slowloris(port, SLOW, interval=0.5)
    try:
        for _ in range(IDLE):
            idle.append(connect(url, KEY))
        slow.start()
        time.sleep(1.0)  # every slow connection has started its headers
        reader = connect(url, reader_key["key"])
        idle.append(reader)
        receive(reader, "ready")

        timings = [timed_health(url) for _ in range(20)]
        assert statistics.median(timings) < 0.2, timings
        assert max(timings) < 2.0, timings

        event = api.post(url + "/api/events", json=event_body(), timeout=10)
        assert event.status_code == 201
        assert receive(reader, "alert_created")["event_id"] == event.json()["id"]

        # Past the caps: closed with 1013, while HTTP answers as before. (A client has its
        # handshake answered before the server counts it in: wait for the count.)
        wait_for(lambda: open_websockets(url) == IDLE + 1)
        over_key = connect(url, KEY)  # this key has IDLE open already
        idle.append(over_key)
        assert close_frame(over_key) == (1013, True)
        for _ in range(9):
            idle.append(connect(url, reader_key["key"]))
        wait_for(lambda: open_websockets(url) == IDLE + 10)
        over_process = connect(url, reader_key["key"])
        idle.append(over_process)
        assert close_frame(over_process) == (1013, True)
        assert timed_health(url) < 2.0

        # The slow clients are cut off at HEADER_TIMEOUT (4 s here), and counted.
        deadline = time.monotonic() + 15
        while slow.closed_by_server < SLOW and time.monotonic() < deadline:
            time.sleep(0.2)
        assert slow.closed_by_server >= SLOW
        health = requests.get(url + "/api/health", timeout=10).json()["connections"]
        assert health["websockets"]["open"] == IDLE + 10
        assert health["websockets"]["refused_total"] == 2
        assert health["slow_requests_closed"] >= SLOW
        found = samples(api.get(url + "/metrics", timeout=10).text)
        assert value(found, "alerting_websocket_clients") == IDLE + 10
        assert value(found, "alerting_websocket_refused_total") == 2
        assert value(found, "alerting_http_slow_requests_closed_total") == \
            health["slow_requests_closed"]
    finally:
        slow.close()
        for ws in idle:
            ws.shutdown()


def test_a_body_sent_slowly_is_cut_off_without_holding_a_thread(server):
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    stalled = []
    try:
        for _ in range(SLOW):  # more than the server's 16 threads
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 100\r\n\r\n{")
            stalled.append(sock)
        assert timed_health(url) < 2.0
        started = time.monotonic()
        assert stalled[0].recv(1) == b""  # closed at BODY_TIMEOUT, with no answer
        assert time.monotonic() - started < 10
    finally:
        for sock in stalled:
            sock.close()


def test_chunked_and_expect_continue_bodies_still_work(server):
    url, api = server
    body = json.dumps(event_body()).encode()
    chunked = api.post(url + "/api/events", data=(body[i:i + 50] for i in range(0, len(body), 50)),
                       headers={"Content-Type": "application/json"}, timeout=10)
    assert chunked.status_code == 201

    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"x-access-token: " + KEY.encode() + b"\r\nExpect: 100-continue\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close"
                     b"\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 201")


def test_clients_that_wait_after_100_continue_hold_no_thread(server):
    url, _api = server
    port = int(url.rsplit(":", 1)[1])
    waiting = []
    try:
        for _ in range(THREADS + 8):  # more than the server has threads
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         b"application/json\r\nExpect: 100-continue\r\n"
                         b"Content-Length: 500\r\n\r\n")
            assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
            waiting.append(sock)  # and never sends its body
        assert timed_health(url) < 2.0
    finally:
        for sock in waiting:
            sock.close()


@pytest.mark.parametrize(("head", "answered"), [
    (b"POST / HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
     b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
    (b"POST / HTTP/1.1\r\nEXPECT: 100-Continue\r\nContent-Length: 1\r\n\r\n",
     b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n"),
    (b"POST / HTTP/1.0\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n", None),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
     None),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n",
     None),
    (b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", None),
])
def test_which_100_continue_the_poller_answers(head, answered):
    from alerting.serving import continue_in_poller

    assert continue_in_poller(head) == answered


@pytest.mark.parametrize(("head", "wanted"), [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0),
    (b"POST / HTTP/1.1\r\ncontent-LENGTH: 12\r\n\r\n", 12),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -1),
    (b"POST / HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n", None),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", None),
])
def test_what_the_poller_reads_ahead(head, wanted):
    from alerting.serving import body_wanted

    assert body_wanted(head) == wanted
