"""Ingest of detection events: idempotent per source + external_id, one event or a batch.

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
from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..engine.errors import ValidationError
from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..models import Detection, Event, utcnow
from ..schemas.events import parse_event_batch
from ..storage import insert_returning_ids, write_transaction
from . import cameras
from .alert_pipeline import matching_on_ingest
from .events import EVENT_COLUMNS, event_json, get_event

_EVENTS = Event.__table__
# Built once: a statement built per request costs more than running it.
_INSERT_DETECTIONS = insert(Detection.__table__)

GROUP = "alerting.ingest_group"
_group_guard = threading.Lock()


def _normalise_identity(item: dict[str, Any]) -> None:
    # external_id is unique per source; "no source" counts as one source of its own.
    if item["external_id"] is not None and item["source"] is None:
        item["source"] = ""


def ingest(payload: Any, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
    """Store one event or a batch. Returns (HTTP status, body).

    One event: 201 with it, 200 with the stored one when it is a repeat, 422 when invalid.
    A batch: 201 when every item is stored (or a repeat), 207 with per-item results otherwise.
    """
    batch = isinstance(payload, dict) and "events" in payload
    parsed = parse_event_batch(payload, now=now or utcnow())
    if not batch:
        [(_, item)] = parsed
        if isinstance(item, ValidationError):
            raise item
        _normalise_identity(item)
        [(event_id, created)], matched = _store([item])
        if not created:
            return 200, event_json(get_event(event_id))
        if not matched:
            _stored([event_id])
        return 201, _new_event_json(event_id, item)
    valid = [(i, item) for i, item in parsed if not isinstance(item, ValidationError)]
    for _, item in valid:
        _normalise_identity(item)
    stored, matched = _store([item for _, item in valid])
    results: list[dict[str, Any]] = []
    by_index = dict(zip([i for i, _ in valid], stored, strict=True))
    for index, item in parsed:
        if isinstance(item, ValidationError):
            results.append({"index": index, "status": 422, "error": "validation_error",
                            "message": item.message, "fields": item.fields})
        else:
            event_id, created = by_index[index]
            results.append({"index": index, "status": 201 if created else 200, "id": event_id,
                            "duplicate": not created})
    new_ids = [event_id for event_id, created in stored if created]
    if not matched:
        _stored(new_ids)
    failed = sum(1 for r in results if r["status"] == 422)
    body = {"results": results, "created": len(new_ids),
            "duplicates": len(stored) - len(new_ids), "failed": failed}
    if failed == len(results):
        return 422, {**body, "error": "validation_error", "message": "no event was valid"}
    return (207 if failed else 201), body


def _stored(new_ids: list[int]) -> None:
    # After the commit, for events not matched on ingest: wakes the matcher.
    if new_ids:
        signals.events_stored.send(current_app._get_current_object(), ids=new_ids)


def _store(items: list[dict[str, Any]]) -> tuple[list[tuple[int, bool]], bool]:
    """Insert events and detections, committed; (id, created) per item, in order, and
    whether the new ones were matched in the same transaction.

    The common case, nothing stored before, costs no lookup: the insert is tried at once,
    in one transaction with the requests that arrive meanwhile (see _IngestGroup). Only when
    that fails (the unique source + external_id refused a repeat, most likely) does this
    request try again on its own, looking up what is stored already.
    """
    if not items:
        return [], False
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


def _existing(items: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    keys = {(i["source"], i["external_id"]) for i in items if i["external_id"] is not None}
    if not keys:
        return {}
    try:
        rows = db.session.execute(
            select(Event.source, Event.external_id, Event.id)
            .where(tuple_(Event.source, Event.external_id).in_(list(keys)))
        ).all()
    finally:
        db.session.rollback()  # no read transaction held open
    return {(source, external): event_id for source, external, event_id in rows}


class _Plan:
    """What storing one request's items takes: the rows to insert, and per item either the
    id it already has (stored before, or a repeat within the request) or a new one."""

    __slots__ = ("steps", "rows", "fresh", "first", "matched")

    def __init__(self, items: list[dict[str, Any]], existing: dict[tuple[str, str], int]):
        received = utcnow()
        # Per item: (id of the stored event, None) | (None, identity of its first) | (None, None)
        self.steps: list[tuple[int | None, tuple[str, str] | None]] = []
        self.rows: list[dict[str, Any]] = []
        self.fresh: list[dict[str, Any]] = []
        self.first: dict[tuple[str, str], int] = {}
        self.matched = False  # its new events were matched in the transaction that stored them
        for item in items:
            identity = None if item["external_id"] is None else \
                (item["source"], item["external_id"])
            if identity is not None and identity in existing:
                self.steps.append((existing[identity], None))
                continue
            if identity is not None and identity in self.first:
                self.steps.append((None, identity))  # a repeat within the request
                continue
            if identity is not None:
                self.first[identity] = len(self.rows)
            row = {name: item[name] for name in EVENT_COLUMNS}
            row["received_at"] = item["received_at"] = received
            self.rows.append(row)
            self.fresh.append(item)
            self.steps.append((None, None))

    def results(self, ids: list[int]) -> list[tuple[int, bool]]:
        """(id, created) per item, given the ids the rows got."""
        out: list[tuple[int, bool]] = []
        new_ids = iter(ids)
        for event_id, repeat_of in self.steps:
            if event_id is not None:
                out.append((event_id, False))
            elif repeat_of is not None:
                out.append((ids[self.first[repeat_of]], False))
            else:
                out.append((next(new_ids), True))
        return out


def _write_plans(plans: list[_Plan]) -> list[list[tuple[int, bool]]]:
    """Store the plans' rows in one transaction, matched in it when the matcher is idle
    (services/alert_pipeline.matching_on_ingest); the results of each plan."""
    rows = [row for plan in plans for row in plan.rows]
    if not rows:
        return [plan.results([]) for plan in plans]
    with ExitStack() as after_commit:
        with write_transaction() as conn:
            ids = insert_returning_ids(conn, _EVENTS, rows)
            fresh = [{**item, "id": event_id} for event_id, item in
                     zip(ids, (i for plan in plans for i in plan.fresh), strict=True)]
            detections = [
                {"event_id": item["id"], "object_type": det["object_type"],
                 "confidence": det.get("confidence"), "zone_ids": det.get("zone_ids") or [],
                 "bbox": det.get("bbox"), "track_id": det.get("track_id")}
                for item in fresh for det in item["detections"]
            ]
            if detections:
                conn.execute(_INSERT_DETECTIONS, detections)
            seen = cameras.seen_in(conn, fresh)  # camera health: these cameras are alive
            matched = after_commit.enter_context(matching_on_ingest(conn, fresh))
    seen()  # committed: the cameras' last_seen is written
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
    detections = [{"object_type": d["object_type"], "confidence": d.get("confidence"),
                   "zone_ids": d.get("zone_ids") or [], "bbox": d.get("bbox"),
                   "track_id": d.get("track_id")} for d in item["detections"]]
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
    }
