"""services/tracks: ingest folds events into tracks; silent tracks end; due tracks are claimed
once and their event queued again as a revision; dwell is counted in seconds whatever the
server's timezone does to its clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerting.engine.rule_eval import match_event
from alerting.engine.tracks import Track as EngineTrack
from alerting.engine.tracks import due_at, track_spec
from alerting.extensions import db
from alerting.models import Event, Track, utcnow
from alerting.services import ingest, tracks
from tests.support.app import make_app
from tests.support.engine_factories import make_event, make_rule


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


def test_a_frigate_objects_attributes_are_kept_on_its_track(app):
    from alerting.ingest import frigate
    from tests.support.mqtt import tracked

    state = tracked("f-1", "front", 1765000000.0, attributes={"face": 0.81, "": 1,
                                                            "license_plate": "high"})
    with app.app_context():
        frigate.store("frigate", state)
        frigate.store("frigate", {**state, "frame_time": 1765000003.0,
                                  "attributes": {"face": 0.93}})
    [(track_state, _ended, _event, _due)] = _tracks(app).values()
    assert track_state["attributes"] == {"face": 0.93, "license_plate": None}


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


def test_the_track_timeout_is_a_setting(tmp_path):
    app = make_app(tmp_path, TRACK_TIMEOUT_SECONDS=5)
    _post(app, "cam", "p1", ["gate"])
    with app.app_context():
        assert tracks.end_silent(utcnow() + timedelta(seconds=4)) == 0
        assert tracks.end_silent(utcnow() + timedelta(seconds=6)) == 1


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


def _end(app, camera, track_id, at):
    with app.app_context():
        db.session.query(Track).filter_by(camera_id=camera, track_id=track_id).update(
            {"ended_at": at})
        db.session.commit()


def test_ended_tracks_are_pruned_after_the_retention_in_batches_and_open_ones_kept(app):
    retention = timedelta(seconds=app.config["TRACK_RETENTION_SECONDS"])
    assert retention == timedelta(days=7)  # the default
    ended = utcnow()
    for track_id in ("a", "b", "c"):
        _post(app, "cam", track_id, ["gate"])
        _end(app, "cam", track_id, ended)
    _post(app, "cam", "open", ["gate"])
    with app.app_context():
        assert tracks.prune_ended(ended + retention) == 0  # not past it yet
        later = ended + retention + timedelta(seconds=1)
        assert tracks.prune_ended(later, limit=2) == 2
        assert tracks.prune_ended(later, limit=2) == 1
        assert tracks.prune_ended(later + timedelta(days=365)) == 0  # never an open one
    assert set(_tracks(app)) == {("cam", "open")}


def test_an_ended_track_stays_ended_within_the_retention_and_its_id_starts_anew_after(app):
    frigate = {"frigate": {"current_zones": ["street"]}}
    with app.app_context():  # Frigate's `end`: the track's own end, which a late message keeps
        status, body = ingest.ingest({
            "camera_id": "cam", "attributes": frigate, "started_at": "2026-01-01T00:00:00Z",
            "ended_at": "2026-01-01T00:00:09Z",
            "detections": [{"object_type": "person", "track_id": "p1"}]})
        assert status == 201, body
    ended = _tracks(app)[("cam", "p1")][1]
    assert ended is not None
    with app.app_context():
        assert tracks.prune_ended(ended + timedelta(days=6)) == 0
    _post(app, "cam", "p1", ["driveway"])  # late: the ended track does not take it
    state, still_ended, _event, _due = _tracks(app)[("cam", "p1")]
    assert still_ended == ended and [v[0] for v in state["visits"]] == ["street"]
    with app.app_context():
        assert tracks.prune_ended(ended + timedelta(days=7, seconds=1)) == 1
    _post(app, "cam", "p1", ["driveway"])  # after the retention: a new track
    state, ended_now, _event, _due = _tracks(app)[("cam", "p1")]
    assert ended_now is None and [v[0] for v in state["visits"]] == ["driveway"]


def test_the_retention_is_a_setting(tmp_path):
    app = make_app(tmp_path, TRACK_RETENTION_SECONDS=60)
    _post(app, "cam", "p1", [])
    ended = utcnow()
    _end(app, "cam", "p1", ended)
    with app.app_context():
        assert tracks.prune_ended(ended + timedelta(seconds=60)) == 0
        assert tracks.prune_ended(ended + timedelta(seconds=61)) == 1


def test_an_id_heard_again_after_its_silence_ended_the_track_is_a_new_track(app):
    """Detectors over HTTP reuse track ids (a tracker restarted counts from 1 again): once
    the silence ended a track, the same id is another object. Resumed, the old track's open
    visit would have made hours of dwell out of the gap."""
    _post(app, "cam", "1", ["gate"])
    first = _tracks(app)[("cam", "1")][0]
    with app.app_context():
        assert tracks.end_silent(utcnow() + timedelta(seconds=61)) == 1
    state, ended, _event, _due = _tracks(app)[("cam", "1")]
    assert ended is not None
    assert state["ended_at"] == state["last_seen"]  # the event page shows the end too
    later = _post(app, "cam", "1", ["porch"])
    state, ended, event_id, _due = _tracks(app)[("cam", "1")]
    assert ended is None and state["ended_at"] is None and event_id == later
    assert [v[0] for v in state["visits"]] == ["porch"]
    assert state["first_seen"] > first["first_seen"]


# America/New_York's clocks go forward an hour at 07:00 UTC on 2026-03-08 and back an hour at
# 06:00 UTC on 2026-11-01: 30 s of dwell across either change are 30 s, not 3,630 or -3,570.
@pytest.mark.parametrize("change", [datetime(2026, 3, 8, 7, tzinfo=UTC),
                                    datetime(2026, 11, 1, 6, tzinfo=UTC)])
def test_dwell_across_a_daylight_saving_change_counts_the_seconds_that_passed(tmp_path, change):
    zone = "America/New_York"
    app = make_app(tmp_path, TIMEZONE=zone)
    entered = change - timedelta(seconds=10)
    detection = {"object_type": "person", "zone_ids": ["gate"], "track_id": "p1"}
    rule = make_rule(zone_ids=["gate"], min_dwell_seconds=30)
    with app.app_context():
        conn = db.session.connection()
        assert tracks.observe_records(conn, [{"id": None, "camera_id": "cam", "attributes": None,
                                              "detections": [detection]}], now=entered) == 1
        event = make_event(camera_id="cam", started_at=entered, detections=[detection])
        verdicts = {}
        for after in (29, 30):
            [seen], rows = tracks.with_tracks(conn, [event],
                                              at=entered + timedelta(seconds=after))
            verdicts[after] = match_event(rule, seen, default_timezone=zone)
        track = EngineTrack.from_dict(rows[("cam", "p1")].state)
        db.session.rollback()
    assert not verdicts[29].matches
    assert verdicts[29].explanations == {"dwell": "in `gate` for 29 s of the 30 s required"}
    assert verdicts[30].matches
    assert verdicts[30].explanations == {"dwell": "in `gate` for 30 s of the 30 s required"}
    assert due_at(track_spec(rule), track, 60.0) == entered.timestamp() + 30
