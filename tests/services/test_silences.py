"""The silence and mute timing services: plain outputs, and the matcher's cache following
changes made by another process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerting import create_app
from alerting.engine.errors import ValidationError
from alerting.engine.silences import MuteTiming, Silence
from alerting.errors import ApiError
from alerting.extensions import db
from alerting.models import Alert
from alerting.services import mute_timings, silences
from tests.support.factories import create_rule, post_event, run_matcher

CAMERA = {"field": "camera_id", "op": "=", "value": "back-door"}


def test_plain_outputs_for_export_and_replay(app):
    with app.app_context():
        row = silences.create_silence({"matchers": [CAMERA], "duration": 600,
                                       "comment": "x"}, "test")
        as_dict = silences.silence_dict(row)
        assert as_dict["state"] == "active" and as_dict["matchers"] == [CAMERA]
        assert as_dict["ends_at"].endswith("Z")
        later = silences.silence_dict(row, now=datetime.now(UTC) + timedelta(hours=1))
        assert later["state"] == "expired"
        [engine] = silences.engine_silences(covering=datetime.now(UTC))
        assert isinstance(engine, Silence) and engine.id == row.id
        assert silences.engine_silences(covering=datetime.now(UTC) - timedelta(hours=1)) == []
        mute_timings.create_mute_timing({"name": "nights", "intervals": [
            {"days": ["fri"], "start_time": "22:00", "end_time": "06:00"}]}, "test")
        [timing] = mute_timings.list_mute_timings()
        assert timing["intervals"] == [{"days": ["fri"], "start_time": "22:00",
                                        "end_time": "06:00"}]
        assert timing["rules"] == [] and timing["channels"] == []
        assert isinstance(mute_timings.engine_mute_timings()["nights"], MuteTiming)


def test_snooze_matchers_from_an_alert(app, client, admin_headers):
    create_rule(client, admin_headers, channels=[])
    post_event(client, admin_headers, started_at=datetime.now(UTC).isoformat())
    run_matcher(app)
    with app.app_context():
        alert = db.session.query(Alert).one()
        assert silences.snooze_matchers(alert, "rule") == [
            {"field": "rule_id", "op": "=", "value": alert.rule_id}]
        with pytest.raises(ValidationError) as exc:
            silences.snooze_matchers(alert, "zone")
        assert set(exc.value.fields) == {"scope"}
        alert.object_type = None
        with pytest.raises(ValidationError):
            silences.snooze_matchers(alert, "camera_object")


def test_snoozing_the_same_thing_twice_is_one_silence_to_the_later_end(app, client,
                                                                       admin_headers):
    """The alert email's and the escalation email's "snooze this camera" both clicked: one
    silence, its end the later of the two; another scope is a silence of its own."""
    from alerting.models import AuditLog
    from alerting.models import Silence as SilenceRow

    create_rule(client, admin_headers, channels=[])
    post_event(client, admin_headers, started_at=datetime.now(UTC).isoformat())
    run_matcher(app)
    with app.app_context():
        alert = db.session.query(Alert).one()
        first = silences.snooze_for(alert, "camera", 30, "alice")
        first_id, first_end = first.id, first.ends_at
        again = silences.snooze_for(alert, "camera", 30, "bob")
        assert again.id == first_id and again.ends_at >= first_end
        shorter = silences.snooze_for(alert, "camera", 15, "carol")
        assert shorter.id == first_id and shorter.ends_at == again.ends_at  # never shortened
        longer = silences.snooze_for(alert, "camera", 480, "dave")
        assert longer.id == first_id
        assert longer.ends_at - first_end > timedelta(hours=7)
        other = silences.snooze_for(alert, "rule", 30, "erin")
        assert other.id != first_id
        assert db.session.query(SilenceRow).count() == 2
        done = {}
        for actor, action in db.session.query(AuditLog.actor, AuditLog.action).filter(
                AuditLog.action.like("silence_%")):
            done.setdefault(actor, []).append(action)
        assert (done["alice"], done["dave"], done["erin"]) == (
            ["silence_create"], ["silence_extend"], ["silence_create"])
        assert "carol" not in done  # nothing changed: nothing audited
        # An expired one is not reused: a new snooze is a new silence.
        silences.expire_silence(other.id, "erin")
        assert silences.snooze_for(alert, "rule", 15, "erin").id != other.id


def test_unknown_names_and_in_use(app):
    with app.app_context():
        with pytest.raises(ValidationError) as exc:
            mute_timings.check_names(["a", "b"], "mute_timings")
        assert exc.value.fields == {"mute_timings.0": "unknown mute timing 'a'",
                                    "mute_timings.1": "unknown mute timing 'b'"}
        with pytest.raises(ApiError) as missing:
            mute_timings.get_mute_timing("nope")
        assert missing.value.status == 404


def test_another_process_sees_a_new_silence_at_once(app, client, admin_headers):
    """Two apps on one database (two processes): a silence made through one is applied by
    the other's matcher at its next batch, its cache invalidated by the silences counter."""
    other = create_app({**{k: app.config[k] for k in (
        "TESTING", "DATABASE_URL", "SECRET_KEY", "INPROCESS_WORKERS", "BOOTSTRAP",
        "PASSWORD_HASH_METHOD")}})
    create_rule(client, admin_headers, channels=[])
    post_event(client, admin_headers, started_at=datetime.now(UTC).isoformat())
    assert run_matcher(other) == 1  # the other's cache is loaded: no silences
    client.post("/api/silences", json={"matchers": [CAMERA], "duration": 600},
                headers=admin_headers)
    post_event(client, admin_headers, started_at=datetime.now(UTC).isoformat())
    assert run_matcher(other) == 1
    with app.app_context():
        statuses = [a.status for a in db.session.query(Alert).order_by(Alert.id)]
    assert statuses == ["delivered", "silenced"]
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
