"""The OpenAPI document: valid 3.1, exactly the app's JSON routes, responses that match it,
and a schemathesis run against a live server from it."""

from __future__ import annotations

import re
import subprocess

import jsonschema
from openapi_spec_validator import validate

from alerting.api.openapi import build_document
from tests.support.app import make_key
from tests.support.server import BIN, running_server

SKIP_METHODS = {"HEAD", "OPTIONS"}
JSON_PREFIXES = ("/api/", "/rtstream", "/collection")
NOT_JSON = {"/api/docs"}


def _flask_to_openapi(rule: str) -> str:
    """/api/alerts/<int(max=..):alert_id> -> /api/alerts/{alert_id}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(JSON_PREFIXES) or rule.rule in NOT_JSON:
            continue
        if getattr(rule, "websocket", False) or rule.rule.startswith("/ws/"):
            continue
        for method in (rule.methods or set()) - SKIP_METHODS:
            routes.add((method, _flask_to_openapi(rule.rule)))
    return routes


def _doc_routes(doc) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def test_document_is_valid_openapi_31(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-access-token"}
    assert schemes["bearer"]["scheme"] == "bearer"


def test_document_lists_exactly_the_json_routes(app):
    doc = build_document(app)
    app_routes, doc_routes = _app_routes(app), _doc_routes(doc)
    assert app_routes - doc_routes == set(), "routes missing from the document"
    assert doc_routes - app_routes == set(), "documented operations with no route"
    assert ("GET", "/api/alerts/{alert_id}") in app_routes
    assert ("PATCH", "/rtstream/{stream_id}/index/scene/{index_id}/status") in app_routes


def test_a_model_in_requests_and_answers_has_two_plain_names(app):
    """A model whose accepted and answered shapes differ is named for the request (`Event`)
    and `...Response` for the answer, not pydantic's `Event-Input` / `Event-Output`."""
    doc = build_document(app)
    names = set(doc["components"]["schemas"])
    assert not {n for n in names if n.endswith(("-Input", "-Output"))}
    for model in ("Event", "Detection", "Schedule", "Condition", "Targets"):
        assert {model, f"{model}Response"} <= names
    op = doc["paths"]["/api/events"]["post"]
    sent = op["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    answered = op["responses"]["201"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/Event"} in sent
    assert {"$ref": "#/components/schemas/EventResponse"} in answered
    detections = doc["components"]["schemas"]["EventResponse"]["properties"]["detections"]
    assert detections["items"] == {"$ref": "#/components/schemas/DetectionResponse"}


def test_security_matches_public_views(app):
    doc = build_document(app)
    for rule in app.url_map.iter_rules():
        path = _flask_to_openapi(rule.rule)
        if path not in doc["paths"]:
            continue
        view = app.view_functions[rule.endpoint]
        for method in (rule.methods or set()) - SKIP_METHODS:
            op = doc["paths"][path][method.lower()]
            assert (op["security"] == []) == bool(getattr(view, "public", False)), path


