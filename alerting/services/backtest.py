"""Backtesting a rule (saved or draft) over stored events: streamed from the database in
one ordered pass, replayed by engine.backtest. Writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import Text, cast, select

from ..engine.backtest import backtest, cannot_match
from ..engine.dedup import dedup_zone
from ..engine.event_record import event_facts, identity_of
from ..engine.schedule import local_time
from ..engine.silences import SilenceSet, covering_mute_timing, facts_of_match
from ..engine.timeparse import isoformat_z
from ..engine.tracks import track_spec
from ..engine.types import TRACK_LISTS, TRACK_NUMBERS, Rule, rule_from_record
from ..engine.types import Detection as EngineDetection
from ..engine.types import Event as EngineEvent
from ..engine.vocabulary import DAYS
from ..extensions import db
from ..models import Detection, Event, utcnow
from ..schemas.backtest import parse_backtest
from ..schemas.rules import RULE_FIELDS, parse_rule
from .modes import load_clock
from .mute_timings import engine_mute_timings
from .rules import get_rule, rule_record
from .silences import engine_silences

# Rows fetched from the database at a time: memory stays flat whatever the range holds.
CHUNK_ROWS = 2000
DEFAULT_LIMIT = 100
DRAFT_RULE_ID = "draft"

_E = Event.__table__
_D = Detection.__table__


# Conditions on what a detector or review item added (engine.event_record.event_facts): the
# replay reads the columns they come from only for a rule that has one.
FACT_FIELDS = frozenset({"identity", "plate", "review_severity", "genai_threat_level"})


def needs_facts(rule: Rule) -> bool:
    """Whether the rule has a condition on what a detector or review item added."""
    return any(c.field in FACT_FIELDS for c in rule.conditions or ())


def _stream_query(dialect: str, facts: bool = False):
    """Events and their detections in one pass, by event id: an event's rows come together,
    so it is complete when the next begins. (Its detections are put in id order by the
    reader: ordering by both ids here would have SQLite sort every row again.)

    Only what matching reads, and raw where decoding costs: JSON lists as their text
    (decoded once per distinct value), and on SQLite the times as their stored text
    (datetime.fromisoformat). With `facts`, also the attributes, the review and the
    detections' identities (rows 16-19)."""
    sqlite = dialect == "sqlite"

    def when(column):
        return cast(column, Text) if sqlite else column

    extra = (_E.c.attributes, _E.c.review, _D.c.identity, _D.c.identity_score) if facts else ()
    return (
        select(_E.c.id, _E.c.camera_id, when(_E.c.started_at), when(_E.c.ended_at),
               _E.c.risk_score, _E.c.risk_level, _E.c.summary, cast(_E.c.labels, Text),
               _E.c.source, _E.c.external_id, _E.c.scene_index_id,
               _D.c.id, _D.c.object_type, _D.c.confidence, cast(_D.c.zone_ids, Text),
               _D.c.track_id, *extra)
        .select_from(_E.outerjoin(_D, _D.c.event_id == _E.c.id))
        .order_by(_E.c.id)
    )


@lru_cache(maxsize=4096)
def _strings(text: str | None) -> tuple[str, ...]:
    """A stored JSON list of strings (labels, zone ids) as a tuple; few distinct values."""
    return tuple(json.loads(text)) if text else ()


def _utc(value: Any) -> datetime | None:
    if value.__class__ is str:  # SQLite: the stored text, naive UTC
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value  # None, or (PostgreSQL) aware and in UTC from UTCDateTime


# Providers of the backtest's hooks (engine.backtest: mode_at, silenced_by), each called
# with (since, until, rule, the rule's mute timing names) and returning the keyword
# arguments it fills (none: nothing to mute). Registered at the end of this module.
HookProvider = Callable[[datetime, datetime, Rule, tuple[str, ...]], dict[str, Any]]
HOOK_PROVIDERS: list[HookProvider] = []


