"""Live alerts: the hub, the live page and its buttons in-process, then /ws/events on a real
gunicorn server with real WebSocket clients (websocket-client)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest
import requests
import websocket
from wsproto.connection import Connection, ConnectionType

from alerting.live import LiveMessage, LocalHub, Subscription, origin_allowed, text_frame
from alerting.live.loop import LiveLoop
from tests.support.app import ADMIN_PASSWORD
from tests.support.factories import create_rule, event_body, post_event, rule_body, run_matcher
from tests.support.server import running_server
from tests.support.statements import executed

KEY = "live-admin-key-0123456789"


# -- the hub ---------------------------------------------------------------------------------


def test_publish_never_waits_and_drops_only_the_client_that_fell_behind():
    hub = LocalHub(queue_size=3)
    dropped = []
    keeping_up = hub.subscribe()
    stalled = hub.subscribe(on_drop=lambda: dropped.append("stalled"))
    received = []
    started = time.perf_counter()
    for n in range(10):
        hub.publish(LiveMessage.build("event_created", {"id": n}))
        received.append(keeping_up.get(timeout=0).data["id"])
    assert time.perf_counter() - started < 0.05
    assert received == list(range(10))
    assert stalled.dropped and dropped == ["stalled"] and hub.dropped_total == 1
    assert len(hub) == 1  # the stalled one was removed on overflow; it keeps what it had
    assert [stalled.get(timeout=0).data["id"] for _ in range(3)] == [0, 1, 2]
    hub.unsubscribe(keeping_up)
    assert not hub.formats


def test_the_bound_counts_messages_not_groups():
    hub = LocalHub(queue_size=5)
    stalled = hub.subscribe()
    group = [LiveMessage.build("event_created", {"id": n}) for n in range(3)]
    hub.publish(group)
    assert not stalled.dropped
    hub.publish(group)  # 6 messages would not fit in 5: dropped, though only 2 groups
    assert stalled.dropped and len(hub) == 0
    assert [m.data["id"] for m in stalled.take(timeout=0)] == [0, 1, 2]
    # A group larger than the whole bound still reaches a client that keeps up.
    reader = Subscription(size=2)
    assert reader.offer(tuple(group)) and not reader.offer(group[0])
    assert len(reader.take(timeout=0)) == 3 and reader.offer(group[0])


def test_the_hub_knows_which_forms_to_build():
    hub = LocalHub()
    program = hub.subscribe()
    assert hub.formats == {"json"}
    page = hub.subscribe(fmt="html")
    assert hub.formats == {"json", "html"}
    hub.unsubscribe(program)
    assert hub.formats == {"html"}
    hub.unsubscribe(page)
    assert hub.formats == frozenset()


def test_a_handler_takes_everything_queued_at_once():
    subscription = Subscription(size=100)
    assert subscription.take(timeout=0) == []
    for n in range(5):
        subscription.offer(LiveMessage.build("event_created", {"id": n}))
    assert [m.data["id"] for m in subscription.take(timeout=0, limit=3)] == [0, 1, 2]
    assert [m.data["id"] for m in subscription.take(timeout=0)] == [3, 4]
    assert subscription.take(timeout=0) == []


def live_loop(hub: LocalHub, **caps) -> LiveLoop:
    options = {"queue_size": hub.queue_size, "max_connections": 10, "max_per_principal": 5,
               "ping_seconds": 60, **caps}
    return LiveLoop(hub.subscribe, hub.unsubscribe, **options)


def read_exactly(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(5)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "closed early"
        data += chunk
    return data


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_the_loop_writes_every_client_the_same_frames_in_order(fmt):
    hub = LocalHub()
    loop = live_loop(hub)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        conns = [loop.attach(server, Connection(ConnectionType.SERVER), fmt, False, None)
                 for server, _ in pairs]
        held = LiveMessage.build("alert_created", {"id": 1}, "<p>1</p>")
        hub.publish(held)  # during the catch-up: held, sent after what go_live sends
        for conn in conns:
            loop.go_live(conn, set(), ["hello"])
        messages = [LiveMessage.build("event_created", {"id": 1}),  # no HTML: not for a page
                    LiveMessage.build("alert_created", {"id": 2}, "<p>2</p>"),
                    LiveMessage.build("alert_created", {"id": 3}, "<p>3</p>")]
        hub.publish(messages)
        frames = [m.html_frame if fmt == "html" else m.text_frame for m in [held, *messages]]
        expected = text_frame("hello") + b"".join(frames)
        for _, client in pairs:
            assert read_exactly(client, len(expected)) == expected
    finally:
        for _, client in pairs:
            client.close()
    assert len(hub) <= 1


def test_the_loop_wakes_for_every_publish_after_concurrent_bursts():
    hub = LocalHub(queue_size=100_000)
    loop = live_loop(hub)
    server, client = socket.socketpair()
    client.settimeout(5)
    conn = loop.attach(server, Connection(ConnectionType.SERVER), "json", False, None)
    loop.go_live(conn, set())
    message = LiveMessage.build("event_created", {"id": 1})
    received = 0

    def burst() -> None:
        for _ in range(300):
            hub.publish(message)

    slow = []
    try:
        for _ in range(30):  # bursts from several threads race the loop's wake-up handling
            threads = [threading.Thread(target=burst) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            received += len(read_exactly(client, 900 * len(message.text_frame)))
            started = time.monotonic()  # then one message alone must not wait for a timeout
            hub.publish(message)
            read_exactly(client, len(message.text_frame))
            slow.append(time.monotonic() - started)
    finally:
        client.close()
    assert max(slow) < 0.5, slow


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A short frame masked as a client must mask it."""
    mask = b"mask"
    masked = bytes(byte ^ mask[n % 4] for n, byte in enumerate(payload))
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked


