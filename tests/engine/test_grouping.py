"""Grouping decisions with a fake clock: a small simulator drives engine.grouping the way the
groups worker does (alerts arrive, the group is looked at when due)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerting.engine.grouping import (
    GroupState,
    Timing,
    after_flush,
    decide,
    due_with_new,
    group_key,
)

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Group:
    first: datetime
    new: list = field(default_factory=list)
    firing: set = field(default_factory=set)
    last_flushed: datetime | None = None
    next_at: datetime | None = None

    def state(self):
        return GroupState(self.first, self.last_flushed, len(self.new), len(self.firing))


class Simulator:
    """One rule's groups; `sent` lists (time, action, key, alert ids)."""

    def __init__(self, timing: Timing):
        self.timing = timing
        self.groups: dict[str, Group] = {}
        self.sent: list[tuple] = []

    def arrive(self, now, alert_id, labels):
        key, _labels = group_key(labels, self.timing.group_by, str(alert_id))
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(first=now)
        group.new.append(alert_id)
        group.firing.add(alert_id)
        due = due_with_new(group.state(), self.timing)
        group.next_at = due if group.next_at is None else min(group.next_at, due)

    def acknowledge(self, now, alert_id):
        for group in self.groups.values():
            if alert_id in group.firing:
                group.firing.discard(alert_id)
                group.new = [a for a in group.new if a != alert_id]
                group.next_at = now

    def tick(self, now):
        for key, group in list(self.groups.items()):
            if group.next_at is None or group.next_at > now:
                continue
            decision = decide(group.state(), self.timing, now)
            if decision.action in ("flush", "repeat"):
                listed = group.new if decision.action == "flush" else sorted(group.firing)
                self.sent.append((now, decision.action, key, list(listed)))
                group.new = []
                group.last_flushed = now
                group.next_at = after_flush(now, self.timing, bool(group.firing))
            elif decision.action in ("resolve", "close"):
                if decision.action == "resolve":
                    self.sent.append((now, "resolve", key, []))
                del self.groups[key]
            else:
                group.next_at = decision.next_at

    def run_until(self, start, end, step=0.5):
        t = start
        while t <= end:
            self.tick(at(t))
            t += step


def test_a_burst_longer_than_the_wait_is_two_notifications():
    sim = Simulator(Timing(group_by=("rule_id",), group_wait=5, group_interval=30))
    for i in range(50):  # 50 alerts over 10 s
        now = at(i * 0.2)
        sim.tick(now)
        sim.arrive(now, i, {"rule_id": "r"})
    sim.run_until(10, 120)
    assert [(s[0], s[1], len(s[3])) for s in sim.sent] == [
        (at(5), "flush", 25), (at(35), "flush", 25)]


def test_no_new_alerts_no_notification_after_the_interval():
    sim = Simulator(Timing(group_by=("rule_id",), group_wait=0, group_interval=30))
    sim.arrive(at(0), 1, {"rule_id": "r"})
    sim.run_until(0, 300)
    assert [s[1] for s in sim.sent] == ["flush"]


def test_repeat_on_time_and_stops_on_acknowledge():
    sim = Simulator(Timing(group_by=("rule_id",), group_wait=2, group_interval=30,
                           repeat_interval=60))
    sim.arrive(at(0), 1, {"rule_id": "r"})
    sim.run_until(0, 130)
    assert [(s[0], s[1]) for s in sim.sent] == [
        (at(2), "flush"), (at(62), "repeat"), (at(122), "repeat")]
    sim.acknowledge(at(130), 1)
    sim.run_until(130, 400)
    assert [(s[0], s[1]) for s in sim.sent[3:]] == [(at(130), "resolve")]
    assert sim.groups == {}


def test_a_group_acknowledged_before_it_notified_closes_silently():
    sim = Simulator(Timing(group_by=("rule_id",), group_wait=30))
    sim.arrive(at(0), 1, {"rule_id": "r"})
    sim.acknowledge(at(5), 1)
    sim.run_until(0, 100)
    assert sim.sent == [] and sim.groups == {}


@pytest.mark.parametrize(("group_by", "groups"), [
    (("camera_id",), 2), (("camera_id", "zone_id"), 3), (("...",), 4), ((), 1)])
def test_group_by_chooses_the_groups(group_by, groups):
    labels = [{"camera_id": "a", "zone_id": "x"}, {"camera_id": "a", "zone_id": "y"},
              {"camera_id": "b", "zone_id": "x"}, {"camera_id": "b", "zone_id": "x"}]
    keys = {group_key(label, group_by, str(i))[0] for i, label in enumerate(labels)}
    assert len(keys) == groups


def test_key_ignores_group_by_order_and_keeps_none_apart():
    labels = {"camera_id": "a", "zone_id": None}
    assert group_key(labels, ("zone_id", "camera_id"), "1") == \
        group_key(labels, ("camera_id", "zone_id"), "2")
    assert group_key(labels, ("zone_id",), "1")[1] == {"zone_id": None}


def test_timing_active():
    assert not Timing().active
    assert Timing(group_wait=1).active and Timing(group_by=("camera_id",)).active
    assert Timing(repeat_interval=60).active


ALERTS = st.lists(st.fixed_dictionaries({
    "camera_id": st.sampled_from(["a", "b", "c"]),
    "zone_id": st.sampled_from(["x", "y", None]),
    "object_type": st.sampled_from(["person", "car"]),
}), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(alerts=ALERTS, data=st.data(),
       group_by=st.lists(st.sampled_from(["camera_id", "zone_id", "object_type"]), max_size=3))
def test_any_arrival_order_gives_the_same_groups(alerts, data, group_by):
    """Within one group_wait window, whatever order the alerts arrive in, the groups that
    notify hold the same alerts."""
    order = data.draw(st.permutations(range(len(alerts))))

    def groups(sequence):
        sim = Simulator(Timing(group_by=tuple(group_by), group_wait=10))
        for n, i in enumerate(sequence):
            sim.arrive(at(n * 0.1), i, alerts[i])
        sim.run_until(0, 30)
        return {key: frozenset(ids) for _t, _a, key, ids in sim.sent}

    assert groups(range(len(alerts))) == groups(order)
