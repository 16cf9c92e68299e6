"""Event revisions over HTTP: the same source + external_id posted again with changed fields
revises the event (200), re-matches it, and fires only the rules it newly satisfies."""

from tests.support.factories import create_rule, event_body, listed, run_matcher


def _post(client, headers, status, **fields):
    body = event_body(source="yolo", external_id="obj-1", **fields)
    response = client.post("/api/events", json=body, headers=headers)
    assert response.status_code == status, response.json
    return response.json



def _seen(zone="driveway", confidence=0.6, **fields):
    return {"detections": [{"object_type": "person", "confidence": confidence,
                            "zone_ids": [zone]}], **fields}


def test_a_revision_fires_the_rule_it_newly_satisfies_and_only_once(app, client, admin_headers):
    porch = create_rule(client, admin_headers, name="porch", zone_ids=["porch"])
    sure = create_rule(client, admin_headers, name="sure", min_confidence=0.9)
    created = _post(client, admin_headers, 201, **_seen())
    run_matcher(app)
    assert listed(client, admin_headers) == []

    revised = _post(client, admin_headers, 200, **_seen(zone="porch"))
    assert revised["id"] == created["id"] and revised["revision"] == 1
    assert revised["processed_at"] is None  # queued for matching again
    assert revised["detections"][0]["zone_ids"] == ["porch"]
    run_matcher(app)
    assert [a["rule_id"] for a in listed(client, admin_headers)] == [porch["id"]]

    # The score rises: the other rule fires now; porch, already fired, does not again.
    _post(client, admin_headers, 200, **_seen(zone="porch", confidence=0.95))
    run_matcher(app)
    fired = sorted(a["rule_id"] for a in listed(client, admin_headers))
    assert fired == sorted([porch["id"], sure["id"]])

    # A change no rule looks at (the summary) is a revision that fires nothing.
    again = _post(client, admin_headers, 200, **_seen(zone="porch", confidence=0.95),
                  summary="still there")
    assert again["revision"] == 3
    run_matcher(app)
    assert len(listed(client, admin_headers)) == 2
    event = client.get(f"/api/events/{created['id']}", headers=admin_headers).json
    assert event["processed_at"] is not None and event["summary"] == "still there"


def test_the_same_fields_again_are_a_repeat_not_a_revision(app, client, admin_headers):
    create_rule(client, admin_headers, zone_ids=["porch"])
    first = _post(client, admin_headers, 201, **_seen(zone="porch"))
    run_matcher(app)
    repeat = _post(client, admin_headers, 200, **_seen(zone="porch"))
    assert repeat["revision"] == 0 and repeat["processed_at"] is not None
    assert run_matcher(app) == 0
    assert len(listed(client, admin_headers)) == 1
    # Without started_at a repeat keeps the stored start: still not a revision.
    body = event_body(source="yolo", external_id="obj-1", **_seen(zone="porch"))
    del body["started_at"]
    again = client.post("/api/events", json=body, headers=admin_headers).json
    assert again["id"] == first["id"] and again["revision"] == 0


def test_a_batch_reports_revisions_and_keeps_the_last_of_one_object(app, client, admin_headers):
    create_rule(client, admin_headers, zone_ids=["porch"])
    _post(client, admin_headers, 201, **_seen())
    run_matcher(app)
    items = [event_body(source="yolo", external_id="obj-1", **_seen(zone="porch")),
             event_body(source="yolo", external_id="obj-2", **_seen()),
             event_body(source="yolo", external_id="obj-2", **_seen(zone="porch"))]
    response = client.post("/api/events", json={"events": items}, headers=admin_headers)
    assert response.status_code == 201
    body = response.json
    assert (body["created"], body["revised"], body["duplicates"]) == (1, 2, 0)
    assert [r["revised"] for r in body["results"]] == [True, False, True]
    run_matcher(app)
    assert sorted(a["event_id"] for a in listed(client, admin_headers)) == sorted(
        {r["id"] for r in body["results"]})


def test_an_event_revised_while_being_matched_is_matched_again(app, client, admin_headers,
                                                                 monkeypatch):
    """The matcher marks an event processed only at the revision it read: one revised in
    between is read and matched again, so the revision's new zone still fires."""
    from alerting.services import alert_pipeline

    create_rule(client, admin_headers, zone_ids=["porch"])
    _post(client, admin_headers, 201, **_seen())
    real = alert_pipeline._decide
    revised = []

    def revise_meanwhile(*args, **kwargs):
        if not revised:
            revised.append(_post(client, admin_headers, 200, **_seen(zone="porch")))
        return real(*args, **kwargs)

    monkeypatch.setattr(alert_pipeline, "_decide", revise_meanwhile)
    run_matcher(app)
    run_matcher(app)
    assert revised and [a["zone_id"] for a in listed(client, admin_headers)] == ["porch"]


def test_one_alert_per_event_and_rule_is_held_by_the_database(app):
    from sqlalchemy import inspect

    from alerting.extensions import db

    with app.app_context():
        indexes = {i["name"]: i for i in inspect(db.engine).get_indexes("alerts")}
    assert indexes["uq_alerts_event_rule"]["unique"]
    assert indexes["uq_alerts_event_rule"]["column_names"] == ["event_id", "rule_id"]
