"""engine.backtest: the cooldown history, the counts, and the hooks for modes and silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.engine.backtest import CooldownHistory, backtest
from tests.support.engine_factories import make_event, make_rule

T0 = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)  # a Monday


def _at(*minutes: int, camera: str = "cam-1"):
    return [make_event(id=i + 1, camera_id=camera, started_at=T0 + timedelta(minutes=m))
            for i, m in enumerate(minutes)]


def test_cooldown_history_looks_both_ways():
    history = CooldownHistory()
    window = timedelta(minutes=5)
    history.record("k", T0 + timedelta(minutes=10))
    history.record("k", T0)  # older, recorded after: kept in order
    assert history.suppresses("k", T0 + timedelta(minutes=4), window)
    assert history.suppresses("k", T0 + timedelta(minutes=6), window)  # 4 min before the 10
    assert not history.suppresses("k", T0 + timedelta(minutes=5), window)  # exactly 5: not within
    assert not history.suppresses("k", T0 - timedelta(minutes=5), window)
    assert not history.suppresses("other", T0, window)


def test_counts_cooldown_and_out_of_order_events():
    rule = make_rule(cooldown_seconds=300)
    # 0 alerts; 3 is within 5 min; 20 alerts; 17 (late) is within 5 min of 20: suppressed.
    result = backtest(rule, _at(0, 3, 20, 17, 40))
    assert (result.events_replayed, result.matches, result.alerts) == (5, 5, 3)
    assert result.suppressed_by_cooldown == 2
    assert [e.id for e, _key in result.sample] == [1, 3, 5]
    assert result.per_day == {"2026-01-12": 3}
    assert result.per_hour_of_week[1][12] == 3  # monday, noon
    assert result.busiest_keys() == [("rule-1:cam-1", 3)]


def test_days_and_hours_in_the_report_timezone():
    rule = make_rule(cooldown_seconds=0)
    late = [make_event(id=1, started_at=datetime(2026, 1, 12, 23, 30, tzinfo=UTC))]
    result = backtest(rule, late, report_timezone="Asia/Tokyo")  # 08:30 Tuesday there
    assert result.per_day == {"2026-01-13": 1} and result.per_hour_of_week[2][8] == 1


def test_a_rule_not_armed_in_the_mode_of_the_time_makes_no_alert():
    rule = make_rule(cooldown_seconds=0)
    armed_from = T0 + timedelta(minutes=10)

    def mode_at(when):
        return "away" if when >= armed_from else "home"

    result = backtest(rule, _at(0, 5, 10, 15), mode_at=mode_at,
                      rule_modes=lambda _rule: ("away",))
    assert (result.matches, result.disarmed, result.alerts) == (4, 2, 2)
    assert [e.id for e, _ in result.sample] == [3, 4]
    # Without the hook, every match alerts.
    assert backtest(rule, _at(0, 5, 10, 15)).alerts == 4


def test_a_silenced_match_is_counted_apart_and_starts_no_cooldown():
    rule = make_rule(cooldown_seconds=600)
    silenced_until = T0 + timedelta(minutes=5)
    seen = []

    def silenced_by(r, event, verdict, when):
        seen.append((r.id, event.id, verdict.dedup_key))
        return "maintenance" if when < silenced_until else None

    result = backtest(rule, _at(0, 2, 6, 8), silenced_by=silenced_by)
    # 0 and 2 silenced (no cooldown started), 6 alerts, 8 within its cooldown.
    assert (result.silenced, result.alerts, result.suppressed_by_cooldown) == (2, 1, 1)
    assert [e.id for e, _ in result.sample] == [3]
    assert seen[0] == ("rule-1", 1, "rule-1:cam-1")


def test_cannot_match_only_rejects_what_the_matcher_rejects():
    """Over every combination below: whenever cannot_match says no, match_event says no;
    and it does say no for most of those failures (it is worth asking)."""
    from itertools import product

    from alerting.engine.backtest import cannot_match
    from alerting.engine.rule_eval import match_event

    rules = [make_rule(risk_threshold=r, object_types=t, min_confidence=c)
             for r, t, c in product((None, 0, 50), (None, ("person",), ("person", "Car")),
                                    (None, 0.5))]
    events = [make_event(risk_score=s, detections=d) for s, d in product(
        (None, 0, 49, 50, 90),
        ([], [{"object_type": "PERSON"}], [{"object_type": "dog"}],
         [{"object_type": "dog"}, {"object_type": "car", "confidence": 0.2}]))]
    rejected = missed = 0
    for rule in rules:
        reject = cannot_match(rule)
        for event in events:
            said_no = reject(event.risk_score, [d.object_type for d in event.detections])
            matches = match_event(rule, event).matches
            assert not (said_no and matches), (rule, event)
            rejected += said_no
            missed += not said_no and not matches
    assert rejected > 5 * missed