def test_the_loop_answers_pings_and_close_frames_and_counts_connections():
    hub = LocalHub()
    loop = live_loop(hub)
    server, client = socket.socketpair()
    loop.admit("key:1")
    conn = loop.attach(server, Connection(ConnectionType.SERVER), "json", False, "key:1")
    loop.go_live(conn, set())
    assert loop.stats()["open"] == 1
    client.sendall(client_frame(0x9, b"ping"))
    assert read_exactly(client, 6) == b"\x8a\x04ping"  # the pong, same payload
    client.sendall(client_frame(0x8, (1000).to_bytes(2, "big")))
    assert read_exactly(client, 4) == b"\x88\x02\x03\xe8"  # the close answered
    assert conn.done.wait(5)
    assert loop.stats()["open"] == 0 and len(hub) == 0
    client.close()


def test_a_late_call_for_a_closed_client_never_touches_the_one_reusing_its_descriptor():
    hub = LocalHub()
    loop = live_loop(hub)
    server, client = socket.socketpair()
    loop.admit("key:1")
    old = loop.attach(server, Connection(ConnectionType.SERVER), "json", False, "key:1")
    client.close()  # gone without a close frame, before its catch-up ended
    assert old.done.wait(5)
    server, client = socket.socketpair()  # the lowest free numbers: the old client's
    loop.admit("key:1")
    new = loop.attach(server, Connection(ConnectionType.SERVER), "json", False, "key:1")
    loop.go_live(new, set())
    assert new.fd == old.fd
    loop.go_live(old, set(), ["stale"])  # late calls made for the closed client
    loop.close(old)
    loop.send_texts(new, ["fresh"])
    assert read_exactly(client, 7) == b"\x81\x05fresh"
    assert loop.stats()["open"] == 1 and not new.done.is_set()
    client.sendall(client_frame(0x8, (1000).to_bytes(2, "big")))
    assert read_exactly(client, 4) == b"\x88\x02\x03\xe8"
    assert new.done.wait(5)
    assert loop.stats()["open"] == 0
    client.close()


def test_caps_refuse_past_the_process_and_the_key_limits():
    from alerting.live.loop import Refused

    loop = live_loop(LocalHub(), max_connections=3, max_per_principal=2)
    loop.admit("key:1")
    loop.admit("key:1")
    with pytest.raises(Refused, match="key or user"):
        loop.admit("key:1")
    loop.admit("key:2")
    with pytest.raises(Refused, match="3 live connections"):
        loop.admit(None)
    loop.release("key:1")
    loop.admit(None)
    assert loop.stats()["refused_total"] == 2 and loop.stats()["open"] == 3


