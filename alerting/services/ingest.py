"""Ingest of detection events: idempotent per source + external_id, one event or a batch.

The same source + external_id stored again with changed fields is a revision (DESIGN.md
"Event revisions"): the event is updated, its revision bumped, and it is queued for matching
again (the pipeline fires only the rules that have not fired for it yet). Unchanged, it is a
repeat and nothing happens.

The hot path (one POST per detection): it writes with Core statements built once, on SQLite
through this process's one writer connection (storage.write_transaction), in one
transaction with the requests that arrive meanwhile, and answers with what it stored
instead of reading it back.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from .. import metrics, signals
from ..engine.errors import ValidationError
from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..models import Detection, Event, utcnow
from ..schemas.events import parse_event_batch
from ..storage import insert_returning_ids, write_transaction
from . import cameras, tracks
from .alert_pipeline import matching_on_ingest
from .events import DETECTION_COLUMNS, EVENT_COLUMNS, event_json, get_event

_EVENTS = Event.__table__
_DETECTIONS = Detection.__table__
# Built once: a statement built per request costs more than running it.
_INSERT_DETECTIONS = insert(_DETECTIONS)
_REVISE = (update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))
           .values(**{name: bindparam(f"new_{name}") for name in EVENT_COLUMNS},
                   revision=_EVENTS.c.revision + 1, processed_at=None))
_DROP_DETECTIONS = delete(_DETECTIONS).where(_DETECTIONS.c.event_id == bindparam("event_id"))

# What storing an item did: a new event, a revision of a stored one, or a repeat.
CREATED, REVISED, REPEAT = "created", "revised", "repeat"

GROUP = "alerting.ingest_group"
_group_guard = threading.Lock()


def _normalise_identity(item: dict[str, Any]) -> None:
    # external_id is unique per source; "no source" counts as one source of its own.
    if item["external_id"] is not None and item["source"] is None:
        item["source"] = ""


# What a revision may leave out (or send as null) and keep as stored: started_at (an item
# without one gets "now": a repeat of it is not a revision) and summary (Frigate's object
# updates carry none; its GenAI description comes on a topic of its own).
KEPT_WHEN_LEFT_OUT = ("started_at", "summary")


def _mark_left_out(payload: Any, parsed: list[tuple[int, Any]]) -> None:
    raw = payload["events"] if isinstance(payload, dict) and "events" in payload else [payload]
    for index, item in parsed:
        if not isinstance(item, ValidationError):
            given = raw[index] if isinstance(raw[index], dict) else {}
            item["_left_out"] = [name for name in KEPT_WHEN_LEFT_OUT if given.get(name) is None]


def ingest(payload: Any, now: datetime | None = None, *, expect_repeats: bool = False,
           answer: bool = True) -> tuple[int, dict[str, Any]]:
    """Store one event or a batch. Returns (HTTP status, body).

    One event: 201 with it, 200 with the stored one when it is a repeat or a revision, 422
    when invalid. A batch: 201 when every item is stored (new, revised or a repeat), 207
    with per-item results otherwise. `expect_repeats` (a source such as Frigate, whose
    objects mostly arrive as updates) looks up what is stored before inserting; without
    `answer` (nobody reads it: MQTT) one event's body is only {"id": ...}.
    """
    batch = isinstance(payload, dict) and "events" in payload
    parsed = parse_event_batch(payload, now=now or utcnow())
    _mark_left_out(payload, parsed)
    if not batch:
        [(_, item)] = parsed
        if isinstance(item, ValidationError):
            raise item
        _normalise_identity(item)
        [(event_id, outcome)], matched = _store([item], expect_repeats)
        if outcome == REVISED and not matched:
            _stored([event_id])
        if outcome != CREATED:
            return 200, event_json(get_event(event_id)) if answer else {"id": event_id}
        if not matched:
            _stored([event_id])
        return 201, _new_event_json(event_id, item)
    valid = [(i, item) for i, item in parsed if not isinstance(item, ValidationError)]
    for _, item in valid:
        _normalise_identity(item)
    stored, matched = _store([item for _, item in valid], expect_repeats)
    results: list[dict[str, Any]] = []
    by_index = dict(zip([i for i, _ in valid], stored, strict=True))
    for index, item in parsed:
        if isinstance(item, ValidationError):
            results.append({"index": index, "status": 422, "error": "validation_error",
                            "message": item.message, "fields": item.fields})
        else:
            event_id, outcome = by_index[index]
            results.append({"index": index, "status": 201 if outcome == CREATED else 200,
                            "id": event_id, "duplicate": outcome == REPEAT,
                            "revised": outcome == REVISED})
    new_ids = [event_id for event_id, outcome in stored if outcome == CREATED]
    revised = sorted({event_id for event_id, outcome in stored if outcome == REVISED})
    if not matched:
        _stored(revised + new_ids)
    failed = sum(1 for r in results if r["status"] == 422)
    revisions = sum(1 for _id, outcome in stored if outcome == REVISED)  # items, not events
    body = {"results": results, "created": len(new_ids), "revised": revisions,
            "duplicates": len(stored) - len(new_ids) - revisions, "failed": failed}
    if failed == len(results):
        return 422, {**body, "error": "validation_error", "message": "no event was valid"}
    return (207 if failed else 201), body


def annotate_review(source: str, external_ids: list[str], review: dict[str, Any]) -> list[int]:
    """Keep a review item (id, severity, GenAI title, summary, threat level) on the stored
    events of `source` it bundles, merged into what they hold (a None leaves a value as it
    is). An event it changes is a revision, queued for matching again (rules may test
    review_severity and genai_threat_level). The ids revised."""
    if not external_ids:
        return []
    try:
        rows = db.session.execute(
            select(Event.id, Event.review)
            .where(Event.source == source, Event.external_id.in_(external_ids))).all()
    finally:
        db.session.rollback()
    changed = {}
    for event_id, stored in rows:
        merged = {**(stored or {}), **{k: v for k, v in review.items() if v is not None}}
        if merged != stored:
            changed[event_id] = merged
    if changed:
        with write_transaction() as conn:
            for event_id, merged in changed.items():
                conn.execute(update(_EVENTS).where(_EVENTS.c.id == event_id).values(
                    review=merged, revision=_EVENTS.c.revision + 1, processed_at=None))
        _stored(sorted(changed))
    return sorted(changed)


def annotate_summary(source: str, external_id: str, summary: str) -> int | None:
    """Set the summary of `source`'s stored event `external_id` (Frigate's GenAI
    description): a revision, queued for matching again (rules may test `summary`). Its id
    when it changed; None when it is not stored (yet) or says this already."""
    with write_transaction() as conn:
        event_id = conn.scalar(
            update(_EVENTS)
            .where(_EVENTS.c.source == source, _EVENTS.c.external_id == external_id,
                   or_(_EVENTS.c.summary.is_(None), _EVENTS.c.summary != summary))
            .values(summary=summary, revision=_EVENTS.c.revision + 1, processed_at=None)
            .returning(_EVENTS.c.id))
    if event_id is not None:
        _stored([event_id])
    return event_id


def latest_start(source: str) -> datetime | None:
    """When the newest stored event of `source` started (backfill asks for what came after)."""
    try:
        return db.session.scalar(select(func.max(Event.started_at)).where(Event.source == source))
    finally:
        db.session.rollback()


def open_external_ids(source: str, limit: int) -> list[str]:
    """The external ids of `source`'s newest events not ended yet (backfill asks for each:
    one that ended while nobody listened has started before the last one seen)."""
    try:
        return list(db.session.scalars(
            select(Event.external_id).where(Event.source == source, Event.ended_at.is_(None),
                                            Event.external_id.is_not(None))
            .order_by(Event.started_at.desc()).limit(limit)))
    finally:
        db.session.rollback()


def ended_external_ids(source: str, external_ids: list[str]) -> set[str]:
    """Which of these external ids of `source` are stored as ended (backfill leaves them)."""
    if not external_ids:
        return set()
    try:
        return set(db.session.scalars(
            select(Event.external_id).where(Event.source == source,
                                            Event.external_id.in_(external_ids),
                                            Event.ended_at.is_not(None))))
    finally:
        db.session.rollback()


def _stored(new_ids: list[int]) -> None:
    # After the commit, for events not matched on ingest: wakes the matcher.
    if new_ids:
        signals.events_stored.send(current_app._get_current_object(), ids=new_ids)


def _store(items: list[dict[str, Any]], expect_repeats: bool = False
           ) -> tuple[list[tuple[int, str]], bool]:
    """Insert events and detections, or revise stored ones, committed; (id, outcome) per
    item, in order, and whether the new ones were matched in the same transaction.

    The common case, nothing stored before, costs no lookup: the insert is tried at once,
    in one transaction with the requests that arrive meanwhile (see _IngestGroup). Only when
    that fails (the unique source + external_id refused a repeat, most likely) does this
    request try again on its own, looking up what is stored already.
    """
    if not items:
        return [], False
    if not expect_repeats:
        plan = _Plan(items, {})
        try:
            return _group().store(plan), plan.matched
        except (_Alone, IntegrityError):
            pass  # a repeat (a detector retrying), or a concurrent ingest of the same event
    for attempt in range(3):
        try:
            plan = _Plan(items, _existing(items))
            return _write_plans([plan])[0], plan.matched
        except IntegrityError:
            # A concurrent ingest stored the same source + external_id first: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


_Stored = tuple[int, dict[str, Any]]  # id, and the stored fields (as _fields gives them)


def _detection(det: dict[str, Any]) -> dict[str, Any]:
    """A parsed detection's stored columns (no zones: an empty list)."""
    return {key: det.get(key) for key in DETECTION_COLUMNS} | {
        "zone_ids": list(det.get("zone_ids") or [])}


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    """What a revision compares and writes: the event's columns and its detections."""
    out = {name: item[name] for name in EVENT_COLUMNS}
    out["detections"] = [_detection(d) for d in item["detections"]]
    return out


