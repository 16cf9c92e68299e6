"""Cooldown per (rule, dedup key), measured on event time so replays and backfills behave."""

from __future__ import annotations

from datetime import datetime, timedelta


def within_cooldown(
    last_alert_at: datetime | None, event_time: datetime, cooldown_seconds: int
) -> bool:
    """True when an alert at `event_time` falls within the cooldown of the last: suppress it."""
    if last_alert_at is None or cooldown_seconds <= 0:
        return False
    # abs(): a backfilled event older than the last alert is as much a duplicate as a newer one.
    return abs(event_time - last_alert_at) < timedelta(seconds=cooldown_seconds)


class CooldownLedger:
    """In-memory last alert time per (rule id, dedup key)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], datetime] = {}

    def suppresses(self, rule_id: str, key: str, when: datetime, cooldown_seconds: int) -> bool:
        """Whether an alert for (rule, key) at `when` falls within the cooldown."""
        return within_cooldown(self._last.get((rule_id, key)), when, cooldown_seconds)

    def record(self, rule_id: str, key: str, when: datetime) -> None:
        """Note an alert for (rule, key) at `when`; an older time never replaces a newer one."""
        k = (rule_id, key)
        prev = self._last.get(k)
        if prev is None or when > prev:
            self._last[k] = when

    def merge(self, other: CooldownLedger) -> datetime | None:
        """Record every entry of `other` (a batch's, once it is committed); returns the
        newest time among them."""
        newest = None
        for (rule_id, key), when in other._last.items():
            self.record(rule_id, key, when)
            if newest is None or when > newest:
                newest = when
        return newest

    def prune(self, before: datetime) -> int:
        """Drop entries last alerted before `before` (keys with {hour} or {date} pile up)."""
        stale = [k for k, t in self._last.items() if t < before]
        for k in stale:
            del self._last[k]
        return len(stale)

    def __len__(self) -> int:
        return len(self._last)
