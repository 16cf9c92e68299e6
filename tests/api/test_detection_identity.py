"""A detection's `identity` and `identity_score` over the HTTP API: refused by name when bad,
stored and answered, taken by the tracks (before `attributes.identity`) for the rules'
`identities` / `exclude_identities`, and seen by silences' `identity` matcher."""

from datetime import UTC, datetime

import pytest

from tests.support.factories import create_rule, event_body, run_matcher


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _post(client, headers, camera, *detections, **overrides):
    body = event_body(camera_id=camera, started_at=_now(), detections=list(detections),
                      **overrides)
    response = client.post("/api/events", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def _person(track_id, identity=None, score=None):
    det = {"object_type": "person", "zone_ids": ["gate"], "track_id": track_id}
    if identity is not None:
        det["identity"] = identity
    if score is not None:
        det["identity_score"] = score
    return det


@pytest.mark.parametrize(("detection", "field", "message"), [
    ({"identity_score": 0.9}, "detections.0.identity_score", "only with an identity"),
    ({"identity": "a", "identity_score": 1.5}, "detections.0.identity_score",
     "must be a number from 0 to 1"),
    ({"identity": "a", "identity_score": "high"}, "detections.0.identity_score",
     "must be a number from 0 to 1"),
    ({"identity": "x" * 101}, "detections.0.identity", "must be at most 100 characters"),
    ({"identity": 7}, "detections.0.identity", "must be a string or null"),
])
def test_bad_identity_fields_are_refused_by_name(client, admin_headers, detection, field,
                                                 message):
    body = event_body(detections=[{"object_type": "person", **detection}])
    response = client.post("/api/events", json=body, headers=admin_headers)
    assert response.status_code == 422, response.json
    assert response.json["fields"] == {field: message}


def test_identity_is_stored_and_answered(client, admin_headers):
    created = _post(client, admin_headers, "cam", _person("t1", " alice ", 0.87),
                    {"object_type": "dog", "identity": "  "})
    assert [(d["identity"], d["identity_score"]) for d in created["detections"]] == [
        ("alice", 0.87), (None, None)]  # stripped; blank is none
    stored = client.get(f"/api/events/{created['id']}", headers=admin_headers).json
    assert stored["detections"] == created["detections"]
    assert {"identity", "identity_score"} <= set(
        client.get("/api/openapi.json").json["components"]["schemas"]["Detection"]["properties"])


def _alerts(client, headers):
    alerts = client.get("/api/alerts?limit=200", headers=headers).json["alerts"]
    return sorted((a["rule_name"], a["camera_id"]) for a in alerts)


def test_tracks_take_the_detections_identity_for_the_rules(app, client, admin_headers):
    for name, criteria in (("only unknown", {"exclude_identities": ["*"]}),
                           ("alice", {"identities": ["alice"]})):
        create_rule(client, admin_headers, name=name, camera_ids=None, **criteria)
    _post(client, admin_headers, "known", _person("t1", "Alice", 0.9))
    _post(client, admin_headers, "nobody", _person("t2"))
    # A detection's identity comes before the event's attributes.identity.
    _post(client, admin_headers, "both", _person("t3", "alice", 0.6),
          attributes={"identity": {"name": "mallory", "score": 0.99}})
    # Without one on the detection, attributes.identity still names the track.
    _post(client, admin_headers, "attrs", _person("t4"),
          attributes={"identity": {"name": "bob", "score": 0.7}})
    # Over a track's events the best-scored identity wins: bob, then alice surer.
    _post(client, admin_headers, "later", _person("t5", "bob", 0.5))
    run_matcher(app)
    _post(client, admin_headers, "later", _person("t5", "alice", 0.95))
    _post(client, admin_headers, "later", _person("t5", "bob", 0.4))
    run_matcher(app)
    assert _alerts(client, admin_headers) == [
        ("alice", "both"), ("alice", "known"), ("alice", "later"), ("alice", "later"),
        ("only unknown", "nobody")]


def test_silences_and_the_event_see_the_detections_identity(app, client, admin_headers):
    create_rule(client, admin_headers, camera_ids=None)
    event = _post(client, admin_headers, "cam", _person("t1", "alice", 0.9),
                  {"object_type": "person", "identity": "bob", "identity_score": 0.5})
    _post(client, admin_headers, "cam", _person("t2"))
    run_matcher(app)
    matcher = {"field": "identity", "op": "=", "value": "alice"}
    body = client.post("/api/silences/preview", json={"matchers": [matcher], "hours": 1},
                       headers=admin_headers).json
    assert [a["id"] for a in body["alerts"]] == [
        a["id"] for a in client.get("/api/alerts", headers=admin_headers).json["alerts"]
        if a["event_id"] == event["id"]]


def test_the_live_row_shows_the_detections_identity(app, client, admin_headers):
    from alerting.live import event_views
    from tests.support.web import login

    create_rule(client, admin_headers, camera_ids=None)
    named = _post(client, admin_headers, "cam", _person("t1", "alice", 0.9))
    by_attributes = _post(client, admin_headers, "cam", _person("t2"),
                          attributes={"identity": {"name": "bob", "score": 0.7}})
    run_matcher(app)
    login(client)
    page = client.get("/live").text
    assert '<span class="alert-identity" title="Identity">alice</span>' in page
    assert '<span class="alert-identity" title="Identity">bob</span>' in page
    with app.app_context():  # the rows the live hub pushes
        assert [e.identity for e in event_views([named["id"], by_attributes["id"]])] == [
            "alice", "bob"]
