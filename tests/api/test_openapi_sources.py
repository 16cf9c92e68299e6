"""One source: for every operation whose request body or query string the document takes
from a pydantic model, the route validates with that very model (a spy on pydantic's
model_validate records which models a request goes through; validation itself is real),
and no request schema is spelled by hand."""

from __future__ import annotations

import re
import typing

import pydantic
import pytest

from tests.support.app import make_key
from tests.support.factories import create_rule


def _invalid(model: type[pydantic.BaseModel]) -> dict:
    """A body `model` refuses: a nested list where its first scalar field goes (a string
    for its first field when all are lists)."""
    schema = model.model_json_schema()
    for name, prop in schema["properties"].items():
        kinds = [prop, *prop.get("anyOf", ())]
        if any(k.get("type") in ("string", "integer", "number", "boolean") or "enum" in k
               for k in kinds):
            return {name: [[]]}
    return {next(iter(schema["properties"])): "not a list"}


@pytest.fixture
def validated(monkeypatch):
    """The models model_validate ran for, in order."""
    seen: list[type] = []
    original = pydantic.BaseModel.model_validate.__func__

    def spy(cls, *args, **kwargs):
        seen.append(cls)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(pydantic.BaseModel, "model_validate", classmethod(spy))
    return seen


def _operations(app):
    for rule in app.url_map.iter_rules():
        op = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if op is not None:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, rule.rule, op


def test_each_documented_model_is_the_one_the_route_validates_with(app, client, validated):
    headers = {"x-access-token": make_key(app, "admin")}
    ids = {"rule_id": create_rule(client, headers)["id"]}

    def data(path: str, body: dict) -> dict:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["data"]

    ids["stream_id"] = data("/rtstream", {"url": "rtsp://cam/1", "name": "Front"})["id"]
    ids["index_id"] = data(f"/rtstream/{ids['stream_id']}/index/scene",
                           {"name": "scenes"})["rtstream_index_id"]
    event_id = data("/rtstream/event", {"event_prompt": "a person", "label": "person"})[
        "event_id"]
    ids["alert_id"] = data(f"/rtstream/{ids['stream_id']}/index/{ids['index_id']}/alert",
                           {"event_id": event_id,
                            "callback_url": "https://93.184.215.14/hook"})["alert_id"]
    ids["silence_id"] = client.post("/api/silences", headers=headers, json={
        "matchers": [{"field": "camera_id", "op": "=", "value": "c"}], "duration": 600}).json["id"]
    ids["name"] = client.post("/api/mute-timings", headers=headers, json={
        "name": "nights", "intervals": [{}]}).json["name"]
    checked = []
    for method, path, op in _operations(app):
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids.get(m.group(1), 1)), path)
        if op.body is not None:
            models = typing.get_args(op.body) or (op.body,)  # a union: one of them
            validated.clear()
            for model in models:
                response = client.open(url, method=method, headers=headers,
                                       json=_invalid(model))
                assert response.status_code == 422, (method, path, response.get_json())
            assert any(issubclass(seen, model) for seen in validated for model in models), (
                method, path, validated)
            checked.extend((method, path, model.__name__) for model in models)
        if isinstance(op.query, type):
            validated.clear()
            # An integer argument that is not one (every listing query has one).
            name = next(n for n in ("limit", "page_size") if n in op.query.model_fields)
            response = client.open(f"{url}?{name}=x", method=method, headers=headers)
            assert response.status_code == 422, (method, path, response.get_json())
            assert name in response.get_data(as_text=True), (method, path)
            assert op.query in validated, (method, path, validated)
            checked.append((method, path, op.query.__name__))
    assert ("POST", "/api/alerts/rules", "RuleCreate") in checked
    assert ("PUT", "/api/alerts/rules/<rule_id>", "RuleUpdate") in checked
    assert ("GET", "/api/events", "EventQuery") in checked
    assert ("POST", "/api/events", "EventBatch") in checked
    assert ("PATCH", "/rtstream/<stream_id>/status", "StartStop") in checked


def test_every_request_schema_is_a_model(app):
    """No request body or query string is spelled by hand in the document."""
    for method, path, op in _operations(app):
        for declared in (op.body, op.query):
            assert declared is None or not isinstance(declared, str | dict), (method, path)
