"""POST/GET /api/events: validation, batches, idempotent ingest, the ingest scope."""

import pytest

from tests.support.app import make_key
from tests.support.factories import event_body, post_event


def test_post_one_event(client, admin_headers):
    event = post_event(client, admin_headers, summary="man at the door", labels=["person"])
    assert event["id"] and event["camera_id"] == "back-door"
    assert event["risk_level"] == "high" and event["object_types"] == ["person"]
    assert event["detections"][0]["zone_ids"] == ["porch"]
    assert event["processed_at"] is None


def test_started_at_defaults_to_now(client, admin_headers):
    response = client.post("/api/events", json={"camera_id": "c1"}, headers=admin_headers)
    assert response.status_code == 201 and response.json["started_at"].startswith("20")


def test_ingest_key_may_post_but_not_read(app, client):
    headers = {"x-access-token": make_key(app, "ingest")}
    assert client.post("/api/events", json=event_body(), headers=headers).status_code == 201
    assert client.get("/api/events", headers=headers).status_code == 403
    assert client.get("/api/alerts/rules", headers=headers).status_code == 403


def test_read_key_may_not_post(app, client):
    headers = {"x-access-token": make_key(app, "read")}
    assert client.post("/api/events", json=event_body(), headers=headers).status_code == 403


def test_invalid_event_is_422_naming_field(client, admin_headers):
    response = client.post("/api/events", json={"risk_score": 500}, headers=admin_headers)
    assert response.status_code == 422
    assert {"camera_id", "risk_score"} <= set(response.json["fields"])


def test_same_source_and_external_id_is_one_event(client, admin_headers):
    first = client.post("/api/events", json=event_body(source="frigate", external_id="abc"),
                        headers=admin_headers)
    again = client.post("/api/events", json=event_body(source="frigate", external_id="abc"),
                        headers=admin_headers)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json["id"] == again.json["id"]
    other = client.post("/api/events", json=event_body(source="yolo", external_id="abc"),
                        headers=admin_headers)
    assert other.status_code == 201 and other.json["id"] != first.json["id"]
    assert client.get("/api/events", headers=admin_headers).json["count"] == 2


def test_batch_all_valid(client, admin_headers):
    batch = {"events": [event_body(camera_id=f"cam-{i}") for i in range(100)]}
    response = client.post("/api/events", json=batch, headers=admin_headers)
    assert response.status_code == 201
    assert response.json["created"] == 100 and response.json["failed"] == 0
    assert [r["index"] for r in response.json["results"]] == list(range(100))


def test_batch_with_invalid_items_keeps_valid_ones(client, admin_headers):
    batch = {"events": [event_body(), {"camera_id": ""}, event_body(external_id="x"),
                        event_body(external_id="x")]}
    response = client.post("/api/events", json=batch, headers=admin_headers)
    assert response.status_code == 207
    statuses = [r["status"] for r in response.json["results"]]
    assert statuses == [201, 422, 201, 200]
    assert "camera_id" in response.json["results"][1]["fields"]
    assert client.get("/api/events", headers=admin_headers).json["count"] == 2


def test_batch_limit(client, admin_headers):
    response = client.post("/api/events", json={"events": [event_body()] * 1001},
                           headers=admin_headers)
    assert response.status_code == 422 and "events" in response.json["fields"]


def test_list_filters(client, admin_headers):
    post_event(client, admin_headers, camera_id="a", started_at="2026-01-01T00:00:00Z")
    post_event(client, admin_headers, camera_id="b", risk_score=10,
               detections=[{"object_type": "cat", "confidence": 0.9}],
               started_at="2026-01-02T00:00:00Z")
    def ids(query):
        body = client.get(f"/api/events?{query}", headers=admin_headers).json
        return [e["camera_id"] for e in body["events"]]
    assert ids("") == ["b", "a"]
    assert ids("camera_id=a") == ["a"]
    assert ids("object_type=CAT") == ["b"]
    assert ids("risk_level=low") == ["b"]
    assert ids("since=2026-01-01T12:00:00Z") == ["b"]
    assert ids("until=2026-01-01T12:00:00Z") == ["a"]
    bad = client.get("/api/events?since=yesterday", headers=admin_headers)
    assert bad.status_code == 422 and "since" in bad.json["fields"]


def test_get_event_and_404(client, admin_headers):
    event = post_event(client, admin_headers)
    body = client.get(f"/api/events/{event['id']}", headers=admin_headers).json
    assert body["id"] == event["id"] and body["alerts"] == []
    assert client.get("/api/events/999999", headers=admin_headers).status_code == 404


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                                  "1969-12-31T23:59:59Z", -1, 1e12])
def test_event_times_outside_1970_to_2200_are_refused(client, admin_headers, when):
    # Near datetime's limits the matcher's timezone and cooldown arithmetic would overflow
    # on every batch and stall matching for everyone.
    response = client.post("/api/events", json=event_body(started_at=when), headers=admin_headers)
    assert response.status_code == 422 and "started_at" in response.json["fields"]


@pytest.mark.parametrize("path", ["/api/events/99999999999999999999",
                                  "/api/alerts/99999999999999999999"])
def test_ids_beyond_bigint_are_404(client, admin_headers, path):
    assert client.get(path, headers=admin_headers).status_code == 404


@pytest.mark.parametrize("path", ["/api/events/2147483648", "/api/alerts/2147483648"])
def test_ids_beyond_the_id_column_are_404(client, admin_headers, path):
    # Primary keys are 32-bit INTEGER on PostgreSQL: a larger id must not reach the database.
    assert client.get(path, headers=admin_headers).status_code == 404