def test_message_is_built_once_as_json_and_html():
    message = LiveMessage.build("alert_created", {"id": 7, "severity": "high"}, "<p>x</p>")
    assert json.loads(message.text) == {"type": "alert_created",
                                        "data": {"id": 7, "severity": "high"}}
    assert message.alert_id == 7 and message.html == "<p>x</p>"
    assert LiveMessage.build("alert_updated", {"id": 7}).alert_id is None


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 100_000])
def test_a_frame_encoded_once_is_what_wsproto_would_send(size):
    from wsproto.frame_protocol import FrameProtocol

    text = "é" * (size // 2) + "x" * (size % 2)
    assert text_frame(text) == FrameProtocol(client=False, extensions=[]).send_data(text)


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "127.0.0.1:8000", True),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("https://Alerts.Example", "alerts.example", True),
    ("http://alerts.example:80", "alerts.example", True),
    ("https://alerts.example", "alerts.example:443", True),
    ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
    ("http://evil.example", "127.0.0.1:8000", False),
    ("http://alerts.example.evil.example", "alerts.example", False),
    ("null", "127.0.0.1:8000", False),
    ("file://", "127.0.0.1:8000", False),
])
def test_origin_must_be_this_host(origin, host, allowed):
    assert origin_allowed(origin, host) is allowed


# -- in-process: signals to hub, the live page and its buttons -------------------------------


