"""The official videodb SDK (0.5.1) against a real gunicorn server: streams, scene indexes,
events, alerts with a callback URL (a loopback receiver), disable / enable, the SDK's own
WebSocket receiving an alert frame, and the error paths."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import videodb
from videodb.exceptions import AuthenticationError, InvalidRequestError

from tests.support.server import running_server, wait_for

KEY = "videodb-sdk-admin-key-0123456789"
HEADERS = {"x-access-token": KEY}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("videodb-sdk")
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY,
                        ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8") as (url, _proc, _log):
        yield url


@pytest.fixture
def conn(server):
    return videodb.connect(api_key=KEY, base_url=server)


def post_record(url, stream_id, index_id, labels, summary="A person at the gate", **extra):
    """A scene record, as a detector or a vision model sends it."""
    body = {"camera_id": stream_id, "scene_index_id": index_id, "summary": summary,
            "labels": labels, "started_at": "2026-01-15T10:30:45Z",
            "ended_at": "2026-01-15T10:30:47.800Z", **extra}
    response = requests.post(url + "/api/events", json=body, headers=HEADERS, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def processed(url, event_id):
    """The event once the matcher has been through it, with the alerts it made."""
    def done():
        body = requests.get(f"{url}/api/events/{event_id}", headers=HEADERS, timeout=10).json()
        return body if body["processed_at"] else None

    return wait_for(done)


def test_streams_scene_indexes_records_and_events(conn, server):
    coll = conn.get_collection()
    assert (coll.id, coll.name) == ("default", "default")
    rts = coll.connect_rtstream(url="rtsp://gate.local/stream", name="Gate camera")
    assert rts.id.startswith("rts-") and rts.status == "connected"
    assert rts.collection_id == "default" and rts.created_at
    assert coll.get_rtstream(rts.id).name == "Gate camera"
    assert rts.id in [s.id for s in coll.list_rtstreams(name="gate", ordering="-created_at")]
    rts.stop()
    assert coll.get_rtstream(rts.id).status == "stopped"
    rts.start()
    assert coll.get_rtstream(rts.id).status == "connected"

    visuals = rts.index_visuals(prompt="Describe people at the gate", name="gate-visuals",
                                batch_config={"type": "time", "value": 5, "frame_count": 2})
    scenes = rts.index_scenes(prompt="Describe the scene", name="gate-scenes")
    assert visuals.rtstream_index_id.startswith("idx-") and visuals.name == "gate-visuals"
    assert visuals.extraction_config == {"time": 5, "frame_count": 2}
    listed = rts.list_scene_indexes()
    assert [i.rtstream_index_id for i in listed] == [visuals.rtstream_index_id,
                                                     scenes.rtstream_index_id]
    again = rts.get_scene_index(scenes.rtstream_index_id)
    assert (again.rtstream_index_id, again.prompt) == (scenes.rtstream_index_id,
                                                        "Describe the scene")
    scenes.stop()
    scenes.start()

    assert scenes.get_scenes() == {"scenes": [], "next_page": False}
    post_record(server, rts.id, scenes.rtstream_index_id, ["person"], summary="first")
    post_record(server, rts.id, scenes.rtstream_index_id, ["person"], summary="second")
    post_record(server, rts.id, visuals.rtstream_index_id, ["car"], summary="elsewhere")
    page = scenes.get_scenes(page=1, page_size=1)
    assert [r["description"] for r in page["scenes"]] == ["first"] and page["next_page"]
    page = scenes.get_scenes(page=2, page_size=1)
    assert [r["description"] for r in page["scenes"]] == ["second"] and not page["next_page"]
    [record, _] = scenes.get_scenes(start=1768473000, end=1768473100)["scenes"]
    assert record["start"] == 1768473045.0 and record["end"] == 1768473047.8
    assert record["labels"] == ["person"]

    event_id = conn.create_event(event_prompt="Someone climbs the gate", label="climbing")
    assert event_id.startswith("event-")
    [event] = [e for e in conn.list_events() if e["event_id"] == event_id]
    assert event["label"] == "climbing" and event["event_prompt"] == "Someone climbs the gate"


def test_alert_with_callback_url_disable_and_enable(conn, server, httpserver):
    httpserver.expect_request("/videodb-hook", method="POST").respond_with_data("ok")
    callback_url = httpserver.url_for("/videodb-hook")
    rts = conn.get_collection().connect_rtstream(url="rtsp://dock.local/1", name="Dock")
    index = rts.index_visuals(prompt="Describe the dock", name="dock")
    event_id = conn.create_event(event_prompt="A forklift blocks the exit", label="blocked_exit")

    alert_id = index.create_alert(event_id, callback_url=callback_url)
    assert alert_id.startswith("alert-")
    [listed] = index.list_alerts()
    assert listed == {**listed, "alert_id": alert_id, "event_id": event_id,
                      "label": "blocked_exit", "prompt": "A forklift blocks the exit",
                      "callback_url": callback_url, "status": "enabled"}

    record = post_record(server, rts.id, index.rtstream_index_id, ["forklift", "blocked_exit"],
                         summary="A forklift stands in front of the exit door",
                         attributes={"confidence": 0.93})
    wait_for(lambda: len(httpserver.log) == 1)
    request, _ = httpserver.log[0]
    assert request.headers["webhook-id"]  # receivers de-duplicate on it
    body = request.get_json()
    assert body == {
        "event_id": event_id, "label": "blocked_exit", "confidence": 0.93,
        "explanation": "A forklift stands in front of the exit door",
        "timestamp": "2026-01-15T10:30:45Z", "start_time": 1768473045.0,
        "end_time": 1768473047.8, "stream_url": None, "player_url": None,
        "alert_id": alert_id, "rtstream_id": rts.id,
        "rtstream_index_id": index.rtstream_index_id, "event_label": "blocked_exit",
        "text": "A forklift stands in front of the exit door",
    }
    # The same rule as any other: it is in the alert history.
    [alert] = processed(server, record["id"])["alerts"]
    assert alert["camera_id"] == rts.id

    other = post_record(server, rts.id, index.rtstream_index_id, ["forklift"])
    assert processed(server, other["id"])["alerts"] == []

    index.disable_alert(alert_id)
    assert index.list_alerts()[0]["status"] == "disabled"
    quiet = post_record(server, rts.id, index.rtstream_index_id, ["blocked_exit"])
    assert processed(server, quiet["id"])["alerts"] == []

    index.enable_alert(alert_id)
    assert index.list_alerts()[0]["status"] == "enabled"
    post_record(server, rts.id, index.rtstream_index_id, ["blocked_exit"], summary="again")
    wait_for(lambda: len(httpserver.log) == 2)
    assert httpserver.log[1][0].get_json()["explanation"] == "again"
    time.sleep(0.3)
    assert len(httpserver.log) == 2  # nothing was sent for the disabled time, nor twice


def test_websocket_receives_the_alert_bound_to_its_connection(conn, server):
    rts = conn.get_collection().connect_rtstream(url="rtsp://lobby.local/1", name="Lobby")
    index = rts.index_visuals(prompt="Describe the lobby", name="lobby")
    mine = conn.create_event(event_prompt="Someone falls", label="fall")
    theirs = conn.create_event(event_prompt="Someone runs", label="running")

    async def scenario():
        ws = conn.connect_websocket()
        assert ws.url.startswith("ws://127.0.0.1:") and "token=" in ws.url
        await ws.connect()
        try:
            assert ws.connection_id.startswith("conn-")
            # Bound to another connection: never sent to this one.
            await asyncio.to_thread(index.create_alert, theirs, "", "conn-someone-else")
            alert_id = await asyncio.to_thread(index.create_alert, mine, "", ws.connection_id)
            await asyncio.to_thread(post_record, server, rts.id, index.rtstream_index_id,
                                    ["running"], "Someone runs across")
            await asyncio.to_thread(post_record, server, rts.id, index.rtstream_index_id,
                                    ["fall"], "Someone falls near the desk",
                                    detections=[{"object_type": "fall", "confidence": 0.88}])
            frames = ws.receive()
            frame = await asyncio.wait_for(anext(frames), 20)
            await frames.aclose()
            return alert_id, frame
        finally:
            await ws.close()

    # Its own thread: another test's Playwright (sync API) may own this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        alert_id, frame = pool.submit(asyncio.run, scenario()).result()
    assert frame == {
        "channel": "alert", "rtstream_id": rts.id,
        "data": {"alert_id": alert_id, "event_id": mine, "label": "fall", "event_label": "fall",
                 "triggered": True, "confidence": 0.88, "text": "Someone falls near the desk",
                 "explanation": "Someone falls near the desk",
                 "timestamp": "2026-01-15T10:30:45Z", "start": 1768473045000,
                 "end": 1768473047800, "rtstream_index_id": index.rtstream_index_id},
    }


def test_websocket_refuses_a_bad_token(server):
    response = requests.get(server + "/ws/videodb?token=forged", timeout=10, headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": "Invalid WebSocket token"}


def test_errors_reach_the_sdk_as_its_exceptions(conn, server):
    with pytest.raises(AuthenticationError):
        videodb.connect(api_key="not-a-key", base_url=server).get_collection()
    rts = conn.get_collection().connect_rtstream(url="rtsp://yard.local/1", name="Yard")
    index = rts.index_visuals(prompt="Describe the yard")
    with pytest.raises(InvalidRequestError) as raised:
        index.create_alert("event-0000000000000000", callback_url="https://example.com/hook")
    assert "Event 'event-0000000000000000' not found" in str(raised.value)
    assert raised.value.response.status_code == 404
    with pytest.raises(InvalidRequestError) as raised:
        conn.get_collection().get_rtstream("rts-missing")
    assert "RTStream 'rts-missing' not found" in str(raised.value)
