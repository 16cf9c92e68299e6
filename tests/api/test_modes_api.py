"""The arming modes API: GET/PUT /api/mode, /api/modes, /api/mode/schedule, /api/mode/history,
and rules' `modes`."""

from __future__ import annotations

import pytest

from tests.support.app import make_key
from tests.support.factories import create_rule, rule_body


def test_get_and_put_the_current_mode(client, admin_headers):
    body = client.get("/api/mode", headers=admin_headers).json
    assert body == {"mode": "home", "since": None, "source": None, "changed_by": None,
                    "previous": None, "modes": ["home", "away", "night", "vacation", "disarmed"]}
    response = client.put("/api/mode", json={"mode": "AWAY"}, headers=admin_headers)
    assert response.status_code == 200
    body = response.json
    assert (body["mode"], body["previous"], body["source"]) == ("away", "home", "key")
    assert body["changed_by"] == "key:test-admin" and body["since"].endswith("Z")
    history = client.get("/api/mode/history", headers=admin_headers).json
    assert history["count"] == 1
    assert history["changes"][0] | {"id": 0, "at": ""} == {
        "id": 0, "at": "", "mode": "away", "previous": "home", "source": "key",
        "actor": "key:test-admin"}


@pytest.mark.parametrize(("body", "field"), [
    ({"mode": "party"}, "mode"),
    ({"mode": "not a name"}, "mode"),
    ({"mode": 3}, "mode"),
    ({}, "mode"),
    ({"mode": "away", "extra": 1}, "extra"),
])
def test_a_bad_mode_is_a_422_naming_the_field(client, admin_headers, body, field):
    response = client.put("/api/mode", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert list(response.json["fields"]) == [field]


def test_a_read_key_reads_the_mode_but_may_not_change_it(app, client):
    read = {"x-access-token": make_key(app, "read")}
    assert client.get("/api/mode", headers=read).status_code == 200
    assert client.put("/api/mode", json={"mode": "away"}, headers=read).status_code == 403
    assert client.put("/api/mode", json={"mode": "away"}).status_code == 401


def test_the_list_of_modes(client, admin_headers):
    response = client.put("/api/modes", json={"modes": ["home", "away", "Guests"]},
                          headers=admin_headers)
    assert response.status_code == 200
    assert response.json == {"modes": ["home", "away", "guests"]}
    assert client.get("/api/modes", headers=admin_headers).json == response.json
    assert client.get("/api/mode", headers=admin_headers).json["modes"] == response.json["modes"]
    response = client.put("/api/modes", json={"modes": ["away"]}, headers=admin_headers)
    assert response.status_code == 422  # home is current
    assert "home" in response.json["fields"]["modes"]
    response = client.put("/api/modes", json={"modes": ["home", "bad name"]}, headers=admin_headers)
    assert list(response.json["fields"]) == ["modes.1"]


def test_the_schedule(client, admin_headers):
    body = client.get("/api/mode/schedule", headers=admin_headers).json
    assert body["windows"] == [] and body["timezone"] == "UTC"
    response = client.put("/api/mode/schedule", headers=admin_headers, json={
        "timezone": "Europe/Berlin",
        "windows": [{"mode": "night", "days": ["Monday", "tue"], "start_time": "23:00",
                     "end_time": "06:30"}]})
    assert response.status_code == 200, response.json
    assert response.json["windows"] == [{"mode": "night", "days": ["mon", "tue"],
                                         "start_time": "23:00", "end_time": "06:30"}]
    assert response.json["timezone"] == "Europe/Berlin" and response.json["applied_through"]
    assert client.get("/api/mode/schedule", headers=admin_headers).json == response.json


@pytest.mark.parametrize(("windows", "timezone", "field"), [
    ([{"mode": "party", "start_time": "23:00", "end_time": "06:30"}], "UTC", "windows.0.mode"),
    ([{"mode": "night", "start_time": "25:00", "end_time": "06:30"}], "UTC",
     "windows.0.start_time"),
    ([{"mode": "night", "days": [], "start_time": "23:00", "end_time": "06:30"}], "UTC",
     "windows.0.days"),
    ([{"mode": "night", "start_time": "23:00"}], "UTC", "windows.0.end_time"),
    ([], "Mars/Olympus", "timezone"),
    ("night", "UTC", "windows"),
])
def test_a_bad_schedule_is_a_422_naming_the_field(client, admin_headers, windows, timezone,
                                                   field):
    response = client.put("/api/mode/schedule", headers=admin_headers,
                          json={"timezone": timezone, "windows": windows})
    assert response.status_code == 422
    assert field in response.json["fields"]


def test_history_pages_newest_first(client, admin_headers):
    for mode in ("away", "night", "home"):
        client.put("/api/mode", json={"mode": mode}, headers=admin_headers)
    page = client.get("/api/mode/history?limit=2&offset=1", headers=admin_headers).json
    assert page["count"] == 3 and (page["limit"], page["offset"]) == (2, 1)
    assert [c["mode"] for c in page["changes"]] == ["night", "away"]
    response = client.get("/api/mode/history?limit=0", headers=admin_headers)
    assert response.status_code == 422 and "limit" in response.json["fields"]


def test_rules_carry_modes_and_refuse_unknown_ones(client, admin_headers):
    rule = create_rule(client, admin_headers, modes=["Away", "night"])
    assert rule["modes"] == ["away", "night"]
    fetched = client.get(f"/api/alerts/rules/{rule['id']}", headers=admin_headers).json
    assert fetched["modes"] == ["away", "night"]
    response = client.post("/api/alerts/rules", json=rule_body(modes=["away", "party"]),
                           headers=admin_headers)
    assert response.status_code == 422
    assert list(response.json["fields"]) == ["modes.1"]
    response = client.put(f"/api/alerts/rules/{rule['id']}", json={"modes": ["party"]},
                          headers=admin_headers)
    assert response.status_code == 422 and list(response.json["fields"]) == ["modes.0"]
    response = client.put(f"/api/alerts/rules/{rule['id']}", json={"modes": None},
                          headers=admin_headers)
    assert response.json["modes"] is None  # any mode
    assert create_rule(client, admin_headers, modes=[])["modes"] is None


def test_the_openapi_document_covers_the_modes_api(client):
    document = client.get("/api/openapi.json").json
    paths = document["paths"]
    assert set(paths["/api/mode"]) >= {"get", "put"}
    assert set(paths["/api/modes"]) >= {"get", "put"}
    assert set(paths["/api/mode/schedule"]) >= {"get", "put"}
    assert "get" in paths["/api/mode/history"]
    assert "422" in paths["/api/mode"]["put"]["responses"]
    schemas = document["components"]["schemas"]
    assert "modes" in schemas["RuleCreate"]["properties"]
    assert "mode" in schemas["Verdict"]["properties"]
