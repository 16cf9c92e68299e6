"""The VideoDB-compatible API through the Flask test client: envelopes, route order, real
statuses, validation errors as {"success": false, "message"} with a 4xx (never a 500), the
rule behind each alert, the webhook body of its deliveries, and the WebSocket token."""

from __future__ import annotations

import pytest

from alerting.extensions import db
from alerting.models import AlertRule
from alerting.services import deliveries, keys
from alerting.videodb import socket as videodb_socket
from tests.support.app import make_key
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.videodb import (
    JSON,
    event,
    fails,
    ok,
    scene_index,
    stream,
)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app), **JSON}


def alert(client, headers, world, **body):
    sid, iid, eid = world
    body = {"event_id": eid, "callback_url": "https://93.184.215.14/a", **body}
    return ok(client.post(f"/rtstream/{sid}/index/{iid}/alert", json=body,
                          headers=headers))["alert_id"]


# --- the happy path, shape by shape -----------------------------------------------------------


def test_collection(client, headers):
    assert ok(client.get("/collection/default", headers=headers)) == {
        "id": "default", "name": "default",
        "description": "The one collection of this alerting server", "is_public": False}
    assert "'default'" in fails(client.get("/collection/c-other", headers=headers), 404)


def test_stream_create_get_list_and_status(client, headers):
    created = stream(client, headers, sample_rate=30, store=True)
    assert created["id"].startswith("rts-")
    assert {k: created[k] for k in ("name", "collection_id", "sample_rate", "status",
                                    "stream_url", "player_url", "url", "store")} == {
        "name": "Front door", "collection_id": "default", "sample_rate": 30,
        "status": "connected", "stream_url": None, "player_url": None,
        "url": "rtsp://cam.local/1", "store": True}
    assert created["created_at"].endswith("Z")
    assert ok(client.get(f"/rtstream/{created['id']}", headers=headers)) == created
    stopped = ok(client.patch(f"/rtstream/{created['id']}/status", json={"action": "stop"},
                              headers=headers))
    assert stopped["status"] == "stopped"
    other = stream(client, headers, name="Back yard")
    listed = ok(client.get("/rtstream", headers=headers))
    assert [s["id"] for s in listed["results"]] == [other["id"], created["id"]]
    assert listed["count"] == 2
    by_name = ok(client.get("/rtstream?name=YARD&ordering=name", headers=headers))
    assert [s["id"] for s in by_name["results"]] == [other["id"]]
    by_status = ok(client.get("/rtstream?status=stopped", headers=headers))
    assert [s["id"] for s in by_status["results"]] == [created["id"]]
    page = ok(client.get("/rtstream?limit=1&offset=1&ordering=created_at", headers=headers))
    assert [s["id"] for s in page["results"]] == [other["id"]] and page["count"] == 2


def test_scene_indexes_and_records(app, client, headers):
    sid = stream(client, headers)["id"]
    first = scene_index(client, headers, sid)
    assert first["rtstream_index_id"].startswith("idx-") and first["status"] == "connected"
    assert first["extraction_config"] == {"time": 2, "frame_count": 5}
    second = scene_index(client, headers, sid, name=None, extraction_type=None, sandbox_id="x")
    assert second["extraction_type"] == "time" and second["name"] is None
    listed = ok(client.get(f"/rtstream/{sid}/index/scene", headers=headers))["scene_indexes"]
    assert [i["rtstream_index_id"] for i in listed] == [first["rtstream_index_id"],
                                                         second["rtstream_index_id"]]
    iid = first["rtstream_index_id"]
    assert ok(client.get(f"/rtstream/{sid}/index/{iid}", headers=headers)) == first
    stopped = ok(client.patch(f"/rtstream/{sid}/index/scene/{iid}/status",
                              json={"action": "stop"}, headers=headers))
    assert stopped["status"] == "stopped"

    for n, started in enumerate(("2026-01-15T10:00:00Z", "2026-01-15T10:00:10Z",
                                 "2026-01-15T10:00:20Z")):
        post_event(client, headers, camera_id=sid, scene_index_id=iid, summary=f"scene {n}",
                   labels=["person"], started_at=started, detections=[],
                   attributes={"frame": n})
    post_event(client, headers, camera_id=sid, scene_index_id=second["rtstream_index_id"],
               summary="other index", detections=[])
    url = f"/rtstream/{sid}/index/scene/{iid}"
    page = ok(client.get(url + "?page=1&page_size=2", headers=headers))
    assert [r["description"] for r in page["scene_index_records"]] == ["scene 0", "scene 1"]
    assert page["next_page"] is True
    record = page["scene_index_records"][0]
    assert record == {**record, "start": 1768471200.0, "end": 1768471200.0,
                      "labels": ["person"], "metadata": {"frame": 0}}
    page = ok(client.get(url + "?page=2&page_size=2", headers=headers))
    assert [r["description"] for r in page["scene_index_records"]] == ["scene 2"]
    assert page["next_page"] is False
    window = ok(client.get(url + "?start=1768471205&end=1768471210", headers=headers))
    assert [r["description"] for r in window["scene_index_records"]] == ["scene 1"]