def stored_events(since: datetime, until: datetime,
                  camera_ids: tuple[str, ...] | None = None,
                  reject: Callable[[int | None, list[str]], bool] | None = None,
                  facts: bool = False) -> Iterator[EngineEvent | None]:
    """The events that started in [since, until), as the engine sees them (no bounding
    boxes; identities, plates and review facts only with `facts`: a silence's identity
    matcher reads the stored event, see quiet_as_it_was), by id, streamed CHUNK_ROWS rows at
    a time. `camera_ids`: only those cameras' (a rule's camera filter, applied by the
    database). `reject` (engine.backtest.cannot_match) is asked first, on the risk score and
    object types; for an event it rejects, None comes instead of the event, which is not
    built."""
    conn = db.session.connection()
    query = _stream_query(conn.dialect.name, facts).where(
        _E.c.started_at >= since, _E.c.started_at < until)
    if camera_ids:
        query = query.where(_E.c.camera_id.in_(camera_ids))
    current: Any = None
    detections: list[Any] = []
    result = conn.execution_options(yield_per=CHUNK_ROWS).execute(query)
    for chunk in result.partitions():
        for row in chunk:
            if current is None or current[0] != row[0]:
                if current is not None:
                    yield _event(current, detections, reject)
                current, detections = row, []
            if row[11] is not None:
                detections.append(row)
    if current is not None:
        yield _event(current, detections, reject)


def _event(row: Any, detections: list[Any], reject) -> EngineEvent | None:
    if reject is not None and reject(row[4], [d[12] for d in detections]):
        return None
    if len(detections) > 1:
        detections.sort(key=_first)  # as the matcher reads them: by id
    facts = len(row) > 16  # (_stream_query's `facts`: rows 16-19)
    built = tuple(EngineDetection(d[12], None if d[13] is None else float(d[13]),
                                  _strings(d[14]), None, d[15],
                                  *((d[18], d[19]) if facts else ())) for d in detections)
    return EngineEvent(
        row[1], _utc(row[2]), row[0], _utc(row[3]), row[4], row[5], row[6], _strings(row[7]),
        built, row[8], row[9], row[10],
        **(event_facts({"attributes": row[16], "review": row[17], "detections": built})
           if facts else {}))


UNTRACKED = dict.fromkeys((*TRACK_NUMBERS, *TRACK_LISTS))  # a rule's track criteria, unset


def _first(row: Any) -> int:
    return row[11]  # the detection's id


def run(rule: Rule, since: datetime, until: datetime, *, limit: int = DEFAULT_LIMIT,
        rule_id: str | None = None, mute_timings: Iterable[str] | None = None
        ) -> dict[str, Any]:
    """Replay [since, until) through `rule` (whose mute timings are `mute_timings`: the
    engine's Rule does not carry them); the API's BacktestResult."""
    timezone = current_app.config["TIMEZONE"]
    hooks: dict[str, Any] = {}
    for provide in HOOK_PROVIDERS:
        hooks.update(provide(since, until, rule, tuple(mute_timings or ())))
    # What follows an object over time (dwell, sequence, stillness, identity, count) needs the
    # tracks as they were at each moment, which are not kept: the replay leaves those criteria
    # out, so its counts are an upper bound, and says which it left out.
    spec = track_spec(rule)
    if spec is not None:
        rule = replace(rule, **UNTRACKED)
    result = backtest(rule, stored_events(since, until, rule.camera_ids, cannot_match(rule),
                                          needs_facts(rule)),
                      default_timezone=timezone, sample_limit=limit, prechecked=True, **hooks)
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
        "not_replayed": list(spec.criteria) if spec is not None else [],
    }


def _window(options: Any) -> tuple[datetime, datetime, int]:
    since, until = options.window(utcnow())
    return since, until, DEFAULT_LIMIT if options.limit is None else options.limit


