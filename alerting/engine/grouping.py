"""Grouping decisions (Alertmanager's semantics): which group an alert joins, and when a group
notifies. Pure: plain values in, plain values out, every time passed in (fake-clock testable).

A group is one rule's alerts sharing the values of its `group_by` labels. Its first
notification waits `group_wait` from its first alert, for company; after that it notifies
no sooner than `group_interval` after the last notification, and only with new alerts. A
group still firing (some alert neither acknowledged nor dismissed) with nothing new is
notified again `repeat_interval` after the last notification, when that is set. A group
whose every alert was acknowledged or dismissed is resolved: one `resolved` notification
if it had notified, then it is closed (the next alert of its key opens a new group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

GROUP_LABELS = ("camera_id", "rule_id", "object_type", "zone_id", "severity", "identity")
EACH_ALERT = "..."  # group_by ["..."]: every alert a group of its own

DEFAULT_GROUP_WAIT = 0
DEFAULT_GROUP_INTERVAL = 300
DEFAULT_MAX_ALERTS = 20


@dataclass(frozen=True)
class Timing:
    """A rule's grouping settings (its own, or the site-wide defaults where it sets none)."""

    group_by: tuple[str, ...] = ()
    group_wait: int = DEFAULT_GROUP_WAIT
    group_interval: int = DEFAULT_GROUP_INTERVAL
    repeat_interval: int | None = None
    max_alerts: int = DEFAULT_MAX_ALERTS

    @property
    def active(self) -> bool:
        """Whether alerts of the rule are grouped at all: with no group_by, no wait and no
        repeat, one alert is one notification (the ungrouped path)."""
        return bool(self.group_by) or self.group_wait > 0 or self.repeat_interval is not None


def group_key(labels: Mapping[str, str | None], group_by: Sequence[str],
              alone: str) -> tuple[str, dict[str, str | None]]:
    """(key, labels) of the group an alert with these `labels` joins. `alone` is a value
    unique to the alert (its event id), used when group_by is ["..."]. The key does not
    depend on group_by's order."""
    if EACH_ALERT in group_by:
        return f"...={alone}", {"...": alone}
    chosen = {name: labels.get(name) for name in sorted(set(group_by))}
    return ",".join(f"{name}={'' if value is None else value}"
                    for name, value in chosen.items()), chosen


@dataclass(frozen=True)
class GroupState:
    """What a decision needs of a stored group."""

    first_alert_at: datetime
    last_flushed_at: datetime | None  # None: it never notified
    new_alerts: int  # firing alerts not yet in a notification
    firing_alerts: int  # alerts neither acknowledged nor dismissed


@dataclass(frozen=True)
class Decision:
    """`action` now: "flush" (notify the new alerts), "repeat" (notify the firing ones
    again), "resolve" (notify that it is resolved, and close), "close" (close without a
    word: it never notified), or "wait"; and when to look at the group next (None: only
    when an alert arrives or is acknowledged)."""

    action: str
    next_at: datetime | None


def first_flush_at(first_alert_at: datetime, timing: Timing) -> datetime:
    """When a new group notifies first."""
    return first_alert_at + timedelta(seconds=timing.group_wait)


def due_with_new(state: GroupState, timing: Timing) -> datetime:
    """When a group with new alerts notifies: group_wait after its first alert, or
    group_interval after its last notification."""
    if state.last_flushed_at is None:
        return first_flush_at(state.first_alert_at, timing)
    return state.last_flushed_at + timedelta(seconds=timing.group_interval)


def decide(state: GroupState, timing: Timing, now: datetime) -> Decision:
    """What to do with the group at `now`, and when to look again."""
    if state.new_alerts:
        due = due_with_new(state, timing)
        return Decision("flush", None) if now >= due else Decision("wait", due)
    if state.firing_alerts == 0:
        return Decision("close" if state.last_flushed_at is None else "resolve", None)
    if state.last_flushed_at is not None and timing.repeat_interval is not None:
        due = state.last_flushed_at + timedelta(seconds=timing.repeat_interval)
        return Decision("repeat", None) if now >= due else Decision("wait", due)
    return Decision("wait", None)


def after_flush(flushed_at: datetime, timing: Timing, firing: bool) -> datetime | None:
    """When to look at a group again after it notified at `flushed_at`: at its repeat time
    while firing (new alerts and acknowledgements set an earlier time themselves)."""
    if firing and timing.repeat_interval is not None:
        return flushed_at + timedelta(seconds=timing.repeat_interval)
    return None
