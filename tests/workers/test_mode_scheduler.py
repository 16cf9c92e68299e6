"""The mode scheduler loop: after downtime it records every missed change of the weekly mode
schedule at its scheduled time, once, even with two processes catching up at once."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from alerting import create_app, workers
from alerting.extensions import db
from alerting.models import ModeChange, ModeSettings, utcnow
from alerting.services import modes
from alerting.workers.mode_schedule_loop import ModeScheduler
from tests.support.server import wait_for

NIGHT = {"timezone": "UTC", "windows": [
    {"mode": "night", "start_time": "23:00", "end_time": "06:30"},
    {"mode": "away", "days": ["sat", "sun"], "start_time": "10:00", "end_time": "16:00"}]}


def scheduled(start, end):
    """What NIGHT does in (start, end], worked out by hand: (time, mode) in order."""
    out = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    while day <= end:
        weekend = day.weekday() >= 5
        for at, mode in ((day.replace(hour=6, minute=30), "home"),
                         (day.replace(hour=10), "away" if weekend else None),
                         (day.replace(hour=16), "home" if weekend else None),
                         (day.replace(hour=23), "night")):
            if mode and start < at <= end:
                out.append((at, mode))
        day += timedelta(days=1)
    return out


def quiet_start(now):
    """A time about four days back at which no window is open (14:00 on a weekday...)."""
    start = (now - timedelta(days=4)).replace(hour=17, minute=0, second=0, microsecond=0)
    return start


def history(app):
    with app.app_context():
        try:
            return [(c.at, c.mode, c.source) for c in db.session.scalars(
                select(ModeChange).order_by(ModeChange.at, ModeChange.id))]
        finally:
            db.session.remove()


def down_since(app, client, headers, since):
    assert client.put("/api/mode/schedule", json=NIGHT, headers=headers).status_code == 200
    with app.app_context():
        db.session.get(ModeSettings, modes.SETTINGS_ROW).applied_through = since
        db.session.commit()


def test_the_loop_catches_up_after_downtime_then_waits_for_the_next_boundary(
        app, client, admin_headers):
    since = quiet_start(utcnow())
    down_since(app, client, admin_headers, since)
    [loop] = workers.launch(app, ["modes"])
    try:
        wait_for(lambda: client.get("/api/mode/schedule", headers=admin_headers)
                 .json["applied_through"] > since.isoformat())
        wait_for(lambda: len(history(app)) >= 7)
        recorded = history(app)
        through = client.get("/api/mode/schedule", headers=admin_headers).json["applied_through"]
        expected = [(at, mode, "schedule") for at, mode in scheduled(since, utcnow())
                    if at.isoformat().replace("+00:00", "Z") <= through]
        assert recorded == expected
        health = client.get("/api/health").json
        assert health["workers"]["modes"]["state"] == "running"
        assert loop.alive
    finally:
        workers.stop(app)
    # A second run finds nothing more to record for the same time.
    assert ModeScheduler(app).run_once() <= 30.0
    assert history(app)[: len(recorded)] == recorded
    assert len({at for at, _m, _s in history(app)}) == len(history(app))


def test_the_wait_ends_just_after_the_next_boundary(app, client, admin_headers):
    now = utcnow()
    soon = now + timedelta(minutes=2)
    body = {"timezone": "UTC", "windows": [
        {"mode": "away", "start_time": soon.strftime("%H:%M"),
         "end_time": (soon + timedelta(hours=1)).strftime("%H:%M")}]}
    assert client.put("/api/mode/schedule", json=body, headers=admin_headers).status_code == 200
    wait_seconds = ModeScheduler(app, poll_seconds=600).run_once()
    boundary = soon.replace(second=0, microsecond=0)
    assert abs(wait_seconds - (boundary - utcnow()).total_seconds()) < 1.0
    assert ModeScheduler(app, poll_seconds=30).run_once() == 30.0  # beyond the poll


def test_two_processes_catching_up_at_once_record_each_change_once(app, client, admin_headers):
    since = quiet_start(utcnow())
    down_since(app, client, admin_headers, since)
    other = create_app({**{k: app.config[k] for k in (
        "TESTING", "DATABASE_URL", "SECRET_KEY", "INPROCESS_WORKERS", "PASSWORD_HASH_METHOD")},
        "BOOTSTRAP": False})
    barrier = threading.Barrier(2)
    errors = []

    def catch_up(an_app):
        try:
            barrier.wait()
            ModeScheduler(an_app).run_once()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=catch_up, args=(a,)) for a in (app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with other.app_context():
        db.engine.dispose()
    assert errors == []
    recorded = history(app)
    assert len(recorded) >= 7
    assert len({at for at, _m, _s in recorded}) == len(recorded)
    assert [(at, mode) for at, mode, _s in recorded] == scheduled(since, recorded[-1][0])
