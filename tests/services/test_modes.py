"""Arming modes in the services: the history of changes, the list, the schedule's catch-up,
and the matcher and rule tester reading the mode at each event's time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerting.engine import modes as engine_modes
from alerting.engine.errors import ValidationError
from alerting.engine.timeparse import isoformat_z
from alerting.extensions import db
from alerting.models import Alert, AuditLog, ModeChange, ModeSettings, utcnow
from alerting.services import modes
from tests.support.factories import create_rule, post_event, run_matcher


def test_the_default_mode_is_home_and_each_change_is_kept_with_who_and_when(app):
    with app.app_context():
        assert modes.current()["mode"] == "home"
        assert modes.mode_names() == ["home", "away", "night", "vacation", "disarmed"]
        before = utcnow()
        change = modes.set_current("away", "key:phone", "key")
        modes.set_current("night", "mqtt:bridge", "mqtt")
        assert modes.set_current("night", "user:admin") is None  # already current: no entry
        rows, total = modes.history()
        assert total == 2
        assert [(r.previous, r.mode, r.source, r.actor) for r in rows] == [
            ("away", "night", "mqtt", "mqtt:bridge"), ("home", "away", "key", "key:phone")]
        assert change.at >= before
        current = modes.current()
        assert (current["mode"], current["source"], current["changed_by"]) == \
            ("night", "mqtt", "mqtt:bridge")
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "mode_set")).all()
        assert [a.details["mode"] for a in audits] == ["away", "night"]


def test_an_unknown_mode_is_refused_naming_the_field(app):
    with app.app_context():
        with pytest.raises(ValidationError) as exc:
            modes.set_current("party", "user:admin")
        assert list(exc.value.fields) == ["mode"]
        with pytest.raises(ValidationError) as exc:
            modes.check_modes(["away", "party"])
        assert list(exc.value.fields) == ["modes.1"]


def test_the_list_is_editable_but_keeps_what_is_in_use(app, admin_headers):
    client = app.test_client()
    create_rule(client, admin_headers, modes=["vacation"])
    with app.app_context():
        assert modes.set_modes({"modes": ["home", "away", "night", "vacation", "guests"]},
                               "user:admin")[-1] == "guests"
        modes.set_current("guests", "user:admin")
        for names, needed in ((["home", "away", "night", "vacation"], "guests"),
                              (["home", "away", "night", "guests"], "vacation")):
            with pytest.raises(ValidationError) as exc:
                modes.set_modes({"modes": names}, "user:admin")
            assert needed in exc.value.fields["modes"]
            db.session.rollback()
        with pytest.raises(ValidationError) as exc:
            modes.set_modes({"modes": []}, "user:admin")
        assert "modes" in exc.value.fields


def _downtime(app, since) -> None:
    """The schedule was last applied at `since`: no process ran it after that."""
    with app.app_context():
        db.session.get(ModeSettings, modes.SETTINGS_ROW).applied_through = since
        db.session.commit()


def _expected_night_changes(since, until):
    """23:00 -> night and 06:30 -> home (UTC, every day), in (since, until]."""
    out = []
    day = (since - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= until:
        for at, mode in ((day.replace(hour=6, minute=30), "home"), (day.replace(hour=23), "night")):
            if since < at <= until:
                out.append((at, mode))
        day += timedelta(days=1)
    # The first window's end only counts when its start was recorded (it was not: downtime
    # began outside it, or inside, with no one having switched to night before).
    while out and out[0][1] == "home" and not _in_night(since):
        out.pop(0)
    return out


def _in_night(when) -> bool:
    minutes = when.hour * 60 + when.minute
    return minutes >= 23 * 60 or minutes < 6 * 60 + 30


def test_catch_up_records_each_missed_change_at_its_scheduled_time_once(app, admin_headers):
    client = app.test_client()
    response = client.put("/api/mode/schedule", headers=admin_headers, json={
        "timezone": "UTC", "windows": [{"mode": "night", "start_time": "23:00",
                                        "end_time": "06:30"}]})
    assert response.status_code == 200, response.json
    since = utcnow() - timedelta(days=3)
    if _in_night(since):  # start the downtime outside a window, so no end comes first
        since -= timedelta(hours=9)
    _downtime(app, since)
    with app.app_context():
        made = modes.apply_schedule()
        now = db.session.get(ModeSettings, modes.SETTINGS_ROW).applied_through
        expected = _expected_night_changes(since, now)
        assert [(c.at, c.mode) for c in made] == expected
        assert len(expected) >= 5
        assert {c.source for c in made} == {"schedule"}
        assert modes.apply_schedule() == []  # nothing twice
        rows = db.session.scalars(select(ModeChange).order_by(ModeChange.at)).all()
        assert [(r.at, r.mode) for r in rows] == expected
        assert modes.current_mode() == ("night" if _in_night(now) else "home")


def test_the_matcher_uses_the_mode_at_each_events_time(app, admin_headers):
    client = app.test_client()
    rule = create_rule(client, admin_headers, modes=["away"])
    with app.app_context():
        start = modes.set_current("away", "user:admin").at
    time.sleep(0.2)  # the two changes 0.2 s apart: an event between them was while away
    inside = start + timedelta(seconds=0.1)
    with app.app_context():
        end = modes.set_current("home", "user:admin").at
    # Posted after the switch back to home: a backfilled event from while away still fires.
    early = post_event(client, admin_headers, started_at=isoformat_z(start - timedelta(hours=1)))
    backfilled = post_event(client, admin_headers, started_at=isoformat_z(inside))
    late = post_event(client, admin_headers, started_at=isoformat_z(end + timedelta(seconds=1)))
    run_matcher(app)
    with app.app_context():
        fired = {a.event_id for a in db.session.scalars(
            select(Alert).where(Alert.rule_id == rule["id"]))}
    assert fired == {backfilled["id"]}
    assert early["id"] not in fired and late["id"] not in fired

    result = client.post(f"/api/alerts/rules/{rule['id']}/test", headers=admin_headers,
                         json={"event_ids": [early["id"], backfilled["id"]]}).json
    by_event = {r["event_id"]: r for r in result["results"]}
    assert by_event[early["id"]]["mode"] == "home"
    assert by_event[early["id"]]["failed_conditions"] == ["mode"]
    assert by_event[backfilled["id"]]["mode"] == "away"
    assert "mode" in by_event[backfilled["id"]]["matched_conditions"]
    # test_time: every event judged in the mode of that time.
    result = client.post(f"/api/alerts/rules/{rule['id']}/test", headers=admin_headers,
                         json={"event_ids": [early["id"]], "test_time": isoformat_z(inside)}).json
    assert result["results"][0]["mode"] == "away"
    assert result["results"][0]["matches"] is True


def test_a_mode_change_reaches_the_matchers_cache(app, admin_headers):
    client = app.test_client()
    rule = create_rule(client, admin_headers, modes=["night"])
    now = utcnow()
    first = post_event(client, admin_headers, started_at=isoformat_z(now))
    run_matcher(app)  # home: nothing; the cache now holds the history
    with app.app_context():
        switched = modes.set_current("night", "user:admin").at
    second = post_event(client, admin_headers,
                        started_at=isoformat_z(switched + timedelta(seconds=1)))
    run_matcher(app)
    with app.app_context():
        fired = {a.event_id for a in db.session.scalars(
            select(Alert).where(Alert.rule_id == rule["id"]))}
    assert fired == {second["id"]}
    assert first["id"] not in fired


def _window_around(now, mode="night"):
    """A window of every day from an hour before `now` to an hour after it (UTC)."""
    return {"mode": mode, "start_time": (now - timedelta(hours=1)).strftime("%H:%M"),
            "end_time": (now + timedelta(hours=1)).strftime("%H:%M")}


def test_the_clock_works_out_the_schedule_past_the_time_it_was_applied_through():
    now = utcnow()
    schedule = engine_modes.schedule_from_record({"timezone": "UTC",
                                                  "windows": [_window_around(now)]})
    clock = modes.ModeClock([], schedule, now - timedelta(hours=2))
    assert clock.mode_at(now - timedelta(hours=2)) == "home"
    assert clock.mode_at(now) == "night"
    assert clock.mode_at(now + timedelta(hours=2)) == "home"
    assert clock.mode_at(now + timedelta(days=4000)) in ("home", "night")  # no year-long walk
    assert modes.ModeClock([], schedule, None).mode_at(now) == "home"  # never applied: history


def test_an_event_just_after_a_window_began_is_matched_before_the_worker_records_it(
        app, admin_headers):
    client = app.test_client()
    rule = create_rule(client, admin_headers, modes=["night"])
    now = utcnow()
    assert client.put("/api/mode/schedule", headers=admin_headers, json={
        "timezone": "UTC", "windows": [_window_around(now)]}).status_code == 200
    # The worker last ran two hours ago (before the window began) and has not run since.
    with app.app_context():
        db.session.get(ModeSettings, modes.SETTINGS_ROW).applied_through = \
            now - timedelta(hours=2)
        db.session.commit()
    event = post_event(client, admin_headers, started_at=isoformat_z(now))
    run_matcher(app)
    with app.app_context():
        assert db.session.scalars(select(ModeChange)).all() == []
        fired = [a.event_id for a in db.session.scalars(
            select(Alert).where(Alert.rule_id == rule["id"]))]
    assert fired == [event["id"]]


def test_a_change_names_a_known_source(app):
    with app.app_context():
        with pytest.raises(ValueError):
            modes.set_current("away", "someone", "telepathy")
        assert modes.set_current("away", "key:frigate").source == "key"  # from the actor
        assert modes.set_current("home", "user:admin").source == "user"