def test_events(client, headers):
    first = event(client, headers, "intrusion")
    second = event(client, headers, "fall", "Someone falls")
    assert first.startswith("event-") and first != second
    listed = ok(client.get("/rtstream/event", headers=headers))["events"]
    assert [(e["event_id"], e["label"], e["event_prompt"]) for e in listed] == [
        (first, "intrusion", "Someone climbs the fence"), (second, "fall", "Someone falls")]


def test_alert_create_list_and_both_status_forms(app, client, headers, world):
    sid, iid, eid = world
    aid = alert(client, headers, world)
    assert aid.startswith("alert-")
    url = f"/rtstream/{sid}/index/{iid}/alert"
    [listed] = ok(client.get(url, headers=headers))["alerts"]
    assert listed == {**listed, "alert_id": aid, "event_id": eid, "label": "intrusion",
                      "prompt": "Someone climbs the fence", "status": "enabled",
                      "callback_url": "https://93.184.215.14/a"}
    rule_url = f"/api/alerts/rules/{listed['rule_id']}"
    for body, status in (({"action": "disable"}, "disabled"), ({"action": "enable"}, "enabled"),
                         ({"status": "disabled"}, "disabled"), ({"status": "enabled"}, "enabled"),
                         ({"action": "DISABLE", "status": "disabled"}, "disabled")):
        data = ok(client.patch(f"{url}/{aid}/status", json=body, headers=headers))
        assert data == {"alert_id": aid, "status": status}
        assert ok(client.get(url, headers=headers))["alerts"][0]["status"] == status
        rule = client.get(rule_url, headers=headers).json
        assert rule["enabled"] is (status == "enabled")


def test_an_alert_is_a_rule_like_any_other(app, client, headers, world):
    sid, iid, eid = world
    hooked = alert(client, headers, world)
    socket_only = alert(client, headers, world, callback_url="", ws_connection_id="conn-1")
    listed = {a["alert_id"]: a for a in ok(client.get(f"/rtstream/{sid}/index/{iid}/alert",
                                                      headers=headers))["alerts"]}
    rule = client.get(f"/api/alerts/rules/{listed[hooked]['rule_id']}", headers=headers).json
    assert {k: rule[k] for k in ("camera_ids", "conditions", "cooldown_seconds", "channels",
                                 "targets", "enabled", "description")} == {
        "camera_ids": [sid],
        "conditions": [{"field": "labels", "op": "contains", "value": "intrusion"}],
        "cooldown_seconds": 0, "channels": ["webhook"],
        "targets": {"webhook_url": "https://93.184.215.14/a", "email_recipients": None,
                    "push_urls": None},
        "enabled": True, "description": "Someone climbs the fence"}
    quiet = client.get(f"/api/alerts/rules/{listed[socket_only]['rule_id']}",
                       headers=headers).json
    assert quiet["channels"] == [] and quiet["targets"] is None
    assert listed[socket_only]["ws_connection_id"] == "conn-1"
    with app.app_context():
        origins = {r.origin for r in db.session.query(AlertRule)}
    assert origins == {"videodb"}


def test_webhook_body_is_videodb_shape_only_for_videodb_rules(app, client, headers, world):
    sid, iid, eid = world
    aid = alert(client, headers, world)
    create_rule(client, headers, name="Plain rule", object_types=None, camera_ids=[sid],
                channels=["webhook"], targets={"webhook_url": "https://93.184.215.14/p"})
    post_event(client, headers, camera_id=sid, scene_index_id=iid, labels=["INTRUSION"],
               summary="Someone on the fence", started_at="2026-01-15T10:30:45Z",
               ended_at="2026-01-15T10:30:47.8Z",
               detections=[{"object_type": "person", "confidence": 0.7},
                           {"object_type": "intrusion", "confidence": 0.9}])
    assert run_matcher(app) == 1
    with app.app_context():
        claimed = {c.target: c.message.webhook_body for c in deliveries.claim_due(10)}
    assert claimed["https://93.184.215.14/a"] == {
        "event_id": eid, "label": "intrusion", "confidence": 0.9,
        "explanation": "Someone on the fence", "timestamp": "2026-01-15T10:30:45Z",
        "start_time": 1768473045.0, "end_time": 1768473047.8, "stream_url": None,
        "player_url": None, "alert_id": aid, "rtstream_id": sid, "rtstream_index_id": iid,
        "event_label": "intrusion", "text": "Someone on the fence"}
    assert claimed["https://93.184.215.14/p"]["type"] == "alert.created"


