"""Tracks in the database: updated by ingest, read by the matcher, re-matched on time.

Ingest folds each stored event into the tracks of its detections (`observe_records`, in the
transaction that stores the event). The matcher reads them (`with_tracks`) to judge the rules'
track criteria, and writes each track's `due_at`: the moment a dwell or stationary criterion
will first hold if nothing more is heard (`dues`). The track timer (workers/track_timer_loop)
claims due tracks (`claim_due`) and queues their latest event for matching again as a
revision: a rule fires at most once per event (uq_alerts_event_rule), so however many
processes claim or match it, the alert is made once.

Every time here is the server's clock: a track's observations are timed when they are
stored, so dwell and due times share one clock with the timer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import Connection, bindparam, func, select, tuple_, update

from ..engine.event_record import attributes_identity, detection_identity
from ..engine.rule_eval import CompiledRule, match_event
from ..engine.timeparse import isoformat_z
from ..engine.tracks import (
    Observation,
    Track,
    TrackContext,
    due_at,
    observe,
    seconds_text,
    track_spec,
)
from ..engine.types import Event as EngineEvent
from ..engine.types import rule_from_record
from ..extensions import db
from ..models import Event, utcnow
from ..models import Track as TrackRow
from ..storage import delete_older, write_transaction

_TRACKS = TrackRow.__table__
_EVENTS = Event.__table__

_TRACKS_OF = select(_TRACKS.c.id, _TRACKS.c.camera_id, _TRACKS.c.track_id, _TRACKS.c.state,
                    _TRACKS.c.due_at, _TRACKS.c.ended_at).where(
    tuple_(_TRACKS.c.camera_id, _TRACKS.c.track_id).in_(bindparam("keys", expanding=True)))
_TRACKS_OF_LOCKED = _TRACKS_OF.with_for_update()
_OPEN_ON = select(_TRACKS.c.id, _TRACKS.c.camera_id, _TRACKS.c.track_id, _TRACKS.c.state,
                  _TRACKS.c.due_at).where(
    _TRACKS.c.camera_id.in_(bindparam("cameras", expanding=True)), _TRACKS.c.ended_at.is_(None))
_SET_DUE = update(_TRACKS).where(_TRACKS.c.id == bindparam("track_row")).values(
    due_at=bindparam("due"))
_NEXT_DUE = select(func.min(_TRACKS.c.due_at))
_DUE = select(_TRACKS.c.id).where(_TRACKS.c.due_at <= bindparam("now")).order_by(
    _TRACKS.c.due_at).limit(bindparam("limit"))
_CLAIM = update(_TRACKS).where(_TRACKS.c.id.in_(bindparam("ids", expanding=True)),
                               _TRACKS.c.due_at <= bindparam("now")).values(
    due_at=None).returning(_TRACKS.c.event_id)
# Matched again as a revision: the rules that fired for it already are skipped.
_REQUEUE = update(_EVENTS).where(_EVENTS.c.id.in_(bindparam("ids", expanding=True))).values(
    processed_at=None, revision=_EVENTS.c.revision + 1)
_STALE = select(_TRACKS.c.id, _TRACKS.c.state).where(
    _TRACKS.c.ended_at.is_(None), _TRACKS.c.last_seen < bindparam("before")).order_by(
    _TRACKS.c.last_seen).limit(1000)
# A track its source ends itself (Frigate) that is silent this long lost its end (the source
# restarted): ended too, so it does not count as present for ever.
LOST_END_SECONDS = 24 * 3600
_END = update(_TRACKS).where(_TRACKS.c.id == bindparam("track_row")).values(
    ended_at=bindparam("ended"), state=bindparam("ended_state"), due_at=None)
# Built once and sent as one executemany per ingest transaction: a statement built per track
# cost more than the rest of storing an event (bench/ingest_cpu.py, BENCHMARKS.md).
_FOLD = update(_TRACKS).where(_TRACKS.c.id == bindparam("track_row")).values(
    state=bindparam("new_state"), event_id=bindparam("new_event_id"),
    last_seen=bindparam("new_last_seen"), ended_at=bindparam("new_ended_at"))
_INSERT_TRACKS = _TRACKS.insert()


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _is_frigate(attributes: Any) -> bool:
    return isinstance(attributes, Mapping) and isinstance(attributes.get("frigate"), Mapping)


def observations(record: Mapping[str, Any], at: float) -> list[tuple[str, Observation]]:
    """(track id, observation) for each detection of a stored event that has a track id.

    From Frigate the zones are the object's `current_zones` (its detection lists every zone
    entered), the `stationary` flag is Frigate's and its end is the event's end; over HTTP
    the zones are the detection's, stillness comes from the bbox, and only the track timeout
    ends a track. The identity is the detection's (`identity`, `identity_score`), else the
    event's `attributes.identity` (name and score); the track keeps the best-scored one.
    Frigate's object attributes (face, license_plate, ...) are kept with their best scores.
    """
    attributes = record.get("attributes")
    frigate = _is_frigate(attributes)
    facts = attributes["frigate"] if frigate else {}
    event_identity = attributes_identity(attributes)
    out = []
    for det in record.get("detections") or ():
        track_id = det.get("track_id")
        if track_id is None:
            continue
        bbox = det.get("bbox")
        stationary = facts.get("stationary") if frigate else None
        identity, identity_score = detection_identity((det,))
        if identity is None:
            identity, identity_score = event_identity
        seen = facts.get("attributes") if frigate else None
        out.append((str(track_id), Observation(
            at=at, object_type=det["object_type"],
            zones=tuple(facts.get("current_zones") or ()) if frigate
            else tuple(det.get("zone_ids") or ()),
            score=det.get("confidence"),
            bbox=tuple(bbox) if bbox is not None else None,
            stationary=stationary if isinstance(stationary, bool) else None,
            identity=identity, identity_score=identity_score,
            attributes=tuple(seen.items()) if isinstance(seen, Mapping) else (),
            end=frigate and record.get("ended_at") is not None,
            explicit_end=frigate, event_id=record.get("id"))))
    return out


def observe_records(conn: Connection, records: Iterable[Mapping[str, Any]],
                    now: datetime | None = None) -> int:
    """In the transaction storing these events: fold them into their tracks (rows locked on
    PostgreSQL, so two ingests of one track apply one after the other). How many tracks."""
    at = (now or utcnow()).timestamp()
    pending: dict[tuple[str, str], list[Observation]] = {}
    for record in records:
        for track_id, obs in observations(record, at):
            pending.setdefault((record["camera_id"], track_id), []).append(obs)
    if not pending:
        return 0
    query = _TRACKS_OF_LOCKED if conn.dialect.name == "postgresql" else _TRACKS_OF
    stored = {(row.camera_id, row.track_id): row
              for row in conn.execute(query, {"keys": list(pending)})}
    inserts, updates = [], []
    for key, seen in pending.items():
        row = stored.get(key)
        track = Track.from_dict(row.state) if row is not None else None
        if track is not None and row.ended_at is not None and not track.explicit_end:
            # Ended by its silence: the same id again is another object (an HTTP detector's
            # tracker counts from 1 again after a restart). A source that ends its tracks
            # itself (Frigate) keeps them ended, so its late messages stay late.
            track = None
        for obs in seen:
            track = observe(track, obs, *key)
        assert track is not None
        ended = None if track.ended_at is None else _time(track.ended_at)
        if row is None:
            inserts.append({"camera_id": key[0], "track_id": key[1], "state": track.to_dict(),
                            "event_id": track.event_id, "last_seen": _time(track.last_seen),
                            "ended_at": ended})
        else:
            updates.append({"track_row": row.id, "new_state": track.to_dict(),
                            "new_event_id": track.event_id,
                            "new_last_seen": _time(track.last_seen), "new_ended_at": ended})
    if updates:
        conn.execute(_FOLD, updates)
    if inserts:
        conn.execute(_INSERT_TRACKS, inserts)
    return len(pending)


def _track_ids(event: EngineEvent) -> list[str]:
    return [d.track_id for d in event.detections if d.track_id is not None]


def with_tracks(conn: Connection, events: list[EngineEvent], *, at: datetime | None = None,
                counting: bool = False) -> tuple[list[EngineEvent], dict[tuple[str, str], Any]]:
    """The events, each with the tracks of its detections read at `at` (default now), and
    the rows read ((camera, track id) -> row: id, state, due_at). With `counting`, each
    also sees every open track of its camera (min_count)."""
    keys = {(e.camera_id, t) for e in events for t in _track_ids(e)}
    cameras = sorted({e.camera_id for e in events if _track_ids(e)}) if counting else []
    if not keys:
        return events, {}
    rows = {(r.camera_id, r.track_id): r for r in conn.execute(_TRACKS_OF, {"keys": list(keys)})}
    if cameras:
        for r in conn.execute(_OPEN_ON, {"cameras": cameras}):
            rows.setdefault((r.camera_id, r.track_id), r)
    tracks = {key: Track.from_dict(row.state) for key, row in rows.items()}
    by_camera: dict[str, list[Track]] = {}
    for (camera, _tid), track in tracks.items():
        by_camera.setdefault(camera, []).append(track)
    when = (at or utcnow()).timestamp()
    timeout = float(current_app.config["TRACK_TIMEOUT_SECONDS"])
    out = []
    for event in events:
        ids = _track_ids(event)
        if not ids:
            out.append(event)
            continue
        mine = {t: tracks[(event.camera_id, t)] for t in ids if (event.camera_id, t) in tracks}
        ctx = TrackContext(at=when, timeout=timeout, tracks=mine,
                           camera=tuple(by_camera.get(event.camera_id, ())))
        out.append(replace(event, tracks=ctx))
    return out, rows


def dues(rules: Iterable[CompiledRule], events: list[EngineEvent],
         rows: Mapping[tuple[str, str], Any], now: datetime) -> list[dict[str, Any]]:
    """The tracks whose due time changes: {"track_row", "due"} each. A track is due at the
    earliest moment a timed criterion (dwell, stationary) of a rule that may apply to it
    (enabled, its camera, its object type) first holds, after now."""
    timed = [c for c in rules if c.track is not None and c.track.timed and c.rule.enabled]
    if not timed:
        return []
    when = now.timestamp()
    timeout = float(current_app.config["TRACK_TIMEOUT_SECONDS"])
    out = []
    seen: set[tuple[str, str]] = set()
    for event in events:
        for track_id in _track_ids(event):
            key = (event.camera_id, track_id)
            row = rows.get(key)
            if row is None or key in seen:
                continue
            seen.add(key)
            track = Track.from_dict(row.state)
            best: float | None = None
            for c in timed:
                if c.cameras is not None and event.camera_id not in c.cameras:
                    continue
                if c.types is not None and track.object_type.casefold() not in c.types:
                    continue
                due = due_at(c.track, track, timeout)  # type: ignore[arg-type]
                if due is not None and due > when and (best is None or due < best):
                    best = due
            due_time = None if best is None else _time(best)
            stored = row.due_at
            if stored is not None and stored.tzinfo is None:
                stored = stored.replace(tzinfo=UTC)
            if due_time != stored:
                out.append({"track_row": row.id, "due": due_time})
    return out


def set_dues(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """Write due times (in the transaction that marks the events processed)."""
    if changes:
        conn.execute(_SET_DUE, changes)


def next_due() -> datetime | None:
    """The earliest due time of any track."""
    with write_transaction() as conn:
        found = conn.execute(_NEXT_DUE).scalar()
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def claim_due(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim the tracks due by now (their due time cleared; on PostgreSQL rows another
    process holds are skipped) and queue their latest events for matching again. The
    event ids queued."""
    now = now or utcnow()
    with write_transaction() as conn:
        query = _DUE.with_for_update(skip_locked=True) \
            if conn.dialect.name == "postgresql" else _DUE
        ids = [row.id for row in conn.execute(query, {"now": now, "limit": limit})]
        if not ids:
            return []
        events = sorted({e for (e,) in conn.execute(_CLAIM, {"ids": ids, "now": now})
                         if e is not None})
        if events:
            conn.execute(_REQUEUE, {"ids": events})
    return events


