"""Backtesting a rule: the request (a time range, and for a draft the rule itself) and the
answer (alerts per day and per hour of the week, the busiest dedup keys, the alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import model_validator
from typing_extensions import TypedDict

from ..engine.errors import ValidationError
from ..engine.timeparse import ensure_utc
from .common import Body, EventTime, integer, refuse, validate
from .responses import CLOSED
from .rules import RuleCreate

MAX_BACKTEST_DAYS = 90
DEFAULT_BACKTEST_DAYS = 7
MAX_BACKTEST_EVENTS_SHOWN = 1000


class BacktestRequest(Body):
    """POST /api/alerts/rules/{id}/backtest: the range to replay, `since` inclusive and
    `until` exclusive, at most 90 days (default: the 7 days up to now), and how many of the
    alerts to list (`limit`, default 100)."""

    since: EventTime | None = None
    until: EventTime | None = None
    limit: integer(0, MAX_BACKTEST_EVENTS_SHOWN) | None = None

    @model_validator(mode="after")
    def _range(self) -> BacktestRequest:
        if self.since is not None and self.until is not None:
            if self.since >= self.until:
                raise refuse("must be before until", at="since")
            if self.until - self.since > timedelta(days=MAX_BACKTEST_DAYS):
                raise refuse(f"must be at most {MAX_BACKTEST_DAYS} days after since",
                             at="until")
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """(since, until), defaults filled: until now, since 7 days before until."""
        until = ensure_utc(self.until) if self.until is not None else now
        since = ensure_utc(self.since) if self.since is not None else \
            until - timedelta(days=DEFAULT_BACKTEST_DAYS)
        if since >= until:
            raise ValidationError({"since": "must be before until"})
        if until - since > timedelta(days=MAX_BACKTEST_DAYS):
            raise ValidationError({"until": f"must be at most {MAX_BACKTEST_DAYS} days after "
                                             "since"})
        return since, until


class DraftBacktestRequest(BacktestRequest):
    """POST /api/alerts/rules/backtest: a rule not saved (the body of a rule create) over
    the same range."""

    rule: RuleCreate


def parse_backtest(payload: object, *, draft: bool = False) -> BacktestRequest:
    """The backtest request; no body (None) means the defaults."""
    model = DraftBacktestRequest if draft else BacktestRequest
    return validate(model, {} if payload is None else payload)


# --- the answer ------------------------------------------------------------------------------


class DayCount(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    date: str
    alerts: int


class KeyCount(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    dedup_key: str
    alerts: int


class BacktestAlert(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    event_id: int
    camera_id: str
    started_at: datetime
    dedup_key: str


class HoursOfWeek(TypedDict):
    __pydantic_config__ = CLOSED  # type: ignore[misc]
    sun: list[int]
    mon: list[int]
    tue: list[int]
    wed: list[int]
    thu: list[int]
    fri: list[int]
    sat: list[int]


class BacktestResult(TypedDict):
    """What the rule would have done: `per_day` lists every day of the range (in the
    site's timezone), `per_hour_of_week` 24 counts a day; `alerts_listed` holds the first
    `limit` alerts, in the order they would have been made."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    rule_id: str | None
    rule_name: str
    since: datetime
    until: datetime
    timezone: str
    events_replayed: int
    matches: int
    alerts: int
    suppressed_by_cooldown: int
    silenced: int
    disarmed: int
    per_day: list[DayCount]
    per_hour_of_week: HoursOfWeek
    busiest_dedup_keys: list[KeyCount]
    alerts_listed: list[BacktestAlert]
    alerts_truncated: bool
    # The rule's criteria that follow an object over time, left out of the replay (the
    # tracks as they were are not kept): with any, the counts are an upper bound.
    not_replayed: list[Literal["dwell", "zone_sequence", "stationary", "identity",
                               "min_count"]]