# --- route order ------------------------------------------------------------------------------


def test_static_segments_win(client, headers, world):
    sid, iid, eid = world
    # /rtstream/event is the events, not a stream called "event".
    assert ok(client.get("/rtstream/event", headers=headers))["events"][0]["event_id"] == eid
    # /index/scene is the list of indexes, not an index called "scene".
    assert "scene_indexes" in ok(client.get(f"/rtstream/{sid}/index/scene", headers=headers))
    # /index/scene/<iid> is the records; /index/<iid> the index itself.
    assert "scene_index_records" in ok(client.get(f"/rtstream/{sid}/index/scene/{iid}",
                                                  headers=headers))
    assert ok(client.get(f"/rtstream/{sid}/index/{iid}",
                         headers=headers))["rtstream_index_id"] == iid
    assert "RTStream 'event'" in fails(client.patch("/rtstream/event/status",
                                                    json={"action": "stop"},
                                                    headers=headers), 404)


# --- errors -----------------------------------------------------------------------------------


def test_authentication_and_scopes(app, client):
    assert "x-access-token" in fails(client.get("/rtstream", headers=JSON), 401)
    fails(client.get("/rtstream", headers={"x-access-token": "ak_wrong", **JSON}), 401)
    fails(client.get("/collection/default/websocket", headers=JSON), 401)
    read = {"x-access-token": make_key(app, "read"), **JSON}
    ok(client.get("/rtstream", headers=read))
    fails(client.post("/rtstream/event", json={"event_prompt": "p", "label": "l"},
                      headers=read), 403)
    ingest = {"x-access-token": make_key(app, "ingest"), **JSON}
    fails(client.get("/rtstream/event", headers=ingest), 403)


def test_not_found(client, headers, world):
    sid, iid, eid = world
    other = stream(client, headers, name="Other")["id"]
    assert fails(client.get("/rtstream/rts-nope", headers=headers), 404) == \
        "RTStream 'rts-nope' not found"
    fails(client.get("/rtstream/rts-nope/index/scene", headers=headers), 404)
    fails(client.get(f"/rtstream/{sid}/index/idx-nope", headers=headers), 404)
    # An index is found only under its own stream.
    fails(client.get(f"/rtstream/{other}/index/{iid}", headers=headers), 404)
    fails(client.get(f"/rtstream/{other}/index/scene/{iid}", headers=headers), 404)
    message = fails(client.post(f"/rtstream/{sid}/index/{iid}/alert",
                                json={"event_id": "event-nope", "callback_url": "https://x.io"},
                                headers=headers), 404)
    assert message == "Event 'event-nope' not found"
    fails(client.patch(f"/rtstream/{sid}/index/{iid}/alert/alert-nope/status",
                       json={"action": "enable"}, headers=headers), 404)
    aid = alert(client, headers, world)
    other_index = scene_index(client, headers, sid)["rtstream_index_id"]
    fails(client.patch(f"/rtstream/{sid}/index/{other_index}/alert/{aid}/status",
                       json={"action": "enable"}, headers=headers), 404)
    fails(client.get("/rtstream/" + "x" * 5000, headers=headers), 404)
    fails(client.get("/rtstream/a/b/c/d/e/f/g", headers=headers), 404)
    fails(client.get("/collection/default/nothing", headers=headers), 404)


def test_wrong_method_is_405_in_the_envelope(client, headers):
    fails(client.delete("/rtstream", headers=headers), 405)
    fails(client.put("/rtstream/event", json={}, headers=headers), 405)