def csrf_from(page: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def log_in(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return csrf_from(client.get("/live").get_data(as_text=True))


def drain(subscription) -> list[LiveMessage]:
    messages = []
    while (message := subscription.get(timeout=0)) is not None:
        messages.append(message)
    return messages


def api_object(app, kind: str, row_id: int) -> dict:
    """The API's event or alert object, as the live messages must carry it."""
    from alerting.extensions import db
    from alerting.models import Alert, Event
    from alerting.services.alerts import alert_json
    from alerting.services.events import event_json

    model, as_json = {"event": (Event, event_json), "alert": (Alert, alert_json)}[kind]
    with app.app_context():
        return as_json(db.session.get(model, row_id))


def test_new_alert_and_acknowledgement_reach_subscribers(app, client, admin_headers):
    from alerting.live import hub

    create_rule(client, admin_headers, severity="critical", zone_ids=["porch"])
    subscription = hub(app).subscribe(fmt="html")
    event = post_event(client, admin_headers, summary="a person at the door")
    assert drain(subscription) == []  # published once matched, with its alerts
    run_matcher(app)

    [stored, created] = drain(subscription)
    assert stored.type == "event_created" and stored.data == api_object(app, "event", event["id"])
    assert 'id="last-event"' in stored.html and "back-door" in stored.html
    assert created.type == "alert_created" and created.data["event_id"] == event["id"]
    assert json.loads(created.text)["data"]["severity"] == "critical"
    alert_id = created.data["id"]
    assert created.data == {**api_object(app, "alert", alert_id), "sound": "default"}
    html = created.html
    assert 'data-sound="default"' in html
    assert 'hx-swap-oob="afterbegin:#alert-list"' in html and f'id="alert-{alert_id}"' in html
    assert "sev-critical" in html and "is-new" in html and "person 91%" in html
    assert "porch" in html and "a person at the door" in html
    assert f'hx-post="/alerts/{alert_id}/acknowledge"' in html
    assert '<span id="unacked-count">1</span>' in html

    token = log_in(client)
    response = client.post(f"/alerts/{alert_id}/acknowledge",
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200 and "acknowledged</span> by admin" in response.text
    assert "HX-Request" in response.headers["Vary"]
    [updated] = drain(subscription)
    assert updated.type == "alert_updated" and updated.data["status"] == "acknowledged"
    assert updated.html.startswith(f'<article id="alert-{alert_id}"')
    assert "Acknowledge</button>" not in updated.html and "Dismiss</button>" in updated.html
    assert '<span id="unacked-count">0</span>' in updated.html
    hub(app).unsubscribe(subscription)


def test_live_page_lists_newest_first_and_connects_with_its_cursor(app, client, admin_headers):
    create_rule(client, admin_headers, severity="low", name="Low rule")
    create_rule(client, admin_headers, severity="high", name="High rule", camera_ids=["gate"])
    post_event(client, admin_headers)
    post_event(client, admin_headers, camera_id="gate")
    run_matcher(app)

    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    log_in(client)
    assert client.get("/").headers["Location"] == "/live"
    page = client.get("/live").get_data(as_text=True)
    assert page.index('id="alert-2"') < page.index('id="alert-1"')
    assert 'ws-connect="/ws/events?format=html&amp;last_id=2"' in page
    assert 'hx-ext="ws"' in page and "vendor/ws.js" in page and "js/live.js" in page
    assert '<span id="unacked-count">2</span>' in page
    assert "<script>" not in page and " on" + "click=" not in page  # CSP-ready: no inline JS


def test_buttons_need_csrf_and_a_stale_click_shows_the_current_state(app, client,
                                                                     admin_headers):
    create_rule(client, admin_headers)
    post_event(client, admin_headers)
    run_matcher(app)
    token = log_in(client)
    assert client.post("/alerts/1/dismiss").status_code == 400  # no CSRF token

    htmx = {"X-CSRFToken": token, "HX-Request": "true"}
    assert client.post("/alerts/1/dismiss", headers=htmx).status_code == 200
    again = client.post("/alerts/1/acknowledge", headers=htmx)  # dismissed elsewhere already
    assert again.status_code == 200 and "status-dismissed" in again.text
    assert client.post("/alerts/99/dismiss", headers=htmx).status_code == 404
    plain = client.post("/alerts/1/dismiss", headers={"X-CSRFToken": token})
    assert plain.status_code == 302 and plain.headers["Location"] == "/live"


def test_no_subscriber_means_no_work(app, client, admin_headers, monkeypatch):
    from alerting import live

    monkeypatch.setattr(live, "alert_views", lambda *_, **__: pytest.fail("built for nobody"))
    monkeypatch.setattr(live, "event_views", lambda *_: pytest.fail("built for nobody"))
    create_rule(client, admin_headers)
    post_event(client, admin_headers)
    assert run_matcher(app) == 1


def test_programs_alone_cost_no_html(app, client, admin_headers, monkeypatch):
    from alerting import live

    monkeypatch.setattr(live, "_fragment", lambda *_, **__: pytest.fail("HTML for nobody"))
    monkeypatch.setattr(live, "unacknowledged_count", lambda: pytest.fail("a count for nobody"))
    create_rule(client, admin_headers)
    subscription = live.hub(app).subscribe()
    event = post_event(client, admin_headers)
    run_matcher(app)
    [stored, created] = drain(subscription)
    assert stored.data == api_object(app, "event", event["id"]) and stored.html == ""
    assert created.data["event_id"] == event["id"] and created.html == ""
    assert created.data == {**api_object(app, "alert", created.data["id"]), "sound": "default"}
    live.hub(app).unsubscribe(subscription)


def test_a_page_alone_gets_one_event_fragment_a_batch(app, client, admin_headers):
    from alerting import live

    subscription = live.hub(app).subscribe(fmt="html")
    batch = [event_body(camera_id=f"cam-{n}") for n in range(3)]
    assert client.post("/api/events", json={"events": batch}, headers=admin_headers).json[
        "created"] == 3
    run_matcher(app)
    [latest] = drain(subscription)
    assert "cam-2" in latest.html and latest.data["camera_id"] == "cam-2"
    live.hub(app).unsubscribe(subscription)


def test_an_event_and_its_alerts_wake_a_client_once(app, client, admin_headers):
    from alerting import live

    create_rule(client, admin_headers, name="one")
    create_rule(client, admin_headers, name="two")
    subscription = live.hub(app).subscribe()
    post_event(client, admin_headers)
    post_event(client, admin_headers, camera_id="elsewhere")  # matches no rule
    post_event(client, admin_headers)
    run_matcher(app)
    # One queue item (one wake-up of the client's handler) for the whole matched batch.
    assert subscription._queue.qsize() == 1 and subscription._queued == 7
    assert [m.type for m in subscription.take(timeout=0)] == [
        "event_created", "alert_created", "alert_created", "event_created",
        "event_created", "alert_created", "alert_created"]
    live.hub(app).unsubscribe(subscription)


def test_a_publish_reads_each_event_with_its_detections_in_one_statement(app, client,
                                                                          admin_headers):
    from alerting import live, signals

    create_rule(client, admin_headers)
    subscription = live.hub(app).subscribe()
    two = post_event(client, admin_headers, detections=[
        {"object_type": "person", "confidence": 0.9, "zone_ids": ["porch"]},
        {"object_type": "car", "confidence": 0.7, "zone_ids": ["drive"]}])
    none = post_event(client, admin_headers, camera_id="elsewhere", detections=[])
    run_matcher(app)
    matched = drain(subscription)
    alert_ids = [m.data["id"] for m in matched if m.type == "alert_created"]
    with executed(app) as statements:
        signals.events_matched.send(app, event_ids=[two["id"], none["id"]],
                                    alert_ids=alert_ids)
    # The alerts, then the events and their detections: not a third for the detections.
    assert len(statements) == 2, statements
    messages = drain(subscription)
    assert [m.type for m in messages] == ["event_created", "alert_created", "event_created"]
    assert messages[0].data == api_object(app, "event", two["id"])
    assert [d["object_type"] for d in messages[0].data["detections"]] == ["person", "car"]
    assert messages[2].data == api_object(app, "event", none["id"])
    assert messages[2].data["detections"] == []
    live.hub(app).unsubscribe(subscription)


# -- a real server, real WebSocket clients ---------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("live")
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY,
                        ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD) as (url, _proc, log_path):
        api = requests.Session()
        api.headers["x-access-token"] = KEY
        rule = api.post(url + "/api/alerts/rules", json=rule_body(camera_ids=["back-door"]))
        assert rule.status_code == 201
        yield url, api, log_path
        api.close()


def ws_url(url: str, query: str = "") -> str:
    return url.replace("http://", "ws://") + "/ws/events" + (f"?{query}" if query else "")


def connect(url: str, query: str = "", **options) -> websocket.WebSocket:
    options.setdefault("header", {"x-access-token": KEY})
    return websocket.create_connection(ws_url(url, query), timeout=10, **options)


def receive(ws, kind: str) -> dict:
    """The next message of `kind`, skipping the others."""
    while True:
        message = json.loads(ws.recv())
        if message["type"] == kind:
            return message["data"]


def handshake_status(url: str, query: str = "", **options) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(url, query, **options)
    return refused.value.status_code


def test_alert_arrives_after_an_http_post(server):
    url, api, _ = server
    ws = connect(url)
    try:
        assert receive(ws, "ready")["last_id"] >= 0
        started = time.monotonic()
        event = api.post(url + "/api/events", json=event_body()).json()
        stored = receive(ws, "event_created")
        alert = receive(ws, "alert_created")
        elapsed = time.monotonic() - started
        assert stored["id"] == event["id"] and stored["camera_id"] == "back-door"
        assert alert["event_id"] == event["id"] and alert["status"] in ("pending", "delivered")
        assert elapsed < 2.0

        api.post(f"{url}/api/alerts/{alert['id']}/acknowledge")
        updated = receive(ws, "alert_updated")
        assert updated["id"] == alert["id"] and updated["status"] == "acknowledged"
        assert updated["acknowledged_by"] == "key:bootstrap"
    finally:
        ws.close()


def test_catch_up_after_a_disconnect_loses_nothing(server):
    url, api, _ = server
    ws = connect(url)
    receive(ws, "ready")
    api.post(url + "/api/events", json=event_body())
    seen = receive(ws, "alert_created")["id"]
    ws.close()

    missed = api.post(url + "/api/events", json={"events": [event_body() for _ in range(25)]})
    assert missed.json()["created"] == 25
    time.sleep(0.3)  # let the matcher turn them into alerts while nobody listens

    # Keep posting while reconnecting: the catch-up and the live stream must meet exactly.
    posting = threading.Thread(target=lambda: [api.post(url + "/api/events", json=event_body())
                                               for _ in range(10)])
    ws = connect(url, f"last_id={seen}", header={},
                 subprotocols=["alerting", KEY])  # the key as a subprotocol, for browsers
    try:
        assert ws.subprotocol == "alerting"
        posting.start()
        ids = []
        while len(ids) < 35:
            message = json.loads(ws.recv())
            if message["type"] == "alert_created":
                ids.append(message["data"]["id"])
            elif message["type"] == "ready":
                ready = len(ids)
                assert message["data"]["last_id"] == ids[-1]
        assert ready >= 25  # every missed alert came before the ready message
        assert ids == list(range(seen + 1, seen + 36))  # in order, none lost, none twice
    finally:
        posting.join()
        ws.close()


@pytest.fixture
def closing():
    """Sockets to close whatever the test's outcome (a leaked one fails a later test)."""
    sockets: list = []
    yield sockets.append
    for each in sockets:
        each.close()


def test_a_stalled_client_does_not_block_the_others(server, closing):
    url, api, log_path = server
    # A client that never reads, with a tiny receive buffer, so the server backs up at once.
    stalled = connect(url, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    closing(stalled)
    stalled_first = receive(stalled, "ready")["last_id"]
    keeping_up = connect(url)
    closing(keeping_up)
    receive(keeping_up, "ready")
    alerts: list[int] = []
    finished = threading.Event()

    def read():
        try:
            while len(alerts) < 3000:
                message = json.loads(keeping_up.recv())
                if message["type"] == "alert_created":
                    alerts.append(message["data"]["id"])
        except websocket.WebSocketException:
            pass  # dropped too: the assertion below says so
        finally:
            finished.set()

    reader = threading.Thread(target=read)
    reader.start()
    # 6,000 big messages (an event and an alert each): more than the stalled client's socket
    # buffers and its queue of 4,096 hold, so the server must drop it to keep its promise.
    # The keeping-up client is let read each batch before the next: a burst larger than its
    # queue would drop it too, by design (it may reconnect with its last id).
    summary = "x" * 3500
    for n in range(3):
        batch = [event_body(summary=summary) for _ in range(1000)]
        assert api.post(url + "/api/events", json={"events": batch}).status_code == 201
        deadline = time.monotonic() + 30
        while len(alerts) < 1000 * (n + 1) and not finished.is_set() \
                and time.monotonic() < deadline:
            time.sleep(0.01)
    last_post = time.monotonic()
    finished.wait(30)
    assert len(alerts) == 3000, f"the other client got {len(alerts)} of 3000 alerts"
    assert time.monotonic() - last_post < 10
    assert alerts == sorted(alerts) and len(set(alerts)) == 3000
    reader.join()
    keeping_up.close()

    # The stalled client was dropped: it gets what was already on its way, then the end.
    stalled.settimeout(10)
    got: list[int] = []
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            message = json.loads(stalled.recv())
            if message["type"] == "alert_created":
                got.append(message["data"]["id"])
    stalled.close()
    assert len(got) < 3000
    assert "messages behind and was dropped" in log_path.read_text()
    # ...and reconnecting with the last id it saw gives it the rest.
    resumed = connect(url, f"last_id={got[-1] if got else stalled_first}")
    try:
        rest = []
        while (message := json.loads(resumed.recv()))["type"] != "ready":
            rest.append(message["data"]["id"])
        assert got + rest == alerts
    finally:
        resumed.close()


def _logged_in_cookie(url: str) -> str:
    browser = requests.Session()
    page = browser.get(url + "/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    landed = browser.post(url + "/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                                "csrf_token": token})
    assert landed.url.endswith("/live")
    return "session=" + browser.cookies["session"]


def _quiet_alert(url, api) -> dict:
    """A new alert of a rule with no channels, on a camera of its own: the API's object."""
    camera = f"shed-{time.monotonic_ns()}"
    rule = api.post(url + "/api/alerts/rules",
                    json=rule_body(camera_ids=[camera], channels=[], name=f"Quiet {camera}"))
    assert rule.status_code == 201, rule.text
    api.post(url + "/api/events", json=event_body(camera_id=camera))
    deadline = time.monotonic() + 10
    alerts_of = {"camera_id": camera}
    while not (found := api.get(url + "/api/alerts", params=alerts_of).json()["alerts"]):
        assert time.monotonic() < deadline, "no alert"
        time.sleep(0.05)
    [alert] = found
    return alert


def test_a_foreign_origin_is_refused_even_with_a_session(server):
    url, api, _ = server
    cookie = _logged_in_cookie(url)
    assert handshake_status(url, "format=html", header={}, cookie=cookie,
                            origin="http://evil.example") == 403
    assert handshake_status(url, header={"x-access-token": KEY},
                            origin="http://127.0.0.1:1") == 403
    alert = _quiet_alert(url, api)  # the catch-up's row: not one an earlier test left
    same_site = connect(url, f"format=html&last_id={alert['id'] - 1}", header={},
                        cookie=cookie, origin=url)
    try:
        assert 'hx-swap-oob="afterbegin:#alert-list"' in same_site.recv()
    finally:
        same_site.close()


def test_the_page_catch_up_words_an_alert_of_a_rule_with_no_channels(server):
    """A page that loaded before the alert existed gets its row by the catch-up; the row must
    say "no channels" as the page's own rows do, not "delivered" (PostgreSQL's matcher thread
    often makes the alert after the page's render)."""
    url, api, _ = server
    alert = _quiet_alert(url, api)
    assert alert["status"] == "delivered"
    ws = connect(url, f"format=html&last_id={alert['id'] - 1}", header={},
                 cookie=_logged_in_cookie(url), origin=url)
    try:
        row = ws.recv()
        assert f'id="alert-{alert["id"]}"' in row
        assert re.search(r'class="status-word">\s*no channels', row), row
    finally:
        ws.close()


def test_an_unauthenticated_client_is_refused(server):
    url, api, _ = server
    assert handshake_status(url, header={}) == 401
    assert handshake_status(url, header={"x-access-token": "wrong"}) == 401
    assert handshake_status(url, header={}, subprotocols=[KEY]) == 400  # "alerting" missing
    ingest_only = api.post(url + "/api/keys", json={"name": "camera", "scope": "ingest"})
    assert handshake_status(url, header={"x-access-token": ingest_only.json()["key"]}) == 403
    reader = api.post(url + "/api/keys", json={"name": "dashboard", "scope": "read"}).json()
    ws = connect(url, f"access_token={reader['key']}", header={})
    try:
        assert receive(ws, "ready")["last_id"] >= 0
    finally:
        ws.close()
    assert requests.get(url + "/ws/events", headers={"x-access-token": KEY}).status_code == 400


def test_the_rules_sound_is_in_the_live_message_and_its_file_is_served(app, client,
                                                                       admin_headers):
    import io
    import wave

    from alerting.live import hub

    create_rule(client, admin_headers, sound="alarm")
    html, as_json = hub(app).subscribe(fmt="html"), hub(app).subscribe(fmt="json")
    post_event(client, admin_headers)
    run_matcher(app)
    [created] = [m for m in drain(html) if m.type == "alert_created"]
    assert 'data-sound="alarm"' in created.html
    [created] = [m for m in drain(as_json) if m.type == "alert_created"]
    assert json.loads(created.text)["data"]["sound"] == "alarm"
    for name in ("chime", "alarm"):
        with client.get(f"/static/sounds/{name}.wav") as response:
            assert response.status_code == 200
            data = response.data
        with wave.open(io.BytesIO(data)) as clip:
            assert clip.getnchannels() == 1 and 0.3 < clip.getnframes() / clip.getframerate() < 2
    hub(app).unsubscribe(html)
    hub(app).unsubscribe(as_json)
