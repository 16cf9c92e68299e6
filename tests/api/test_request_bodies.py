"""Every JSON-body route reads its body through one loader (engine/json_body.py): a body
nested too deeply, or holding a lone surrogate, is a 422 naming the problem, never a 500."""

from __future__ import annotations

import json
import re

import pytest

from alerting.engine.errors import ValidationError
from alerting.engine.json_body import MAX_DEPTH, parse_json_body
from tests.support.app import make_app, make_key
from tests.support.factories import create_rule

JSON = {"Content-Type": "application/json"}
# Write routes that take no body at all.
NO_BODY = {"api.acknowledge", "api.dismiss", "api.restore", "api.retry",
           "api.reveal_webhook_secret", "api.rotate_webhook_secret", "api.expire_silence",
           "api.duplicate_rule", "api.acknowledge_alert_group"}


def _write_routes():
    from alerting import create_app

    probe = create_app({"TESTING": True, "BOOTSTRAP": False, "INPROCESS_WORKERS": False,
                        "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    routes = []
    for rule in probe.url_map.iter_rules():
        if not rule.endpoint.startswith(("api.", "videodb.")):
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            routes.append((method, rule.rule, rule.endpoint))
    return routes


WRITE_ROUTES = _write_routes()


@pytest.fixture
def world(tmp_path):
    """An app with one of everything a route's URL names: a rule, a stream, an index, an
    alert."""
    app = make_app(tmp_path)
    client = app.test_client()
    headers = {"x-access-token": make_key(app), **JSON}
    rule_id = create_rule(client, headers)["id"]
    sid = client.post("/rtstream", headers=headers, json={
        "collection_id": "default", "url": "rtsp://cam.local/1", "name": "Front door",
        "media_types": ["video"]}).json["data"]["id"]
    iid = client.post(f"/rtstream/{sid}/index/scene", headers=headers, json={
        "extraction_type": "time", "extraction_config": {"time": 2, "frame_count": 5},
        "prompt": "Describe the scene", "name": "visuals"}).json["data"]["rtstream_index_id"]
    eid = client.post("/rtstream/event", headers=headers, json={
        "event_prompt": "Someone climbs the fence", "label": "intrusion"}).json["data"]["event_id"]
    aid = client.post(f"/rtstream/{sid}/index/{iid}/alert", headers=headers, json={
        "event_id": eid, "callback_url": "https://93.184.215.14/a"}).json["data"]["alert_id"]
    silence_id = client.post("/api/silences", headers=headers, json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "c"}],
        "duration": 600}).json["id"]
    name = client.post("/api/mute-timings", headers=headers, json={
        "name": "nights", "intervals": [{}]}).json["name"]
    values = {"rule_id": rule_id, "stream_id": sid, "index_id": iid, "alert_id": aid,
              "silence_id": silence_id, "name": name, "camera_id": "porch"}
    return app, client, headers, values


def _url(rule: str, values: dict[str, str]) -> str:
    rule = re.sub(r"<id:\w+>", "1", rule)  # the NO_BODY routes: any id does
    for name, value in values.items():
        rule = re.sub(rf"<(?:[^:<>]+:)?{name}>", value, rule)
    assert "<" not in rule, rule
    return rule


def _refused(response, endpoint: str) -> str:
    if endpoint in NO_BODY:  # the body is never read: whatever the route answers, not a 500
        assert response.status_code < 500, (endpoint, response.status_code)
        return "nest deeper name"
    assert response.status_code == 422, (endpoint, response.status_code, response.data[:200])
    body = response.json
    if endpoint.startswith("videodb."):
        assert body["success"] is False
        return body["message"]
    return json.dumps(body["fields"])


def test_every_write_route_is_listed():
    # 27 API routes (events, keys, a camera's heartbeat; rules: create, update, test, two
    # backtests, the templates' preview; notification config, test and digests; 3 of the
    # arming modes; 5 of silences and 2 of mute timings; the config apply; integrations:
    # update and test; a web push subscription; acknowledge all) and 7 VideoDB routes read a
    # JSON body; the NO_BODY ones take none.
    assert len(WRITE_ROUTES) == 34 + len(NO_BODY), WRITE_ROUTES


@pytest.mark.parametrize(("method", "rule", "endpoint"), WRITE_ROUTES,
                         ids=[f"{m} {r}" for m, r, _ in WRITE_ROUTES])
def test_deep_nesting_and_lone_surrogates_are_422(world, method, rule, endpoint):
    _, client, headers, values = world
    url = _url(rule, values)
    deep = "[" * 1000 + "]" * 1000  # 2 KB
    response = client.open(url, method=method, data=deep, headers=headers)
    assert "nest deeper" in _refused(response, endpoint)
    surrogate = '{"name": "\\udc80", "scope": "read"}'
    response = client.open(url, method=method, data=surrogate, headers=headers)
    assert "name" in _refused(response, endpoint)


def test_key_name_with_a_lone_surrogate_is_422(world):
    _, client, headers, _ = world
    response = client.post("/api/keys", data='{"name": "\\udc80", "scope": "read"}',
                           headers=headers)
    assert response.status_code == 422 and response.json["fields"] == {
        "name": "must be valid Unicode text"}


def test_key_name_checked_outside_http_too(world):
    from alerting.services import keys

    app = world[0]
    with app.app_context(), pytest.raises(ValidationError) as caught:
        keys.create_key("bad\udc80", "read", actor="test")
    assert caught.value.fields == {"name": "must be valid Unicode text"}


@pytest.mark.parametrize(("raw", "field"), [
    ('{"a": {"b": ["ok", "\\ud800"]}}', "a.b.1"),
    ('{"\\udfff": 1}', "body"),
    ('"\\udc80"', "body"),
    ("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "body"),
    ("{nope", "body"),
])
def test_parse_json_body_names_the_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        parse_json_body(raw)
    assert list(caught.value.fields) == [field]


def test_parse_json_body_takes_ordinary_nesting():
    raw = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json_body(raw) is not None