_STORED = select(_EVENTS.c.id, *(_EVENTS.c[name] for name in EVENT_COLUMNS)).where(
    tuple_(_EVENTS.c.source, _EVENTS.c.external_id).in_(bindparam("keys", expanding=True)))
_STORED_DETECTIONS = (
    select(_DETECTIONS.c.event_id, *(_DETECTIONS.c[k] for k in DETECTION_COLUMNS))
    .where(_DETECTIONS.c.event_id.in_(bindparam("ids", expanding=True)))
    .order_by(_DETECTIONS.c.id))


def _existing(items: list[dict[str, Any]]) -> dict[tuple[str, str], _Stored]:
    keys = {(i["source"], i["external_id"]) for i in items if i["external_id"] is not None}
    if not keys:
        return {}
    try:
        conn = db.session.connection()
        rows = conn.execute(_STORED, {"keys": list(keys)}).mappings().all()
        detections: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
        if detections:
            for det in conn.execute(_STORED_DETECTIONS, {"ids": list(detections)}).mappings():
                detections[det["event_id"]].append(dict(det))
    finally:
        db.session.rollback()  # no read transaction held open
    return {(row["source"], row["external_id"]):
            (row["id"], _fields({**row, "detections": detections[row["id"]]})) for row in rows}


def _revision_of(stored: dict[str, Any], item: dict[str, Any]) -> dict[str, Any] | None:
    """The fields to write when `item` changes the stored event; None when it repeats it."""
    for name in item.get("_left_out", ()):
        item[name] = stored[name]  # none given: the stored one stands
    fields = _fields(item)
    same = all(_same(fields[name], stored[name]) for name in fields)
    return None if same else fields