def end_silent(now: datetime | None = None) -> int:
    """Mark ended the tracks without an `end` of their own that nothing was heard of for the
    track timeout, and those with one silent for LOST_END_SECONDS (they ended when last
    seen). How many."""
    now = now or utcnow()
    timeout = float(current_app.config["TRACK_TIMEOUT_SECONDS"])
    before = _time(now.timestamp() - timeout)
    lost = now.timestamp() - max(timeout, LOST_END_SECONDS)
    with write_transaction() as conn:
        ended = [{"track_row": row.id, "ended": _time(row.state["last_seen"]),
                  "ended_state": {**row.state, "ended_at": row.state["last_seen"]}}
                 for row in conn.execute(_STALE, {"before": before})
                 if not row.state.get("explicit_end") or row.state["last_seen"] < lost]
        if ended:
            conn.execute(_END, ended)
    return len(ended)


def prune_ended(now: datetime | None = None, limit: int = 500) -> int:
    """Delete up to `limit` tracks that ended more than TRACK_RETENTION_SECONDS ago, oldest
    first. How many.

    Until then an ended track is still read: by the event page and the rule test (its facts
    and the explanations of its events), and by ingest, so that a late message of a track its
    source ended (Frigate's `end`) leaves it ended (engine.tracks.observe); after it, the
    same id starts a new track."""
    now = now or utcnow()
    retention = float(current_app.config["TRACK_RETENTION_SECONDS"])
    return delete_older(_TRACKS.c.ended_at, _time(now.timestamp() - retention), limit)


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else isoformat_z(_time(seconds))


