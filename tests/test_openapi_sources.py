"""One source: for every operation whose request body or query string the document takes
from a pydantic model, the route validates with that very model (a spy on pydantic's
model_validate records which models a request goes through; validation itself is real).
The bodies still spelled by hand (schemas/pending_requests.py) are listed, so that list
can only shrink."""

from __future__ import annotations

import re

import pydantic
import pytest

from alerting.schemas import pending_requests
from tests.conftest import make_key
from tests.factories import create_rule

# The operations whose request schema is not yet a model (their models are being written).
PENDING_BODIES = {"EventIn", "EventBatch", "NotificationSettingsUpdate",
                  "NotificationTestRequest", "StreamCreate", "StartStop", "SceneIndexCreate",
                  "VideoDBEventCreate", "VideoDBAlertCreate", "VideoDBAlertStatus"}
PENDING_QUERIES = {"StreamQuery", "SceneQuery"}


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
    rule_id = create_rule(client, headers)["id"]
    checked = []
    for method, path, op in _operations(app):
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>",
                     lambda m: rule_id if m.group(1) == "rule_id" else "1", path)
        if isinstance(op.body, type):
            validated.clear()
            # An object with an unknown field: every body model refuses it.
            response = client.open(url, method=method, headers=headers,
                                   json={"not_a_field": 1})
            assert response.status_code == 422, (method, path, response.get_json())
            assert op.body in validated, (method, path, validated)
            checked.append((method, path, op.body.__name__))
        if isinstance(op.query, type):
            validated.clear()
            response = client.open(url + "?limit=0", method=method, headers=headers)
            assert response.status_code == 422, (method, path, response.get_json())
            assert "limit" in response.get_json()["fields"], (method, path)
            assert op.query in validated, (method, path, validated)
            checked.append((method, path, op.query.__name__))
    assert ("POST", "/api/alerts/rules", "RuleCreate") in checked
    assert ("PUT", "/api/alerts/rules/<rule_id>", "RuleUpdate") in checked
    assert ("GET", "/api/events", "EventQuery") in checked


def test_only_the_listed_schemas_are_still_written_by_hand(app):
    bodies = {op.body for _m, _p, op in _operations(app) if isinstance(op.body, str)}
    queries = {op.query for _m, _p, op in _operations(app) if isinstance(op.query, str)}
    assert bodies <= PENDING_BODIES
    assert queries <= PENDING_QUERIES
    assert set(pending_requests.queries()) <= PENDING_QUERIES
    assert set(pending_requests.components()) <= PENDING_BODIES
