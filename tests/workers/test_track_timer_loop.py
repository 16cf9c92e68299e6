"""The track timer (workers/track_timer_loop.py) prunes ended tracks, expired used action
tokens and the history past its retention at most every PRUNE_SECONDS, a batch at a time, and
its timers never wait on that."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from alerting.extensions import db
from alerting.models import AuditLog, Track, UsedActionToken, utcnow
from alerting.workers import track_timer_loop
from alerting.workers.track_timer_loop import TrackTimer


def _old_rows(app, count, at):
    """`count` ended tracks and used tokens, `at` long ago."""
    with app.app_context():
        for n in range(count):
            db.session.add(Track(camera_id="cam", track_id=f"t{n}", state={}, last_seen=at,
                                 ended_at=at))
            db.session.add(UsedActionToken(token_id=f"k{n}", action="acknowledge", alert_id=1,
                                           used_at=at))
            db.session.add(AuditLog(at=at - timedelta(days=365), actor="admin", action="x"))
        db.session.commit()


def _left(app):
    with app.app_context():
        counts = (db.session.scalar(select(func.count()).select_from(Track)),
                  db.session.scalar(select(func.count()).select_from(UsedActionToken)),
                  db.session.scalar(select(func.count()).select_from(AuditLog)
                                    .where(AuditLog.action == "x")))
        db.session.remove()
        return counts


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_pruning_runs_every_few_minutes_a_batch_at_a_time_until_done(app, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(track_timer_loop, "utcnow", clock)
    monkeypatch.setattr(track_timer_loop, "PRUNE_BATCH", 2)
    _old_rows(app, 3, clock.now - timedelta(days=30))
    timer = TrackTimer(app)
    timer.run_once()
    assert _left(app) == (1, 1, 1)  # a full batch: more is left
    timer.run_once()
    assert _left(app) == (0, 0, 0)  # the next cycle goes on
    _old_rows(app, 1, clock.now - timedelta(days=30))
    clock.now += timedelta(seconds=track_timer_loop.PRUNE_SECONDS - 1)
    timer.run_once()
    assert _left(app) == (1, 1, 1)  # done: not again before PRUNE_SECONDS
    clock.now += timedelta(seconds=1)
    timer.run_once()
    assert _left(app) == (0, 0, 0)


def test_a_pruning_failure_is_logged_and_does_not_stop_the_timers(app, monkeypatch, caplog):
    def broken(*_args):
        raise RuntimeError("no pruning today")

    monkeypatch.setattr(track_timer_loop.tracks, "prune_ended", broken)
    with app.app_context():
        db.session.add(Track(camera_id="cam", track_id="t", state={}, last_seen=utcnow(),
                             due_at=utcnow() + timedelta(seconds=3)))
        db.session.commit()
    timer = TrackTimer(app, poll_seconds=60)
    assert 0 < timer.run_once() <= 3  # still sleeps until the due time
    assert "pruning failed" in caplog.text
