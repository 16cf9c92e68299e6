"""services/tracks: ingest folds events into tracks; silent tracks end; due tracks are claimed
once and their event queued again as a revision."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerting.extensions import db
from alerting.models import Event, Track, utcnow
from alerting.services import ingest, tracks


def _post(app, camera, track_id, zones, attributes=None):
    with app.app_context():
        status, body = ingest.ingest({"camera_id": camera, "attributes": attributes,
                                      "detections": [{"object_type": "person",
                                                      "zone_ids": zones,
                                                      "track_id": track_id}]})
        assert status == 201, body
        return body["id"]


def _tracks(app):
    with app.app_context():
        rows = {(t.camera_id, t.track_id): (t.state, t.ended_at, t.event_id, t.due_at)
                for t in db.session.scalars(select(Track))}
        db.session.remove()
        return rows


def test_events_sharing_a_track_id_make_one_track(app):
    _post(app, "cam", "p1", ["street"])
    last = _post(app, "cam", "p1", ["driveway"],
                 attributes={"identity": {"name": "Bob", "score": 0.8}})
    _post(app, "other", "p1", [])  # another camera: another track
    rows = _tracks(app)
    assert set(rows) == {("cam", "p1"), ("other", "p1")}
    state, ended, event_id, _due = rows[("cam", "p1")]
    assert [v[0] for v in state["visits"]] == ["street", "driveway"]
    assert state["visits"][0][2] is not None and state["visits"][1][2] is None
    assert (state["identity"], state["identity_score"]) == ("Bob", 0.8)
    assert ended is None and event_id == last


def test_silent_tracks_end_when_last_seen_and_a_lost_frigate_end_after_a_day(app):
    _post(app, "cam", "http-1", ["gate"])
    _post(app, "cam", "frigate-1", ["gate"], attributes={"frigate": {"current_zones": ["gate"]}})
    with app.app_context():
        assert tracks.end_silent(utcnow() + timedelta(seconds=61)) == 1  # the HTTP one
        assert tracks.end_silent(utcnow() + timedelta(days=1, seconds=1)) == 1  # then Frigate's
    rows = _tracks(app)
    assert rows[("cam", "http-1")][1] is not None and rows[("cam", "frigate-1")][1] is not None


def test_a_due_track_is_claimed_once_and_its_event_queued_as_a_revision(app):
    event_id = _post(app, "cam", "p1", ["gate"])
    with app.app_context():
        row = db.session.scalar(select(Track))
        row.due_at = utcnow() - timedelta(seconds=1)
        db.session.query(Event).filter_by(id=event_id).update({"processed_at": utcnow()})
        db.session.commit()
        assert tracks.next_due() is not None
        assert tracks.claim_due() == [event_id]
        assert tracks.claim_due() == []  # claimed: its due time is gone
        event = db.session.get(Event, event_id)
        assert (event.processed_at, event.revision) == (None, 1)
        assert tracks.next_due() is None
