"""The rule tester: how a rule would have judged past events, and why. Writes nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app

from ..engine.cooldown import CooldownLedger
from ..engine.dedup import dedup_zone
from ..engine.rule_eval import match_event
from ..engine.timeparse import isoformat_z
from ..engine.types import rule_from_record
from ..errors import ApiError
from ..extensions import db
from ..schemas.rules import parse_rule_test
from .alert_pipeline import QuietCache, quieted
from .events import engine_event, events_by_ids, recent_events
from .modes import mode_clock
from .rules import get_rule, rule_record
from .tracks import with_tracks


def run_rule_test(rule_id: str, payload: Any) -> dict[str, Any]:
    """Match the rule against the given (or latest) events; explain each verdict."""
    rule_row = get_rule(rule_id)
    if rule_row.kind == "camera_offline":
        raise ApiError(409, "conflict", "A camera_offline rule is not matched against events: "
                       "it watches cameras (see GET /api/cameras)")
    options = parse_rule_test(payload)
    rule = rule_from_record(rule_record(rule_row))
    missing: list[int] = []
    if options["event_ids"]:
        wanted = options["event_ids"][: options["limit"]]
        found = {e.id: e for e in events_by_ids(wanted)}
        missing = [i for i in wanted if i not in found]
        rows = list(found.values())
    else:
        rows = recent_events(options["limit"])
    # Time order, so the cooldown replay sees the events as they would have arrived.
    rows.sort(key=lambda e: (e.started_at, e.id))
    timezone = current_app.config["TIMEZONE"]
    ledger = CooldownLedger()
    quiet = QuietCache()  # silences and mute timings as the matcher reads them
    quiet.refresh(None, None)
    facts = {"severity": rule.severity, "mute_timings": tuple(rule_row.mute_timings or ())}
    channels = [(channel, None) for channel in rule.channels]
    conn = db.session.connection()
    mode_at = mode_clock(conn)
    events = [engine_event(row) for row in rows]
    if rule.zone_sequence or rule.min_dwell_seconds or rule.stationary_seconds or \
            rule.identities or rule.exclude_identities or rule.min_count:
        # The tracks as they are now (or at test_time): dwell and stillness read at that time.
        events, _rows = with_tracks(conn, events, at=options["test_time"],
                                    counting=rule.min_count is not None)
    results = []
    would_fire = 0
    for row, event in zip(rows, events, strict=True):
        # The arming mode at the time tested: the event's own, or test_time.
        mode = mode_at(options["test_time"] or event.started_at)
        verdict = match_event(rule, event, at=options["test_time"], default_timezone=timezone,
                              mode=mode)
        suppressed = False
        silenced_by = None
        if verdict.matches:
            key = verdict.dedup_key or ""
            suppressed = ledger.suppresses(rule.id, key, event.started_at, rule.cooldown_seconds)
            if not suppressed:
                silenced_by = _silenced_by(quiet, facts, event, verdict, channels,
                                           options["test_time"], rule.zone_ids)
            if not suppressed and silenced_by is None:
                ledger.record(rule.id, key, event.started_at)
                would_fire += 1
        results.append({
            "event_id": row.id,
            "camera_id": row.camera_id,
            "risk_score": row.risk_score,
            "object_types": sorted({d.object_type for d in row.detections}),
            "matches": verdict.matches,
            "matched_conditions": verdict.matched_conditions,
            "failed_conditions": verdict.failed_conditions,
            "suppressed_by_cooldown": suppressed,
            "silenced_by": silenced_by,
            "dedup_key": verdict.dedup_key,
            "started_at": isoformat_z(row.started_at),
            "mode": mode,
            "explanations": verdict.explanations,
        })
    matched = sum(1 for r in results if r["matches"])
    body = {
        "rule_id": rule_row.id,
        "rule_name": rule_row.name,
        "events_tested": len(results),
        "events_matched": matched,
        "match_rate": round(matched / len(results), 4) if results else 0.0,
        "alerts_that_would_fire": would_fire,
        "test_time": isoformat_z(options["test_time"]) if options["test_time"] else None,
        "results": results,
    }
    if missing:
        body["missing_event_ids"] = missing
    return body


def _silenced_by(quiet: QuietCache, rule: dict[str, Any], event: Any, verdict: Any,
                 channels: list, at: Any, zones: Any) -> dict[str, Any] | None:
    """The silence or mute timing that would keep this match from being delivered, at the
    test time (else the event's own)."""
    if at is not None:
        event = replace(event, started_at=at)
    silence_id, mute_timing, _due = quieted(quiet, rule, event, verdict,
                                            dedup_zone(zones, verdict.detection) or None,
                                            channels)
    if silence_id is None and mute_timing is None:
        return None
    return {"silence_id": silence_id, "mute_timing": mute_timing}
