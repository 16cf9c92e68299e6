"""Escalation decisions with a fake clock: when an alert escalates, and whether it still does."""

from datetime import UTC, datetime, timedelta

import pytest

from alerting.engine import escalation
from alerting.engine.escalation import Policy

T0 = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


def test_no_delay_or_no_target_means_no_policy():
    assert escalation.policy_from_record(None, {"webhook_url": "https://x"}, None) is None
    assert escalation.policy_from_record(300, None, None) is None
    assert escalation.policy_from_record(300, {"webhook_url": None, "push_urls": None,
                                               "email_recipients": None}, None) is None
    assert escalation.policy_from_record(300, {"webhook_url": "https://x"}, "high") \
        == Policy(300, "high")


def test_due_after_the_delay_from_creation():
    assert escalation.due_at(Policy(300), "low", "pending", T0) == T0 + timedelta(minutes=5)
    assert escalation.due_at(None, "critical", "pending", T0) is None


@pytest.mark.parametrize("status", ["silenced", "acknowledged", "dismissed"])
def test_settled_alerts_never_escalate(status):
    assert escalation.due_at(Policy(60), "critical", status, T0) is None
    assert not escalation.still_escalates(status)


@pytest.mark.parametrize("status", ["pending", "delivered", "failed"])
def test_unacknowledged_alerts_still_escalate(status):
    assert escalation.still_escalates(status)


@pytest.mark.parametrize(("severity", "escalates"), [
    ("critical", True), ("high", True), ("medium", False), ("low", False)])
def test_min_severity_is_at_least(severity, escalates):
    due = escalation.due_at(Policy(60, "high"), severity, "pending", T0)
    assert (due is not None) is escalates


@pytest.mark.parametrize(("seconds", "text"), [
    (300, "5 min"), (90, "90 s"), (45, "45 s"), (3600, "1 h"), (5400, "1 h 30 min")])
def test_reason_reads_as_people_say_it(seconds, text):
    assert escalation.reason(seconds) == f"Escalated: not acknowledged within {text}"


def test_the_loop_sleeps_until_the_earliest_due_time_at_most_the_cap():
    assert escalation.wait_seconds(None, T0, 1.0) == 1.0
    assert escalation.wait_seconds(T0 + timedelta(seconds=0.25), T0, 1.0) == 0.25
    assert escalation.wait_seconds(T0 - timedelta(seconds=3), T0, 1.0) == 0.0
    assert escalation.wait_seconds(T0 + timedelta(seconds=30), T0, 1.0) == 1.0
