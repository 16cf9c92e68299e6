"""Digest decisions with a fake clock: when one is due, which alerts it takes, its summary."""

from datetime import UTC, datetime, time, timedelta

import pytest

from alerting.engine import digest
from alerting.engine.digest import AlertFacts, Filter, Schedule

T0 = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)  # a Thursday


def alert(i, severity="low", camera="porch", rule="Person", mode=None, snapshot=False,
          minutes=0):
    return AlertFacts(id=i, rule_id=f"r-{rule}", rule_name=rule, camera_id=camera,
                      severity=severity, event_id=100 + i,
                      event_time=T0 + timedelta(minutes=minutes), mode=mode,
                      has_snapshot=snapshot)


def test_every_seconds_is_after_the_last():
    assert digest.next_due(Schedule(every_seconds=3600), T0) == T0 + timedelta(hours=1)


@pytest.mark.parametrize(("now", "days", "expected"), [
    (T0, ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
     datetime(2026, 1, 15, 7, 0, tzinfo=UTC)),  # 08:00 in Paris is 07:00 UTC in winter
    (datetime(2026, 1, 15, 7, 0, tzinfo=UTC), ("thu", "fri"),
     datetime(2026, 1, 16, 7, 0, tzinfo=UTC)),  # exactly due: the next one
    (T0, ("mon",), datetime(2026, 1, 19, 7, 0, tzinfo=UTC)),
    (datetime(2026, 7, 1, 0, 0, tzinfo=UTC), ("wed",),
     datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),  # summer time: 08:00 is 06:00 UTC
])
def test_at_a_local_time_on_days(now, days, expected):
    schedule = Schedule(at=time(8, 0), days=days, timezone="Europe/Paris")
    assert digest.next_due(schedule, now) == expected


def test_the_default_timezone_when_none_is_given():
    schedule = digest.schedule_from_record({"at": "03:30", "days": None, "timezone": None})
    assert digest.next_due(schedule, T0, "UTC") == T0 + timedelta(hours=1, minutes=30)
    assert digest.next_due(schedule, T0, "America/New_York") \
        == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(("flt", "facts", "takes"), [
    (Filter(), alert(1, "critical"), True),
    (Filter(max_severity="low"), alert(1, "low"), True),
    (Filter(max_severity="low"), alert(1, "medium"), False),
    (Filter(min_severity="high"), alert(1, "critical"), True),
    (Filter(min_severity="high"), alert(1, "medium"), False),
    (Filter(modes=("away",)), alert(1, mode="away"), True),
    (Filter(modes=("away",)), alert(1, mode="home"), False),
    (Filter(cameras=("porch",)), alert(1, camera="garden"), False),
    (Filter(rules=("Person",)), alert(1, rule="Person"), True),  # by name
    (Filter(rules=("r-Person",)), alert(1, rule="Person"), True),  # by id
    (Filter(rules=("Car",)), alert(1, rule="Person"), False),
])
def test_filter(flt, facts, takes):
    assert digest.matches(flt, facts) is takes


def test_summary_counts_per_camera_and_rule_worst_first_with_top_snapshots():
    alerts = [alert(1, "low", "porch", "Cat", snapshot=True),
              alert(2, "low", "porch", "Cat"),
              alert(3, "low", "porch", "Cat", snapshot=True, minutes=5),
              alert(4, "high", "garden", "Person", snapshot=True),
              alert(5, "medium", "drive", "Car")]
    summary = digest.summarize(alerts)
    assert summary.total == 5
    assert summary.by_severity == {"high": 1, "medium": 1, "low": 3}
    assert [(g["camera_id"], g["rule_name"], g["severity"], g["count"])
            for g in summary.groups] == [("garden", "Person", "high", 1),
                                         ("drive", "Car", "medium", 1),
                                         ("porch", "Cat", "low", 3)]
    assert [s["alert_id"] for s in summary.snapshots] == [4, 3, 1]  # worst, then newest


def test_many_groups_are_cut_and_counted():
    summary = digest.summarize(alert(i, camera=f"cam-{i}") for i in range(25))
    assert len(summary.groups) == digest.TOP_GROUPS and summary.more_groups == 5


def test_render_text_and_webhook_body():
    summary = digest.summarize([alert(1, "high", snapshot=True), alert(2, "low")])
    message = digest.render("Morning", summary, T0, T0 + timedelta(hours=1), {
        "alerts": "/alerts?since=x", "snapshot": lambda event_id: f"/media/events/{event_id}/s"})
    assert message["severity"] == "high"
    assert message["title"] == "Digest Morning: 2 alerts"
    assert "By severity: 1 high, 1 low." in message["text"]
    assert "- 2 × Person on porch (high)" in message["text"]  # the worst of the two
    assert "/media/events/101/s" in message["text"]
    data = message["webhook_body"]["data"]["digest"]
    assert message["webhook_body"]["type"] == "digest"
    assert data["total"] == 2 and data["snapshots"][0]["url"] == "/media/events/101/s"
    empty = digest.render("Morning", digest.summarize([]), T0, T0, {
        "alerts": "/a", "snapshot": str})
    assert empty["title"] == "Digest Morning: 0 alerts" and empty["severity"] == "low"
