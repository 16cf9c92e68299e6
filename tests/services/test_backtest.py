"""The backtest against the real matcher: over the same stored events, the alerts it says a
rule would have made are the alerts the matcher made."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerting.extensions import db
from alerting.models import Alert, ModeChange, Silence
from alerting.services import backtest as backtest_service
from tests.support.factories import create_rule, run_matcher

START = datetime(2026, 3, 1, tzinfo=UTC)
RULES = {
    "hourly keys, overnight in Paris": dict(
        object_types=["person", "car"], camera_ids=None, cooldown_seconds=900,
        risk_threshold=30,
        dedup_key_template="{camera_id}:{object_type}:{hour}",
        schedule={"days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "20:00",
                  "end_time": "07:00", "timezone": "Europe/Paris"}),
    "default key, zones and confidence": dict(
        object_types=None, camera_ids=["cam-1", "cam-2"], zone_ids=["porch"],
        min_confidence=0.6, cooldown_seconds=300),
    "no cooldown, conditions": dict(
        object_types=["dog"], camera_ids=None, cooldown_seconds=0,
        conditions=[{"field": "risk_score", "op": "gte", "value": 40}]),
    # What the detector recognised: read from the detections and attributes, as the matcher.
    "who, and which plate": dict(
        object_types=None, camera_ids=None, cooldown_seconds=60,
        conditions=[{"field": "identity", "op": "in", "value": ["bob", "alice"]},
                    {"field": "plate", "op": "ne", "value": "KNOWN1"}]),
}


def _events(count: int, seed: int) -> list[dict]:
    """Events over three days, posted partly out of time order (as detectors do)."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        when = START + timedelta(seconds=rng.randrange(3 * 24 * 3600))
        # Types in any case (rules compare them case-insensitively); some events no score.
        detections = [{"object_type": rng.choice(["person", "Person", "car", "CAR", "dog",
                                                  "cat"]),
                       "confidence": round(rng.uniform(0.3, 1.0), 2),
                       "zone_ids": rng.sample(["porch", "drive", "yard"], rng.randint(0, 2)),
                       **rng.choice([{}, {}, {"identity": "Bob"}, {"identity": "carol"},
                                     {"identity": "alice",
                                      "identity_score": round(rng.uniform(0.5, 1.0), 2)}])}
                      for _ in range(rng.randint(0, 3))]
        attributes = rng.choice([None, {"plate": rng.choice(["KNOWN1", "AB12CDE"])},
                                 {"identity": {"name": "bob", "score": 0.7}}])
        events.append({"camera_id": f"cam-{rng.randint(1, 3)}", "source": "t",
                       "external_id": f"e{i}", "started_at": when.isoformat(),
                       "risk_score": rng.choice([None, *range(101)]),
                       "detections": detections, "attributes": attributes})
    events.sort(key=lambda e: (e["started_at"], rng.random() < 0.8))
    return events


def _store_and_match(app, client, headers, events: list[dict]) -> None:
    for i in range(0, len(events), 300):
        response = client.post("/api/events", json={"events": events[i:i + 300]},
                               headers=headers)
        assert response.status_code == 201, response.json
    assert run_matcher(app) == len(events)


@pytest.mark.parametrize("name", sorted(RULES))
def test_backtest_equals_what_the_live_matcher_made(app, client, admin_headers, name):
    rule = create_rule(client, admin_headers, name=name, **RULES[name])
    events = _events(900, seed=len(name))
    _store_and_match(app, client, admin_headers, events)
    with app.app_context():
        made = db.session.execute(select(Alert.event_id, Alert.dedup_key)
                                  .where(Alert.rule_id == rule["id"])
                                  .order_by(Alert.id)).all()
    assert len(made) > 10  # the comparison means something
    response = client.post(f"/api/alerts/rules/{rule['id']}/backtest", headers=admin_headers,
                           json={"since": "2026-03-01T00:00:00Z",
                                 "until": "2026-03-05T00:00:00Z", "limit": 1000})
    assert response.status_code == 200, response.json
    body = response.json
    assert [(a["event_id"], a["dedup_key"]) for a in body["alerts_listed"]] == \
        [tuple(row) for row in made]
    assert body["alerts"] == len(made) and body["alerts_truncated"] is False
    assert body["events_replayed"] <= len(events)
    assert sum(d["alerts"] for d in body["per_day"]) == len(made)
    assert sum(map(sum, body["per_hour_of_week"].values())) == len(made)


def test_criteria_over_time_are_left_out_and_said(app, client, admin_headers):
    """Dwell, sequence, stillness, identity criteria and counts need the tracks as they were,
    which are not kept: the replay leaves them out (an upper bound) and names them."""
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-05T00:00:00Z"}
    _store_and_match(app, client, admin_headers, _events(300, seed=7))
    plain = create_rule(client, admin_headers, name="plain", zone_ids=["porch"],
                        camera_ids=None, cooldown_seconds=600)
    tracked = create_rule(client, admin_headers, name="loitering", zone_ids=["porch"],
                          camera_ids=None, cooldown_seconds=600, min_dwell_seconds=30,
                          exclude_identities=["*"], min_count=2)
    answers = [client.post(f"/api/alerts/rules/{rule['id']}/backtest", headers=admin_headers,
                           json=window).json for rule in (plain, tracked)]
    assert answers[0]["not_replayed"] == []
    assert answers[1]["not_replayed"] == ["dwell", "identity", "min_count"]
    assert answers[1]["alerts"] == answers[0]["alerts"] > 0