def backtest_rule(rule_id: str, payload: Any) -> dict[str, Any]:
    """POST /api/alerts/rules/{id}/backtest: a saved rule as it is now."""
    row = get_rule(rule_id)
    options = parse_backtest(payload)
    since, until, limit = _window(options)
    return run(rule_from_record(rule_record(row)), since, until, limit=limit, rule_id=row.id,
               mute_timings=row.mute_timings)


def draft_rule(values: dict[str, Any], rule_id: str | None = None) -> Rule:
    """The engine's Rule for validated rule values (RuleCreate's stored form), not saved."""
    return rule_from_record({"id": rule_id or DRAFT_RULE_ID,
                             **{n: values.get(n) for n in RULE_FIELDS}})


def backtest_draft(payload: Any) -> dict[str, Any]:
    """POST /api/alerts/rules/backtest: a rule body not saved."""
    options = parse_backtest(payload, draft=True)
    since, until, limit = _window(options)
    values = options.rule.values()
    return run(draft_rule(values), since, until, limit=limit,
               mute_timings=values.get("mute_timings"))


def backtest_payload(payload: Any, rule_id: str | None = None) -> dict[str, Any]:
    """A rule body as the form gives it (validated like a create), over the last 7 days:
    the rule form's "How noisy would this be?"."""
    values = parse_rule(payload)
    since, until = parse_backtest(None).window(utcnow())
    return run(draft_rule(values, rule_id), since, until, limit=0, rule_id=rule_id,
               mute_timings=values.get("mute_timings"))


# --- the hooks: arming modes, silences and mute timings as they were -------------------------

def modes_as_they_were(since: datetime, until: datetime, rule: Rule,
                       mute_timings: tuple[str, ...]) -> dict[str, Any]:
    """The arming mode at each event's time, as the matcher reads it: the recorded history
    of mode changes, and past what the schedule worker recorded, the mode schedule's."""
    if not rule.modes:
        return {}
    return {"mode_at": load_clock(db.session.connection()).mode_at}


def _stored_identity(event_id: int | None) -> str | None:
    """A stored event's identity (engine.event_record.identity_of): its detections' else
    its attributes'."""
    detections = db.session.execute(select(_D.c.identity, _D.c.identity_score).where(
        _D.c.event_id == event_id).order_by(_D.c.id))
    return identity_of(db.session.scalar(select(_E.c.attributes).where(_E.c.id == event_id)),
                       list(detections))


def quiet_as_it_was(since: datetime, until: datetime, rule: Rule,
                    mute_timings: tuple[str, ...]) -> dict[str, Any]:
    """Whether a match was silenced, as the matcher decides it: the stored silences whose
    window overlaps the range (ended ones included: they were active then), then the rule's
    mute timings, at the event's time. (A channel's mute timings are not replayed: they
    depend on where deliveries go, which the backtest does not work out.) The replayed
    events carry no `attributes` nor identities: when a silence matches on `identity`, a
    match's identity is read from its stored event (its detections', else its attributes')."""
    overlapping = [s for s in engine_silences(ending_after=since) if s.starts_at < until]
    silences = SilenceSet(overlapping)
    by_identity = any(m.field == "identity" for s in overlapping for m in s.matchers)
    timings = engine_mute_timings() if mute_timings else {}
    names = tuple(name for name in mute_timings if name in timings)
    if not silences.size and not names:
        return {}
    timezone = current_app.config["TIMEZONE"]
    zones = rule.zone_ids

    def silenced_by(rule: Rule, event: EngineEvent, verdict: Any, when: datetime) -> str | None:
        if silences.size:
            detection = verdict.detection
            facts = facts_of_match(event, verdict.rule_id, rule.severity, detection,
                                   dedup_zone(zones, detection))
            if by_identity:
                facts.identity = _stored_identity(event.id) or ""
            found = silences.covering(facts, when)
            if found is not None:
                return found.id
        return covering_mute_timing(timings, names, when, timezone) if names else None

    return {"silenced_by": silenced_by}


HOOK_PROVIDERS.extend((modes_as_they_were, quiet_as_it_was))