def event_tracks(event: EngineEvent) -> list[dict[str, Any]]:
    """For the event page: each track of the event as it is now (zones entered in order,
    stillness, identity) and what every enabled rule with track criteria on its camera says
    of it now ("in `gate` for 12 s of the 30 s required")."""
    from ..models import AlertRule
    from .rules import rule_record

    rows = db.session.scalars(select(AlertRule).where(AlertRule.enabled.is_(True),
                                                      AlertRule.kind == "detection")).all()
    specs = [(rule, spec) for rule in (rule_from_record(rule_record(r)) for r in rows)
             if (spec := track_spec(rule)) is not None
             and (not rule.camera_ids or event.camera_id in rule.camera_ids)]
    rules = [rule for rule, _spec in specs]
    [seen], _rows = with_tracks(db.session.connection(), [event],
                                counting=any(r.min_count is not None for r in rules))
    ctx = seen.tracks
    if ctx is None:
        return []
    timezone = current_app.config["TIMEZONE"]
    out = []
    for track_id, track in ctx.tracks.items():
        # Each rule judges this track's detections alone: its verdict on the whole event
        # would speak of the first track that passes it, under every track.
        mine = replace(seen, detections=tuple(
            d for d in seen.detections if d.track_id == track_id))
        # Only the rules about objects of its type: a person's loitering rule says nothing
        # of a car's track.
        verdicts = [(rule, match_event(rule, mine, default_timezone=timezone))
                    for rule, spec in specs
                    if spec.types is None or track.object_type.casefold() in spec.types]
        out.append({
            "track_id": track_id, "object_type": track.object_type,
            "first_seen": _iso(track.first_seen), "last_seen": _iso(track.last_seen),
            "ended_at": _iso(track.ended_at),
            "visits": [{"zone": v.zone, "entered": _iso(v.entered), "exited": _iso(v.exited),
                        "lasted": seconds_text(track.stay_seconds(v, ctx.at, ctx.timeout))}
                       for v in sorted(track.visits, key=lambda v: v.entered)],
            "stationary_since": _iso(track.stationary_since),
            "identity": track.identity, "best_score": track.best_score,
            "attributes": track.attributes,
            "rules": [{"id": rule.id, "name": rule.name, "matches": verdict.matches,
                       "explanations": verdict.explanations or {}}
                      for rule, verdict in verdicts],
        })
    return out