def _same(new: Any, old: Any) -> bool:
    if isinstance(new, datetime) and isinstance(old, datetime):
        return new == (old if old.tzinfo else old.replace(tzinfo=new.tzinfo))
    return new == old


class _Plan:
    """What storing one request's items takes: the rows to insert, the stored events to
    revise, and per item either the id it already has (stored before, or a repeat within
    the request) or a new one."""

    __slots__ = ("steps", "rows", "fresh", "first", "matched", "revise")

    def __init__(self, items: list[dict[str, Any]], existing: dict[tuple[str, str], _Stored]):
        received = utcnow()
        # Per item: (id of the stored event, outcome) | (None, identity of its first)
        # | (None, None)
        self.steps: list[tuple[int | None, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.fresh: list[dict[str, Any]] = []
        self.first: dict[tuple[str, str], int] = {}
        self.revise: dict[int, dict[str, Any]] = {}  # event id -> the fields to write
        self.matched = False  # its new events were matched in the transaction that stored them
        for item in items:
            identity = None if item["external_id"] is None else \
                (item["source"], item["external_id"])
            if identity is not None and identity in existing:
                event_id, stored = existing[identity]
                fields = _revision_of(stored, item)
                if fields is not None:
                    self.revise[event_id] = fields
                    existing[identity] = (event_id, fields)  # a later repeat compares to it
                self.steps.append((event_id, REPEAT if fields is None else REVISED))
                continue
            if identity is not None and identity in self.first:
                # Again within the request: the last of them is what is stored.
                first = self.first[identity]
                for name in item.get("_left_out", ()):
                    item[name] = self.rows[first][name]
                changed = _fields(item) != _fields(self.fresh[first])
                if changed:
                    self.rows[first].update({name: item[name] for name in EVENT_COLUMNS})
                    item["received_at"] = self.rows[first]["received_at"]
                    self.fresh[first] = item
                self.steps.append((None, (identity, REVISED if changed else REPEAT)))
                continue
            if identity is not None:
                self.first[identity] = len(self.rows)
            row = {name: item[name] for name in EVENT_COLUMNS}
            row["received_at"] = item["received_at"] = received
            self.rows.append(row)
            self.fresh.append(item)
            self.steps.append((None, None))

    def results(self, ids: list[int]) -> list[tuple[int, str]]:
        """(id, outcome) per item, given the ids the rows got."""
        out: list[tuple[int, str]] = []
        new_ids = iter(ids)
        for event_id, step in self.steps:
            if event_id is not None:
                out.append((event_id, step))
            elif step is not None:
                identity, outcome = step
                out.append((ids[self.first[identity]], outcome))
            else:
                out.append((next(new_ids), CREATED))
        return out


_REVISED = select(_EVENTS.c.id, _EVENTS.c.revision, _EVENTS.c.review).where(
    _EVENTS.c.id.in_(bindparam("ids", expanding=True)))


def _revise(conn: Any, revise: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """In the open transaction: write the revised events and their detections, each
    queued for matching again (processed_at cleared, revision bumped). Their records as
    stored now, for matching on ingest."""
    detections = []
    for event_id, fields in revise.items():
        conn.execute(_REVISE, {"event_id": event_id,
                               **{f"new_{name}": fields[name] for name in EVENT_COLUMNS}})
        conn.execute(_DROP_DETECTIONS, {"event_id": event_id})
        detections.extend({**d, "event_id": event_id} for d in fields["detections"])
    if detections:
        conn.execute(_INSERT_DETECTIONS, detections)
    return [{**revise[event_id], "id": event_id, "revision": revision, "review": review}
            for event_id, revision, review in conn.execute(_REVISED, {"ids": list(revise)})]


def _write_plans(plans: list[_Plan]) -> list[list[tuple[int, str]]]:
    """Store the plans' rows in one transaction, matched in it when the matcher is idle
    (services/alert_pipeline.matching_on_ingest); the results of each plan."""
    rows = [row for plan in plans for row in plan.rows]
    revise = {event_id: fields for plan in plans for event_id, fields in plan.revise.items()}
    if not rows and not revise:
        return [plan.results([]) for plan in plans]
    with ExitStack() as after_commit:
        with write_transaction() as conn:
            revised = _revise(conn, revise) if revise else []
            ids = insert_returning_ids(conn, _EVENTS, rows) if rows else []
            fresh = [{**item, "id": event_id} for event_id, item in
                     zip(ids, (i for plan in plans for i in plan.fresh), strict=True)]
            detections = [{"event_id": item["id"], **_detection(det)}
                          for item in fresh for det in item["detections"]]
            if detections:
                conn.execute(_INSERT_DETECTIONS, detections)
            seen = cameras.seen_in(conn, fresh)  # camera health: these cameras are alive
            tracks.observe_records(conn, sorted(revised + fresh, key=lambda r: r["id"]))
            matched = after_commit.enter_context(matching_on_ingest(conn, fresh + revised))
    seen()  # committed: the cameras' last_seen is written
    metrics.events_ingested(item["source"] for plan in plans for item in plan.fresh)
    for plan in plans:
        plan.matched = matched.done
    out = []
    start = 0
    for plan in plans:
        out.append(plan.results(ids[start:start + len(plan.rows)]))
        start += len(plan.rows)
    return out


class _Alone(Exception):
    """The shared transaction failed: try again alone, so one bad request fails alone."""


class _Slot:
    __slots__ = ("plan", "done", "result", "lead")

    def __init__(self, plan: _Plan):
        self.plan = plan
        self.done = threading.Event()
        self.result: Any = None
        self.lead = False


class _IngestGroup:
    """Group commit: requests that arrive while a transaction is being written wait, and
    then go into the next one together.

    Each transaction costs a few statements and a commit whatever its size, and under
    concurrent load every statement also waits for the GIL, so sharing them is what keeps
    one-event-per-POST ingest from queueing on the writer. No thread of its own: the first
    request to arrive writes (leads); when done it hands the lead to the first one waiting,
    so no request answers late because it kept writing for others. A request gets its
    answer only after the commit that stored its events.
    """

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.waiting: list[_Slot] = []
        self.leading = False

    def store(self, plan: _Plan) -> list[tuple[int, bool]]:
        slot = _Slot(plan)
        with self.mutex:
            self.waiting.append(slot)
            lead = not self.leading
            self.leading = True
        if not lead:
            slot.done.wait()
        if lead or slot.lead:
            self._lead()
        if isinstance(slot.result, BaseException):
            raise slot.result
        return slot.result

    def _lead(self) -> None:
        with self.mutex:
            group, self.waiting = self.waiting, []
        try:
            outcomes: list[Any] = _write_plans([slot.plan for slot in group])
        except BaseException as exc:
            # Alone, the error is this request's own; shared, each tries again alone.
            outcomes = [exc] if len(group) == 1 else [_Alone() for _ in group]
        finally:
            with self.mutex:
                following = self.waiting[0] if self.waiting else None
                if following is None:
                    self.leading = False
            if following is not None:
                following.lead = True
        for slot, outcome in zip(group, outcomes, strict=True):
            slot.result = outcome
            slot.done.set()
        if following is not None:
            following.done.set()


def _group() -> _IngestGroup:
    app = current_app._get_current_object()
    group = app.extensions.get(GROUP)
    if group is None:
        with _group_guard:
            group = app.extensions.setdefault(GROUP, _IngestGroup())
    return group


def _new_event_json(event_id: int, item: dict[str, Any]) -> dict[str, Any]:
    """event_json() of an event just stored, from what was stored (no read back)."""
    detections = [_detection(d) for d in item["detections"]]
    return {
        "id": event_id,
        "camera_id": item["camera_id"],
        "started_at": isoformat_z(item["started_at"]),
        "ended_at": isoformat_z(item["ended_at"]) if item["ended_at"] else None,
        "risk_score": item["risk_score"],
        "risk_level": item["risk_level"],
        "summary": item["summary"],
        "labels": item["labels"] or [],
        "object_types": sorted({d["object_type"] for d in detections}),
        "detections": detections,
        "source": item["source"] or None,
        "external_id": item["external_id"],
        "scene_index_id": item["scene_index_id"],
        "attributes": item["attributes"],
        "media": item["media"],
        "received_at": isoformat_z(item["received_at"]),
        "processed_at": None,
        "revision": 0,
        "review": None,
    }