@pytest.mark.parametrize(("path", "body"), [
    ("/rtstream", None),
    ("/rtstream", "not json"),
    ("/rtstream", "[1, 2]"),
    ("/rtstream", {"name": "x"}),
    ("/rtstream", {"url": "rtsp://x"}),
    ("/rtstream", {"url": "", "name": "x"}),
    ("/rtstream", {"url": 5, "name": "x"}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "media_types": ["smell"]}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "media_types": []}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "media_types": "video"}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "sample_rate": 0}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "sample_rate": "30"}),
    ("/rtstream", {"url": "rtsp://x", "name": "x", "store": "yes"}),
    ("/rtstream", {"url": "rtsp://x", "name": "x" * 256}),
    ("/rtstream", {"url": "rtsp://x", "name": "a\x00b"}),
    ("/rtstream/event", {}),
    ("/rtstream/event", {"event_prompt": "p"}),
    ("/rtstream/event", {"event_prompt": "p", "label": ""}),
    ("/rtstream/event", {"event_prompt": "p", "label": ["x"]}),
    ("/rtstream/event", {"event_prompt": "p" * 2001, "label": "x"}),
    ("{stream}/index/scene", {"extraction_config": "time=2"}),
    ("{stream}/index/scene", {"model_config": {"x": "y" * 20000}}),
    ("{stream}/index/scene", {"prompt": 7}),
    ("{stream}/index/scene", {"extraction_config": {"bad": "\ud800"}}),
    ("{index}/alert", {}),
    ("{index}/alert", {"event_id": "{event}"}),
    ("{index}/alert", {"event_id": "{event}", "callback_url": ""}),
    ("{index}/alert", {"event_id": "{event}", "callback_url": "ftp://x"}),
    ("{index}/alert", {"event_id": "{event}", "callback_url": "not a url"}),
    ("{index}/alert", {"event_id": "{event}", "callback_url": 5}),
    ("{index}/alert", {"event_id": 5, "callback_url": "https://x.io"}),
    ("{index}/alert", {"event_id": "{event}", "ws_connection_id": ["c"]}),
])
def test_bad_bodies_are_422(client, headers, world, path, body):
    sid, iid, eid = world
    path = path.format(stream=f"/rtstream/{sid}", index=f"/rtstream/{sid}/index/{iid}")
    if isinstance(body, dict):
        body = {k: v.format(event=eid) if isinstance(v, str) and "{" in v else v
                for k, v in body.items()}
        response = client.post(path, json=body, headers=headers)
    else:
        response = client.post(path, data=body, headers=headers)
    fails(response, 422)


@pytest.mark.parametrize(("path", "body"), [
    ("/rtstream/{sid}/status", {}),
    ("/rtstream/{sid}/status", {"action": "pause"}),
    ("/rtstream/{sid}/index/scene/{iid}/status", {"action": None}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status", {}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status", {"action": "on"}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status", {"status": "enable"}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status", {"status": True}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status",
     {"action": "enable", "status": "disabled"}),
    ("/rtstream/{sid}/index/{iid}/alert/{aid}/status", None),
])
def test_bad_status_changes_are_422(client, headers, world, path, body):
    sid, iid, _ = world
    aid = alert(client, headers, world)
    path = path.format(sid=sid, iid=iid, aid=aid)
    if body is None:
        response = client.patch(path, data="", headers=headers)
    else:
        response = client.patch(path, json=body, headers=headers)
    fails(response, 422)


@pytest.mark.parametrize("query", [
    "/rtstream?limit=0", "/rtstream?limit=abc", "/rtstream?limit=1001", "/rtstream?offset=-1",
    "/rtstream?ordering=bogus", "/rtstream?limit=%D9%A5",
    "{records}?page=0", "{records}?page_size=0", "{records}?page_size=5000",
    "{records}?start=yesterday&end=1", "{records}?start=nan&end=1", "{records}?start=1e300",
    "{records}?start=20&end=10",
])
def test_bad_queries_are_422(client, headers, world, query):
    sid, iid, _ = world
    fails(client.get(query.format(records=f"/rtstream/{sid}/index/scene/{iid}"),
                     headers=headers), 422)


# --- the WebSocket URL and its token ----------------------------------------------------------

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


def socket_token(client, headers):
    url = ok(client.get("/collection/default/websocket", headers=headers))["websocket_url"]
    assert url.startswith("ws://localhost/ws/videodb?token=")
    return url.split("token=", 1)[1]


def test_websocket_url_and_the_token_checks(app, client, headers, monkeypatch):
    fails(client.get("/collection/other/websocket", headers=headers), 404)
    token = socket_token(client, headers)
    assert fails(client.get("/ws/videodb?token=" + token + "x", headers=UPGRADE), 401) == \
        "Invalid WebSocket token"
    assert "required" in fails(client.get("/ws/videodb", headers=UPGRADE), 401)
    foreign = {**UPGRADE, "Origin": "https://elsewhere.example"}
    fails(client.get("/ws/videodb?token=" + token, headers=foreign), 403)
    monkeypatch.setattr(videodb_socket, "TOKEN_SECONDS", -1)
    assert "expired" in fails(client.get("/ws/videodb?token=" + token, headers=UPGRADE), 401)


def test_a_revoked_key_cannot_use_its_token(app, client):
    raw = make_key(app, "read")
    token = socket_token(client, {"x-access-token": raw, **JSON})
    with app.app_context():
        key = keys.list_keys()[-1]
        keys.revoke_key(key.id, actor="test")
    assert "revoked" in fails(client.get("/ws/videodb?token=" + token, headers=UPGRADE), 401)


def test_auth_off_works_without_a_key(tmp_path):
    from tests.support.app import make_app

    app = make_app(tmp_path, AUTH=False)
    client = app.test_client()
    ok(client.get("/rtstream", headers=JSON))
    assert socket_token(client, JSON)