def test_docs_page_is_public_and_uses_static_files(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/static/js/api_docs.js" in page
    assert "<script>" not in page and "cdn" not in page.lower()
    assert "/static/vendor/swagger-ui-bundle.js" in page and "/api/openapi.json" in page
    for path, needle in (("/static/js/api_docs.js", "SwaggerUIBundle"),
                         ("/static/vendor/swagger-ui-bundle.js", "SwaggerUIBundle"),
                         ("/static/vendor/swagger-ui.css", ".swagger-ui")):
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert needle in asset.get_data(as_text=True), path
        asset.close()


def _response_schema(doc, path: str, method: str, status: int):
    schema = doc["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    return {**schema, "components": doc["components"]}


def _check(doc, response, path: str, method: str = "get"):
    schema = _response_schema(doc, path, method, response.status_code)
    jsonschema.validate(response.get_json(), schema,
                        cls=jsonschema.Draft202012Validator)


def test_real_responses_match_the_documented_schemas(app, client):
    doc = build_document(app)
    headers = {"x-access-token": make_key(app, "admin")}
    rule = client.post("/api/alerts/rules", headers=headers, json={
        "name": "Person at night", "severity": "high", "object_types": ["person"],
        "schedule": {"days": ["mon"], "start_time": "22:00", "end_time": "06:00"},
        "conditions": [{"field": "risk_score", "op": "gte", "value": 10}],
        "channels": ["webhook"], "targets": {"webhook_url": "https://93.184.215.14/hook"}})
    assert rule.status_code == 201, rule.get_json()
    _check(doc, rule, "/api/alerts/rules", "post")
    rule_id = rule.get_json()["id"]
    event = client.post("/api/events", headers=headers, json={
        "camera_id": "cam-1", "risk_score": 70, "summary": "someone",
        "detections": [{"object_type": "person", "confidence": 0.9, "zone_ids": ["porch"],
                        "bbox": [1, 2, 3, 4], "track_id": 7}], "attributes": {"a": [1]}})
    assert event.status_code == 201
    _check(doc, event, "/api/events", "post")
    batch = client.post("/api/events", headers=headers,
                        json={"events": [{"camera_id": "cam-2"}, {"camera_id": ""}]})
    assert batch.status_code == 207
    _check(doc, batch, "/api/events", "post")
    for path, real in (
        ("/api/alerts/rules", "/api/alerts/rules"),
        ("/api/alerts/rules/{rule_id}", f"/api/alerts/rules/{rule_id}"),
        ("/api/events", "/api/events"),
        ("/api/events/{event_id}", f"/api/events/{event.get_json()['id']}"),
        ("/api/alerts", "/api/alerts"),
        ("/api/deliveries", "/api/deliveries"),
        ("/api/notification/config", "/api/notification/config"),
        ("/api/notification/settings", "/api/notification/settings"),
        ("/api/keys", "/api/keys"),
        ("/api/health", "/api/health"),
        ("/rtstream", "/rtstream"),
        ("/collection/{collection_id}", "/collection/default"),
    ):
        response = client.get(real, headers=headers)
        assert response.status_code == 200, real
        _check(doc, response, path)
    tested = client.post(f"/api/alerts/rules/{rule_id}/test", headers=headers, json={})
    _check(doc, tested, "/api/alerts/rules/{rule_id}/test", "post")
    for path, real, body in (
            ("/api/alerts/rules/{rule_id}/backtest", f"/api/alerts/rules/{rule_id}/backtest",
             {}),
            ("/api/alerts/rules/backtest", "/api/alerts/rules/backtest",
             {"rule": {"name": "draft", "severity": "low"}})):
        _check(doc, client.post(real, headers=headers, json=body), path, "post")
    exported = client.get("/api/config/export",
                          headers={**headers, "Accept": "application/json"})
    _check(doc, exported, "/api/config/export")
    _check(doc, client.post("/api/config/apply?dry_run=1", headers=headers,
                            json=exported.get_json()), "/api/config/apply", "post")
    for bad, path, method in (
        (client.get("/api/alerts/rules/nope", headers=headers),
         "/api/alerts/rules/{rule_id}", "get"),
        (client.post("/api/alerts/rules", headers=headers, json={"name": ""}),
         "/api/alerts/rules", "post"),
        (client.get("/api/events"), "/api/events", "get"),
        (client.get("/rtstream/nope", headers=headers), "/rtstream/{stream_id}", "get"),
    ):
        _check(doc, bad, path, method)
    stream = client.post("/rtstream", headers=headers,
                         json={"url": "rtsp://cam/1", "name": "Front"})
    _check(doc, stream, "/rtstream", "post")


def test_huge_ids_are_not_found_not_server_errors(app, client):
    headers = {"x-access-token": make_key(app, "admin")}
    too_big = 2**63
    assert client.get(f"/api/alerts/{too_big}", headers=headers).status_code == 404
    assert client.get(f"/api/events/{too_big}", headers=headers).status_code == 404
    response = client.get(f"/api/deliveries?alert_id={too_big}", headers=headers)
    assert response.status_code == 422
    assert client.get("/api/deliveries?alert_id=%C2%B2", headers=headers).status_code == 422


# --- schemathesis -------------------------------------------------------------------------

KEY = "ak_openapi-schemathesis-key-0123456789"
# Operations whose request has a rule JSON Schema cannot say, so a schema-valid request can
# still be a 422; each is allowed 422 for "valid data accepted" (every other check applies):
CROSS_FIELD_422 = {
    ("POST", "/api/events"): "ended_at must not be before started_at; an event time with a "
                             "UTC offset may cross 1970 or 2200 once converted",
    ("GET", "/rtstream/{stream_id}/index/scene/{index_id}"): "end must not be before start",
    ("PUT", "/api/notification/config"):
        "default_webhook_url must resolve to a public address (SSRF guard)",
    ("POST", "/api/notification/test"): "a webhook_url is checked like default_webhook_url",
}


def _config() -> str:
    # An over-long URL is a 414 from gunicorn before the app (documented on every operation).
    lines = ["[checks]", "enabled = true",
             'negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "405", '
             '"406", "409", "414", "415", "422", "428", "429", "5xx"]', ""]
    for (method, path), _reason in CROSS_FIELD_422.items():
        lines += ["[[operations]]", f'include-path = "{path}"', f'include-method = "{method}"',
                  "checks.positive_data_acceptance.expected-statuses = "
                  '["2xx", "401", "403", "404", "409", "422", "429"]', ""]
    return "\n".join(lines)


def test_schemathesis_finds_nothing(tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config())
    env_extra = {"ALERTING_BOOTSTRAP_API_KEY": KEY,
                 "ALERTING_RATE_LIMIT_INGEST": "100000 per second"}
    with running_server(tmp_path, **env_extra) as (url, _proc, log_path):
        result = subprocess.run(
            [str(BIN / "st"), "--config-file", str(config), "run",
             f"{url}/api/openapi.json", "--checks", "all",
             "-H", f"x-access-token: {KEY}",
             # Revoking keys would revoke the one this run uses.
             "--exclude-path", "/api/keys/{key_id}",
             "--max-examples", "25", "--seed", "1", "--max-time", "60",
             "--request-timeout", "10", "--continue-on-failure", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=200,
        )
        server_log = log_path.read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    # No request ended in an unhandled exception (a 500), whatever schemathesis saw.
    assert "unhandled error" not in server_log, server_log[-5000:]
