"""Backtesting a rule (saved or draft) over stored events: streamed from the database in
one ordered pass, replayed by engine.backtest. Writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..engine.backtest import backtest
from ..engine.event_record import event_from_record
from ..engine.schedule import local_time
from ..engine.timeparse import isoformat_z
from ..engine.types import Event as EngineEvent
from ..engine.types import Rule, rule_from_record
from ..engine.vocabulary import DAYS
from ..extensions import db
from ..models import Detection, Event, utcnow
from ..schemas.backtest import parse_backtest
from ..schemas.rules import RULE_FIELDS
from .events import DETECTION_COLUMNS, EVENT_COLUMNS
from .rules import get_rule, rule_record

# Rows fetched from the database at a time: memory stays flat whatever the range holds.
CHUNK_ROWS = 2000
DEFAULT_LIMIT = 100
DRAFT_RULE_ID = "draft"

_E = Event.__table__
_D = Detection.__table__
# Events and their detections in one pass, in the matcher's order (event id, then detection
# id): each event's rows come together, so an event is complete when the next one begins.
_STREAM = (
    select(_E.c.id, *(_E.c[n] for n in EVENT_COLUMNS if n != "attributes"),
           _D.c.id.label("detection_id"), *(_D.c[n] for n in DETECTION_COLUMNS))
    .select_from(_E.outerjoin(_D, _D.c.event_id == _E.c.id))
    .order_by(_E.c.id, _D.c.id)
)
_EVENT_KEYS = ("id", *(n for n in EVENT_COLUMNS if n != "attributes"))

# Providers of the backtest's hooks (engine.backtest: mode_at, silenced_by), each called
# with (since, until) and returning the keyword arguments it fills. Silences, mute timings
# and arming modes add theirs here; with none, nothing is muted.
HOOK_PROVIDERS: list[Callable[[datetime, datetime], dict[str, Any]]] = []


def stored_events(since: datetime, until: datetime,
                  camera_ids: tuple[str, ...] | None = None) -> Iterator[EngineEvent]:
    """The events that started in [since, until), as the engine sees them, by id, streamed
    in chunks of CHUNK_ROWS rows. `camera_ids`: only those cameras' (a rule's filter)."""
    query = _STREAM.where(_E.c.started_at >= since, _E.c.started_at < until)
    if camera_ids:
        query = query.where(_E.c.camera_id.in_(camera_ids))
    conn = db.session.connection().execution_options(yield_per=CHUNK_ROWS)
    record: dict[str, Any] | None = None
    for row in conn.execute(query):
        if record is None or record["id"] != row[0]:
            if record is not None:
                yield event_from_record(record)
            record = dict(zip(_EVENT_KEYS, row, strict=False))
            record["detections"] = []
        if row.detection_id is not None:
            record["detections"].append({n: getattr(row, n) for n in DETECTION_COLUMNS})
    if record is not None:
        yield event_from_record(record)


def run(rule: Rule, since: datetime, until: datetime, *, limit: int = DEFAULT_LIMIT,
        rule_id: str | None = None) -> dict[str, Any]:
    """Replay [since, until) through `rule`; the API's BacktestResult."""
    timezone = current_app.config["TIMEZONE"]
    hooks: dict[str, Any] = {}
    for provide in HOOK_PROVIDERS:
        hooks.update(provide(since, until))
    result = backtest(rule, stored_events(since, until, rule.camera_ids),
                      default_timezone=timezone, sample_limit=limit, **hooks)
    counts = dict(result.per_day)
    days, day = [], local_time(since, timezone).date()
    last = local_time(until - timedelta(microseconds=1), timezone).date()
    while day <= last:
        days.append({"date": day.isoformat(), "alerts": counts.get(day.isoformat(), 0)})
        day += timedelta(days=1)
    summary = result.as_dict()
    return {
        "rule_id": rule_id, "rule_name": rule.name,
        "since": isoformat_z(since), "until": isoformat_z(until), "timezone": timezone,
        **{k: summary[k] for k in ("events_replayed", "matches", "alerts",
                                   "suppressed_by_cooldown", "silenced", "disarmed")},
        "per_day": days,
        "per_hour_of_week": {d: result.per_hour_of_week[i] for i, d in enumerate(DAYS)},
        "busiest_dedup_keys": summary["busiest_dedup_keys"],
        "alerts_listed": [{"event_id": e.id, "camera_id": e.camera_id,
                           "started_at": isoformat_z(e.started_at), "dedup_key": key}
                          for e, key in result.sample],
        "alerts_truncated": result.alerts > len(result.sample),
    }


def _window(options: Any) -> tuple[datetime, datetime, int]:
    since, until = options.window(utcnow())
    return since, until, DEFAULT_LIMIT if options.limit is None else options.limit


def backtest_rule(rule_id: str, payload: Any) -> dict[str, Any]:
    """POST /api/alerts/rules/{id}/backtest: a saved rule as it is now."""
    row = get_rule(rule_id)
    options = parse_backtest(payload)
    since, until, limit = _window(options)
    return run(rule_from_record(rule_record(row)), since, until, limit=limit, rule_id=row.id)


def draft_rule(values: dict[str, Any], rule_id: str | None = None) -> Rule:
    """The engine's Rule for validated rule values (RuleCreate's stored form), not saved."""
    return rule_from_record({"id": rule_id or DRAFT_RULE_ID,
                             **{n: values.get(n) for n in RULE_FIELDS}})


def backtest_draft(payload: Any) -> dict[str, Any]:
    """POST /api/alerts/rules/backtest: a rule body not saved."""
    options = parse_backtest(payload, draft=True)
    since, until, limit = _window(options)
    rule = draft_rule(options.rule.values())
    return run(rule, since, until, limit=limit)
