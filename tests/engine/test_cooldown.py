from datetime import UTC, datetime, timedelta

import pytest

from alerting.engine.cooldown import CooldownLedger, within_cooldown

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("last", "now", "cooldown", "suppressed"),
    [
        (None, at(0), 300, False),  # never alerted
        (at(0), at(0), 0, False),  # 0 means no cooldown
        (at(0), at(1), 0, False),
        (at(0), at(0), 300, True),
        (at(0), at(299), 300, True),
        (at(0), at(299.999), 300, True),
        (at(0), at(300), 300, False),  # exactly the cooldown later: allowed
        (at(0), at(3600), 300, False),
        (at(600), at(400), 300, True),  # a backfilled older event is as close
        (at(600), at(300), 300, False),
        (at(0), at(10), -5, False),
    ],
)
def test_within_cooldown(last, now, cooldown, suppressed):
    assert within_cooldown(last, now, cooldown) is suppressed


def test_ledger_suppresses_after_record():
    ledger = CooldownLedger()
    assert not ledger.suppresses("r1", "k", at(0), 300)
    ledger.record("r1", "k", at(0))
    assert ledger.suppresses("r1", "k", at(100), 300)
    assert not ledger.suppresses("r1", "k", at(300), 300)
    assert not ledger.suppresses("r1", "k", at(100), 0)


def test_ledger_keys_and_rules_are_independent():
    ledger = CooldownLedger()
    ledger.record("r1", "cam-1", at(0))
    assert not ledger.suppresses("r1", "cam-2", at(1), 300)
    assert not ledger.suppresses("r2", "cam-1", at(1), 300)
    assert len(ledger) == 1


def test_record_keeps_the_newest_time():
    ledger = CooldownLedger()
    ledger.record("r1", "k", at(500))
    ledger.record("r1", "k", at(100))
    assert ledger.suppresses("r1", "k", at(750), 300)  # measured from 500, not 100


def test_replay_measures_from_the_last_alert_not_the_last_event():
    ledger = CooldownLedger()
    alerted = []
    for seconds in (0, 100, 250, 310, 500, 700):
        if not ledger.suppresses("r1", "k", at(seconds), 300):
            ledger.record("r1", "k", at(seconds))
            alerted.append(seconds)
    assert alerted == [0, 310, 700]


def test_prune_drops_only_the_entries_before():
    ledger = CooldownLedger()
    ledger.record("r1", "a", at(0))
    ledger.record("r1", "b", at(1000))
    ledger.record("r2", "a", at(0))
    assert ledger.prune(at(500)) == 2
    assert len(ledger) == 1
    assert ledger.suppresses("r1", "b", at(1100), 300)
    assert not ledger.suppresses("r1", "a", at(100), 300)
