"""The document's request side, sent to the routes: each request body's example is accepted,
and the documented request schema refuses exactly what the route refuses (the same model)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import jsonschema
import pytest

from alerting.api.openapi import build_document
from alerting.schemas.videodb import MAX_UNIX_SECONDS
from tests.support.app import make_key
from tests.support.factories import create_rule
from tests.support.videodb import event, ok, scene_index, stream

LATEST = 7258118400  # 2200-01-01 in epoch seconds: event times stop before it


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app, "admin")}


def _schema(doc, schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def test_every_request_body_has_an_example_the_route_accepts(app, client, headers):
    doc = build_document(app)
    sid = stream(client, headers)["id"]
    ids = {"rule_id": create_rule(client, headers)["id"], "stream_id": sid,
           "index_id": scene_index(client, headers, sid)["rtstream_index_id"]}
    event_id = event(client, headers)
    # What a path names is created first: the alert, the silence, the mute timing.
    operations = sorted(((path, method, op) for path, item in doc["paths"].items()
                         for method, op in item.items() if "requestBody" in op),
                        key=lambda o: any(f"{{{name}}}" in o[0]
                                          for name in ("alert_id", "silence_id", "name")))
    ids["camera_id"] = "backyard"
    assert len(operations) >= 28
    for path, method, op in operations:
        media = op["requestBody"]["content"]["application/json"]
        example = media["example"]
        assert _schema(doc, media["schema"]).is_valid(example), (path, method)
        if path.endswith("/alert"):  # the id of an event this server knows
            example = {**example, "event_id": event_id}
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], path)
        if path.endswith("/recreate"):  # only an expired silence is recreated
            expired = client.post(url.replace("/recreate", "/expire"), headers=headers)
            assert expired.status_code == 200
        response = client.open(url, method=method.upper(), json=example, headers=headers)
        assert 200 <= response.status_code < 300, (method, path, response.get_json())
        if path.endswith("/alert"):
            ids["alert_id"] = ok(response)["alert_id"]
        elif (method, path) == ("post", "/api/silences"):
            ids["silence_id"] = response.get_json()["id"]
        elif (method, path) == ("post", "/api/mute-timings"):
            ids["name"] = response.get_json()["name"]
    for name, schema in doc["components"]["schemas"].items():
        if name in ("RuleCreate", "Event", "EventBatch", "KeyCreate", "StreamCreate"):
            assert schema["examples"] and _schema(doc, schema).is_valid(schema["examples"][0])


def test_examples_are_realistic(app):
    """No text made up from a pattern: the rule and the event read like real ones."""
    doc = build_document(app)
    rule = doc["paths"]["/api/alerts/rules"]["post"]["requestBody"]["content"][
        "application/json"]["example"]
    assert rule["name"] == "Person in the back yard at night" and rule["conditions"]
    sent = doc["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]
    assert sent["example"]["detections"][0]["object_type"] == "person"


def _event(**fields):
    return {"camera_id": "backyard", **fields}


# (body or query, accepted?) per operation; each is checked against the document and the route.
KEY_CASES = [
    ({"name": "back yard detector"}, True), ({"name": "n" * 100, "scope": "ingest"}, True),
    ({}, False), ({"name": ""}, False), ({"name": "   "}, False), ({"name": "n" * 101}, False),
    ({"name": "a\x00b"}, False), ({"name": 5}, False), ({"name": "k", "scope": "root"}, False),
    ({"name": "k", "scope": 1}, False), ({"name": "k", "expires": 1}, False), ([], False),
]
EVENT_CASES = [
    (_event(), True), (_event(started_at=0, ended_at=LATEST - 1), True),
    (_event(started_at="2199-12-31T23:59:59Z", risk_score=100.0, labels=None), True),
    (_event(detections=[{"object_type": "person", "confidence": 1, "bbox": [0, 0, 1, 1],
                         "track_id": 7}]), True),
    ({"events": [_event(), _event(risk_score=5)]}, True),
    (_event(started_at=-1), False), (_event(started_at=LATEST), False),
    (_event(started_at="1969-12-31T23:59:59Z"), False),
    (_event(ended_at="2200-01-01T00:00:00Z"), False),
    (_event(started_at="soon"), False), (_event(started_at=True), False),
    (_event(risk_score=101), False), (_event(risk_score=1.5), False),
    (_event(risk_score="5"), False), (_event(risk_score=True), False),
    (_event(camera_id=""), False), (_event(camera_id=" "), False),
    (_event(camera_id="c" * 256), False), (_event(summary="a\x00"), False),
    (_event(labels=[""]), False), (_event(labels="person"), False),
    (_event(detections=[{}]), False), (_event(detections=[{"object_type": "p", "bbox": [1]}]),
                                           False),
    (_event(detections=[{"object_type": "p", "confidence": 2}]), False),
    (_event(attributes=[1]), False), (_event(colour="red"), False),
    ({"events": []}, False), ({"events": [_event(camera_id="")]}, False), ([], False),
]
SCENE_CASES = [
    ({}, True), ({"page": 2, "page_size": 10}, True), ({"start": 0, "end": 5.5}, True),
    ({"start": MAX_UNIX_SECONDS - 1}, True), ({"page": ""}, True),
    ({"page": 0}, False), ({"page": 10**9 + 1}, False), ({"page_size": 1001}, False),
    ({"page": 1.5}, False), ({"start": -1}, False), ({"start": MAX_UNIX_SECONDS}, False),
    ({"end": "soon"}, False), ({"page": "two"}, False),
]


def _sent(client, headers, method, url, case):
    if method == "get":
        query = urlencode({k: str(v) for k, v in case.items()})
        return client.get(f"{url}?{query}", headers=headers)
    return client.open(url, method=method.upper(), json=case, headers=headers)


def _documented(doc, path, method) -> jsonschema.Draft202012Validator:
    op = doc["paths"][path][method]
    if "requestBody" in op:
        return _schema(doc, op["requestBody"]["content"]["application/json"]["schema"])
    return _schema(doc, {"type": "object", "properties": {
        p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}})


@pytest.mark.parametrize(("path", "method", "cases"), [
    ("/api/keys", "post", KEY_CASES),
    ("/api/events", "post", EVENT_CASES),
    ("/rtstream/{stream_id}/index/scene/{index_id}", "get", SCENE_CASES),
])
def test_documented_request_schema_refuses_what_the_route_refuses(app, client, headers, path,
                                                                  method, cases):
    doc = build_document(app)
    sid = stream(client, headers)["id"]
    url = path.format(stream_id=sid,
                      index_id=scene_index(client, headers, sid)["rtstream_index_id"])
    documented = _documented(doc, path, method)
    for case, accepted in cases:
        response = _sent(client, headers, method, url, case)
        body = response.get_json() or {}
        route_ok = response.status_code < 300 and not body.get("failed")
        assert (documented.is_valid(case), route_ok) == (accepted, accepted), (case, body)
