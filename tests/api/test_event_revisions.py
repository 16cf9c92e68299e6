"""Event revisions over HTTP: the same source + external_id posted again with changed fields
revises the event (200), re-matches it, and fires only the rules it newly satisfies."""

import pytest

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


def test_a_summary_left_out_of_a_revision_is_kept(app, client, admin_headers):
    """As started_at: a revision (or a repeat) that does not send a summary keeps the stored
    one (Frigate's object updates carry none; its description comes on its own topic)."""
    first = _post(client, admin_headers, 201, **_seen(), summary="a man with a ladder")
    repeat = _post(client, admin_headers, 200, **_seen())
    assert repeat["revision"] == 0 and repeat["summary"] == "a man with a ladder"
    revised = _post(client, admin_headers, 200, **_seen(zone="porch"), summary=None)
    assert revised["revision"] == 1 and revised["summary"] == "a man with a ladder"
    changed = _post(client, admin_headers, 200, **_seen(zone="porch"), summary="he left")
    assert changed["revision"] == 2 and changed["summary"] == "he left"
    # Within one batch too: the later item without a summary keeps the earlier one's.
    items = [event_body(source="yolo", external_id="obj-9", **_seen(), summary="a van"),
             event_body(source="yolo", external_id="obj-9", **_seen(zone="porch"))]
    body = client.post("/api/events", json={"events": items}, headers=admin_headers).json
    stored = client.get(f"/api/events/{body['results'][0]['id']}", headers=admin_headers).json
    assert (stored["summary"], stored["detections"][0]["zone_ids"]) == ("a van", ["porch"])
    assert first["id"] != stored["id"]


def test_a_batch_reports_revisions_and_keeps_the_last_of_one_object(app, client, admin_headers):
    create_rule(client, admin_headers, zone_ids=["porch"])
    _post(client, admin_headers, 201, **_seen())
    run_matcher(app)
    items = [event_body(source="yolo", external_id="obj-1", **_seen(zone="porch")),
             event_body(source="yolo", external_id="obj-2", **_seen()),
             event_body(source="yolo", external_id="obj-2", **_seen(zone="porch")),
             event_body(source="yolo", external_id="obj-1", **_seen("porch", 0.7)),
             event_body(source="yolo", external_id="obj-1", **_seen("porch", 0.7))]
    response = client.post("/api/events", json={"events": items}, headers=admin_headers)
    assert response.status_code == 201
    body = response.json
    assert (body["created"], body["revised"], body["duplicates"]) == (1, 3, 1)
    assert [r["revised"] for r in body["results"]] == [True, False, True, True, False]
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


def _as_matcher_process(app):
    """SQLite, in a process that runs the matcher (not started): ingest matches what it
    stores in the same transaction when nothing older waits."""
    from alerting.extensions import db
    from alerting.workers.matcher_loop import Matcher

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("matching on ingest is for SQLite")
    app.extensions["alerting.matcher"] = Matcher(app)


def test_a_revision_is_matched_in_the_transaction_that_stores_it(app, client, admin_headers):
    _as_matcher_process(app)
    porch = create_rule(client, admin_headers, zone_ids=["porch"])
    _post(client, admin_headers, 201, **_seen())
    revised = _post(client, admin_headers, 200, **_seen(zone="porch"))
    # No matcher ran: the revision's alert is there when the POST returns, and only once.
    assert revised["processed_at"] is not None
    assert [a["rule_id"] for a in listed(client, admin_headers)] == [porch["id"]]
    _post(client, admin_headers, 200, **_seen(zone="porch"), summary="again")
    assert run_matcher(app) == 0 and len(listed(client, admin_headers)) == 1


def test_when_matching_a_revision_on_ingest_fails_its_earlier_alerts_stay(
        app, client, admin_headers, monkeypatch):
    from alerting.services import alert_pipeline

    _as_matcher_process(app)
    create_rule(client, admin_headers, name="any")
    create_rule(client, admin_headers, name="porch", zone_ids=["porch"])
    _post(client, admin_headers, 201, **_seen())
    [first] = listed(client, admin_headers)
    real = alert_pipeline._record

    def fail_after_writing(*args):
        real(*args)
        raise RuntimeError("half-way")

    monkeypatch.setattr(alert_pipeline, "_record", fail_after_writing)
    revised = _post(client, admin_headers, 200, **_seen(zone="porch"))
    assert revised["processed_at"] is None  # left to the matcher
    assert [a["id"] for a in listed(client, admin_headers)] == [first["id"]]
    monkeypatch.undo()
    assert run_matcher(app) == 1
    assert sorted(a["rule_name"] for a in listed(client, admin_headers)) == ["any", "porch"]