def test_events_stream_from_one_query_in_id_order(app, client, admin_headers, monkeypatch):
    """The replay reads one query (events and detections together, in chunks of
    CHUNK_ROWS rows: 7 here), lazily, in the matcher's order (by id), none lost at the
    chunk edges."""
    monkeypatch.setattr(backtest_service, "CHUNK_ROWS", 7)
    events = _events(60, seed=1)
    assert client.post("/api/events", json={"events": events},
                       headers=admin_headers).status_code == 201
    fetched: list[int] = []
    with app.app_context():
        conn = db.session.connection()
        from sqlalchemy import event as sa_event

        def count(_conn, cursor, *_args):
            fetched.append(1)

        sa_event.listen(conn.engine, "after_cursor_execute", count)
        try:
            stream = backtest_service.stored_events(START, START + timedelta(days=4))
            first = next(stream)
            rest = list(stream)
        finally:
            sa_event.remove(conn.engine, "after_cursor_execute", count)
    assert first.id is not None and len(rest) == len(events) - 1
    assert [e.id for e in [first, *rest]] == sorted(e.id for e in [first, *rest])
    assert len(fetched) == 1  # one query, read in chunks


def test_backtest_replays_silences_mute_timings_and_modes_as_they_were(app, client,
                                                                       admin_headers):
    """A silence (long expired now) active for part of the range, another on an identity
    (read from the events' attributes), a mute timing named by the rule, and the arming
    mode changed twice in the middle of it: the alerts the
    backtest lists are the matcher's delivered ones, its `silenced` count the matcher's
    silenced alerts, and the matches in a mode the rule is not armed in are `disarmed`."""
    response = client.post("/api/mute-timings", headers=admin_headers, json={
        "name": "lunch", "intervals": [{"start_time": "12:00", "end_time": "14:00"}],
        "timezone": "UTC"})
    assert response.status_code == 201, response.json
    rule = create_rule(client, admin_headers, name="Quiet at times",
                       object_types=["person", "car"], camera_ids=None, cooldown_seconds=600,
                       dedup_key_template="{camera_id}:{object_type}", modes=["home", "night"],
                       mute_timings=["lunch"])
    with app.app_context():
        db.session.add(Silence(matchers=[{"field": "camera_id", "op": "=", "value": "cam-1"}],
                               starts_at=START + timedelta(hours=10),
                               ends_at=START + timedelta(hours=30), comment="builders",
                               created_by="test"))
        db.session.add_all([  # the stored history: away for half a day, then night
            ModeChange(at=START + timedelta(hours=40), mode="away", previous="home",
                       source="user", actor="test"),
            ModeChange(at=START + timedelta(hours=52), mode="night", previous="away",
                       source="user", actor="test")])
        db.session.commit()
    with app.app_context():  # and Alice, known by face, is never alerted on (a day long)
        db.session.add(Silence(matchers=[{"field": "identity", "op": "=", "value": "alice"}],
                               starts_at=START + timedelta(hours=48),
                               ends_at=START + timedelta(hours=72), comment="family",
                               created_by="test"))
        db.session.commit()
    events = _events(900, seed=7)
    for event in events[::4]:
        event["attributes"] = {"identity": {"name": "Alice"}}
    _store_and_match(app, client, admin_headers, events)
    with app.app_context():
        made = db.session.execute(select(Alert.event_id, Alert.dedup_key, Alert.status,
                                         Alert.silence_id, Alert.mute_timing)
                                  .where(Alert.rule_id == rule["id"])
                                  .order_by(Alert.id)).all()
    delivered = [(row.event_id, row.dedup_key) for row in made if row.status != "silenced"]
    silenced = [row for row in made if row.status == "silenced"]
    # Each way of being quiet happened, so the comparison means something.
    assert len(delivered) > 10
    assert any(row.mute_timing for row in silenced)
    with app.app_context():
        family = db.session.scalar(select(Silence.id).where(Silence.comment == "family"))
    assert {row.silence_id for row in silenced} > {family, None}
    response = client.post(f"/api/alerts/rules/{rule['id']}/backtest", headers=admin_headers,
                           json={"since": "2026-03-01T00:00:00Z",
                                 "until": "2026-03-05T00:00:00Z", "limit": 1000})
    assert response.status_code == 200, response.json
    body = response.json
    assert [(a["event_id"], a["dedup_key"]) for a in body["alerts_listed"]] == delivered
    assert body["alerts"] == len(delivered)
    assert body["silenced"] == len(silenced)
    assert body["disarmed"] > 0
    assert body["matches"] == (body["alerts"] + body["silenced"] + body["disarmed"]
                               + body["suppressed_by_cooldown"])
