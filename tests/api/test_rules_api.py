"""The alert rules API, driven with the spec's own example requests."""

import copy
import json
import time

import pytest

from alerting.extensions import db
from alerting.models import Alert, AuditLog
from tests.support.app import make_app, make_key
from tests.support.factories import SPEC_RULE, create_rule, post_event, rule_body, run_matcher

RESPONSE_FIELDS = {
    "id", "name", "description", "enabled", "severity", "risk_threshold", "object_types",
    "camera_ids", "zone_ids", "min_confidence", "schedule", "conditions", "dedup_key_template",
    "cooldown_seconds", "channels", "created_at", "updated_at",
}


def create(client, headers, **overrides):
    body = {**copy.deepcopy(SPEC_RULE), **overrides}
    response = client.post("/api/alerts/rules", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_create_with_spec_example(client, admin_headers):
    rule = create(client, admin_headers)
    assert RESPONSE_FIELDS <= set(rule)
    for name, value in SPEC_RULE.items():
        if name == "schedule":
            assert {k: rule["schedule"][k] for k in value} == value
        else:
            assert rule[name] == value, name
    assert rule["created_at"].endswith("Z") and rule["updated_at"].endswith("Z")


def test_list_spec_examples(client, admin_headers):
    high = create(client, admin_headers, name="High", severity="high")
    create(client, admin_headers, name="Off", severity="low", enabled=False)
    body = client.get("/api/alerts/rules?enabled=true", headers=admin_headers).json
    assert set(body) == {"rules", "count", "limit", "offset"}
    assert [r["name"] for r in body["rules"]] == ["High"]
    assert body["count"] == 1 and body["limit"] == 50 and body["offset"] == 0
    body = client.get("/api/alerts/rules?severity=high", headers=admin_headers).json
    assert [r["id"] for r in body["rules"]] == [high["id"]]
    assert RESPONSE_FIELDS <= set(body["rules"][0])


def test_pagination_count_is_total(client, admin_headers):
    for i in range(5):
        create(client, admin_headers, name=f"rule {i}")
    body = client.get("/api/alerts/rules?limit=2&offset=1", headers=admin_headers).json
    assert len(body["rules"]) == 2 and body["count"] == 5
    assert (body["limit"], body["offset"]) == (2, 1)


def test_search_by_name(client, admin_headers):
    create(client, admin_headers, name="Back door at night")
    create(client, admin_headers, name="Driveway cars")
    body = client.get("/api/alerts/rules?q=door", headers=admin_headers).json
    assert [r["name"] for r in body["rules"]] == ["Back door at night"]


def test_get_one(client, admin_headers):
    rule = create(client, admin_headers)
    response = client.get(f"/api/alerts/rules/{rule['id']}", headers=admin_headers)
    assert response.status_code == 200 and response.json == rule


def test_put_spec_example_is_partial(client, admin_headers):
    rule = create(client, admin_headers)
    response = client.put(f"/api/alerts/rules/{rule['id']}", json={"enabled": False},
                          headers=admin_headers)
    assert response.status_code == 200
    updated = response.json
    assert updated["enabled"] is False
    assert {k: v for k, v in updated.items() if k not in ("enabled", "updated_at")} == {
        k: v for k, v in rule.items() if k not in ("enabled", "updated_at")}


def test_delete_then_404(client, admin_headers):
    rule = create(client, admin_headers)
    response = client.delete(f"/api/alerts/rules/{rule['id']}", headers=admin_headers)
    assert response.status_code == 204 and response.data == b""
    assert client.get(f"/api/alerts/rules/{rule['id']}", headers=admin_headers).status_code == 404
    assert client.delete(f"/api/alerts/rules/{rule['id']}",
                         headers=admin_headers).status_code == 404


@pytest.mark.parametrize("rule_id", ["550e8400-e29b-41d4-a716-446655440000", "not-a-uuid", "1"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_or_malformed_id_is_404(client, admin_headers, rule_id, method):
    kwargs = {"json": {"enabled": False}} if method == "put" else {}
    response = getattr(client, method)(f"/api/alerts/rules/{rule_id}", headers=admin_headers,
                                       **kwargs)
    assert response.status_code == 404 and response.json["error"] == "not_found"


BAD_CREATE = [
    ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"),
    ({"name": 5}, "name"),
    ({"severity": "urgent"}, "severity"),
    ({"risk_threshold": 101}, "risk_threshold"),
    ({"risk_threshold": -1}, "risk_threshold"),
    ({"risk_threshold": 50.5}, "risk_threshold"),
    ({"risk_threshold": "50"}, "risk_threshold"),
    ({"min_confidence": 1.5}, "min_confidence"),
    ({"min_confidence": -0.1}, "min_confidence"),
    ({"schedule": {"days": ["funday"]}}, "schedule.days.0"),
    ({"schedule": {"days": ["mon"], "start_time": "24:00"}}, "schedule.start_time"),
    ({"schedule": {"days": ["mon"], "end_time": "7pm"}}, "schedule.end_time"),
    ({"schedule": {"days": ["mon"], "timezone": "Mars/Olympus"}}, "schedule.timezone"),
    ({"dedup_key_template": "{camera_id}:{colour}"}, "dedup_key_template"),
    ({"dedup_key_template": "{camera_id"}, "dedup_key_template"),
    ({"channels": ["sms"]}, "channels.0"),
    ({"cooldown_seconds": -1}, "cooldown_seconds"),
    ({"enabled": "yes"}, "enabled"),
    ({"object_types": "person"}, "object_types"),
    ({"conditions": [{"field": "mood", "op": "eq", "value": "x"}]}, "conditions.0.field"),
    ({"conditions": [{"field": "summary", "op": "like", "value": "x"}]}, "conditions.0.op"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("override", "field"), BAD_CREATE)
def test_bad_create_is_422_naming_the_field(client, admin_headers, override, field):
    body = {**copy.deepcopy(SPEC_RULE), **override}
    response = client.post("/api/alerts/rules", json=body, headers=admin_headers)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_error"
    assert field in response.json["fields"], response.json


@pytest.mark.parametrize("missing", ["name", "severity"])
def test_required_fields(client, admin_headers, missing):
    body = {k: v for k, v in SPEC_RULE.items() if k != missing}
    response = client.post("/api/alerts/rules", json=body, headers=admin_headers)
    assert response.status_code == 422 and missing in response.json["fields"]


@pytest.mark.parametrize("raw", [b"[1, 2]", b"\"rule\"", b"{not json", b"null", b""])
def test_body_not_an_object(client, admin_headers, raw):
    response = client.post("/api/alerts/rules", data=raw, headers={
        **admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 422 and "body" in response.json["fields"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "offset=-1",
                                   "severity=urgent", "enabled=perhaps"])
def test_bad_list_query(client, admin_headers, query):
    response = client.get(f"/api/alerts/rules?{query}", headers=admin_headers)
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["fields"]


def test_put_validates_and_refuses_null_name(client, admin_headers):
    rule = create(client, admin_headers)
    url = f"/api/alerts/rules/{rule['id']}"
    assert client.put(url, json={"name": None}, headers=admin_headers).status_code == 422
    assert client.put(url, json={"risk_threshold": 200}, headers=admin_headers).status_code == 422
    assert client.put(url, json={"risk_threshold": None}, headers=admin_headers).json[
        "risk_threshold"] is None


def test_body_over_limit_is_413(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=1024)
    headers = {"x-access-token": make_key(app), "Content-Type": "application/json"}
    body = json.dumps({**SPEC_RULE, "description": "x" * 2000})
    response = app.test_client().post("/api/alerts/rules", data=body, headers=headers)
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"


def test_read_key_may_list_but_not_create(app, client):
    headers = {"x-access-token": make_key(app, "read")}
    assert client.get("/api/alerts/rules", headers=headers).status_code == 200
    assert client.post("/api/alerts/rules", json=SPEC_RULE, headers=headers).status_code == 403


def test_changes_are_audited(app, client, admin_headers):
    rule = create(client, admin_headers)
    client.put(f"/api/alerts/rules/{rule['id']}", json={"severity": "low"}, headers=admin_headers)
    client.delete(f"/api/alerts/rules/{rule['id']}", headers=admin_headers)
    with app.app_context():
        entries = db.session.query(AuditLog).filter_by(target_id=rule["id"]).order_by(
            AuditLog.id).all()
        assert [e.action for e in entries] == ["rule_create", "rule_update", "rule_delete"]
        assert all(e.actor == "key:test-admin" and e.at is not None for e in entries)
        assert entries[1].details["changed"] == ["severity"]


def test_catastrophic_regex_cannot_hold_ingest_matching_or_the_rule_test(app, client,
                                                                         admin_headers):
    rule = create_rule(client, admin_headers, conditions=[
        {"field": "summary", "op": "matches", "value": "^(a+)+$"}])
    started = time.perf_counter()
    slow = post_event(client, admin_headers, summary="a" * 9_999 + "!")
    hit = post_event(client, admin_headers, summary="a" * 10_000,
                     started_at="2026-01-15T02:01:00Z")
    assert run_matcher(app) == 2
    response = client.post(f"/api/alerts/rules/{rule['id']}/test",
                           json={"event_ids": [slow["id"], hit["id"]]}, headers=admin_headers)
    assert response.status_code == 200 and response.json["events_matched"] == 1
    assert time.perf_counter() - started < 5.0  # a backtracking engine: beyond the universe's age
    with app.app_context():
        assert db.session.query(Alert).count() == 1


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)b", "(?<!a)b"])
def test_regex_re2_cannot_compile_is_422_naming_the_field(client, admin_headers, pattern):
    conditions = [{"field": "summary", "op": "contains", "value": "x"},
                  {"field": "summary", "op": "matches", "value": pattern}]
    response = client.post("/api/alerts/rules", json=rule_body(conditions=conditions),
                           headers=admin_headers)
    assert response.status_code == 422
    assert list(response.json["fields"]) == ["conditions.1.value"]
    assert "RE2" in response.json["fields"]["conditions.1.value"]


def test_duplicate_copies_every_field_disabled_under_a_new_name(client, admin_headers):
    original = create(client, admin_headers, name="Porch at night")
    response = client.post(f"/api/alerts/rules/{original['id']}/duplicate", headers=admin_headers)
    assert response.status_code == 201, response.json
    copy_ = response.json
    assert copy_["id"] != original["id"]
    assert copy_["name"] == "Porch at night (copy)" and copy_["enabled"] is False
    same = RESPONSE_FIELDS - {"id", "name", "enabled", "created_at", "updated_at"}
    assert {k: copy_[k] for k in same} == {k: original[k] for k in same}
    assert client.get(f"/api/alerts/rules/{original['id']}", headers=admin_headers).json[
        "enabled"] is original["enabled"]


def test_duplicate_of_an_unknown_rule_is_a_404(client, admin_headers):
    response = client.post("/api/alerts/rules/00000000-0000-0000-0000-000000000000/duplicate",
                           headers=admin_headers)
    assert response.status_code == 404 and response.json["error"] == "not_found"
