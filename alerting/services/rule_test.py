"""The rule tester: how a rule would have judged past events, and why. Writes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from ..engine.cooldown import CooldownLedger
from ..engine.dedup import dedup_zone
from ..engine.explain import explain
from ..engine.rule_eval import match_event
from ..engine.timeparse import isoformat_z
from ..engine.tracks import track_spec
from ..engine.types import rule_from_record
from ..errors import ApiError
from ..extensions import db
from ..models import Alert
from ..schemas.rules import parse_rule_test
from .alert_pipeline import QuietCache, quieted
from .events import engine_event, events_by_ids, recent_events
from .modes import mode_clock
from .rules import enabled_detection_rules, get_rule, rule_record
from .tracks import with_tracks


def run_rule_test(rule_id: str, payload: Any) -> dict[str, Any]:
    """Match the rule against the given (or latest) events; explain each verdict."""
    rule_row = get_rule(rule_id)
    if rule_row.kind == "camera_offline":
        raise ApiError(409, "conflict", "A camera_offline rule is not matched against events: "
                       "it watches cameras (see GET /api/cameras)")
    options = parse_rule_test(payload)
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
    judge = RuleJudge(rule_row, options["test_time"])
    events = _tracked([engine_event(row) for row in rows], [judge.rule], options["test_time"])
    results = [judge.judge(row, event=event) for row, event in zip(rows, events, strict=True)]
    would_fire = judge.would_fire
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


def _tracked(events: list[Any], rules: list[Any], at: datetime | None = None) -> list[Any]:
    """The events with their tracks as they are now (or at `at`: dwell and stillness read at
    that time), when one of the rules has track criteria; else as they are."""
    tracked = [rule for rule in rules if track_spec(rule) is not None]
    if not tracked:
        return events
    events, _rows = with_tracks(db.session.connection(), events, at=at,
                                counting=any(rule.min_count is not None for rule in tracked))
    return events


_STORED_NEAR = (
    select(Alert.id, Alert.event_time)
    .where(Alert.rule_id == bindparam("rule_id"), Alert.dedup_key == bindparam("key"),
           Alert.status != "silenced",  # a silenced alert starts no cooldown
           Alert.event_id != bindparam("event_id"),
           Alert.event_time > bindparam("after"), Alert.event_time < bindparam("before"))
    .order_by(Alert.event_time.desc(), Alert.id.desc())
)


class RuleJudge:
    """One rule judged against events one after the other, as the matcher would: its verdict,
    the cooldown (of the alerts already stored, and of the matches judged before: a replay),
    the silence or mute timing, and the arming mode. Writes nothing."""

    def __init__(self, rule_row: Any, test_time: datetime | None = None, *,
                 quiet: QuietCache | None = None, mode_at: Any = None) -> None:
        self.row = rule_row
        self.rule = rule_from_record(rule_record(rule_row))
        self.test_time = test_time
        self.timezone = current_app.config["TIMEZONE"]
        # (rule id, key) -> the tested event whose match would start the cooldown
        self.ledger = CooldownLedger()
        self.fired_by: dict[tuple[str, str], list[tuple[datetime, int]]] = {}
        if quiet is None:
            quiet = QuietCache()  # silences and mute timings as the matcher reads them
            quiet.refresh(None, None)
        self.quiet = quiet
        self.facts = {"severity": self.rule.severity,
                      "mute_timings": tuple(rule_row.mute_timings or ())}
        self.channels = [(channel, None) for channel in self.rule.channels]
        self.mode_at = mode_at or mode_clock(db.session.connection())
        self.would_fire = 0

    def judge(self, row: Any, *, event: Any = None,
              explain_values: bool = False) -> dict[str, Any]:
        """The verdict on one event row (events come in time order for the replay); `event`:
        its engine event when the caller made it (with its tracks)."""
        rule = self.rule
        event = event if event is not None else engine_event(row)
        # The arming mode at the time tested: the event's own, or test_time.
        mode = self.mode_at(self.test_time or event.started_at)
        verdict = match_event(rule, event, at=self.test_time, default_timezone=self.timezone,
                              mode=mode)
        cooldown = None
        silenced_by = None
        if verdict.matches:
            key = verdict.dedup_key or ""
            cooldown = self._cooldown(key, row.id, event.started_at)
            if cooldown is None:
                silenced_by = _silenced_by(self.quiet, self.facts, event, verdict,
                                           self.channels, self.test_time, rule.zone_ids)
            if cooldown is None and silenced_by is None:
                self.ledger.record(rule.id, key, event.started_at)
                self.fired_by.setdefault((rule.id, key), []).append((event.started_at, row.id))
                self.would_fire += 1
        result = {
            "event_id": row.id,
            "camera_id": row.camera_id,
            "risk_score": row.risk_score,
            "object_types": sorted({d.object_type for d in row.detections}),
            "matches": verdict.matches,
            "matched_conditions": verdict.matched_conditions,
            "failed_conditions": verdict.failed_conditions,
            "suppressed_by_cooldown": cooldown is not None,
            "cooldown": cooldown,
            "silenced_by": silenced_by,
            "dedup_key": verdict.dedup_key,
            "started_at": isoformat_z(row.started_at),
            "mode": mode,
            "explanations": verdict.explanations,
        }
        if explain_values:
            result["criteria"] = explain(rule, event, verdict, default_timezone=self.timezone,
                                         at=self.test_time, mode=mode)
        return result

    def _cooldown(self, key: str, event_id: int, when: datetime) -> dict[str, Any] | None:
        """What keeps a match at `when` within the cooldown: an alert already stored (another
        event's) or a match judged before in this replay; None when nothing does."""
        seconds = self.rule.cooldown_seconds
        if seconds <= 0:
            return None
        window = timedelta(seconds=seconds)
        if self.ledger.suppresses(self.rule.id, key, when, seconds):
            earlier = [(t, i) for t, i in self.fired_by[(self.rule.id, key)]
                       if abs(when - t) < window]
            start, by_event = max(earlier)
            return {"alert_id": None, "event_id": by_event,
                    "until": isoformat_z(start + window)}
        stored = db.session.execute(_STORED_NEAR, {
            "rule_id": self.rule.id, "key": key, "event_id": event_id,
            "after": when - window, "before": when + window}).all()
        if not stored:
            return None
        # The latest alert at or before the event suppresses it; else (a backfill) the next.
        before = [r for r in stored if _utc(r.event_time) <= when]
        alert_id, start = (before[0] if before else stored[-1])
        return {"alert_id": alert_id, "event_id": None, "until": isoformat_z(_utc(start) + window)}


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


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


def why_no_alert(event_row: Any) -> list[dict[str, Any]]:
    """Every enabled detection rule's verdict on one event, as the rule test gives it, with
    the required and actual value of each criterion (`criteria`), the alert the rule raised
    for it if any (`alert`) and the rule row (`rule`): the event page's "Why no alert?"."""
    quiet = QuietCache()
    quiet.refresh(None, None)
    mode_at = mode_clock(db.session.connection())
    raised = {a.rule_id: a for a in db.session.scalars(
        select(Alert).where(Alert.event_id == event_row.id))}
    judges = [RuleJudge(rule_row, quiet=quiet, mode_at=mode_at)
              for rule_row in enabled_detection_rules()]
    # Track criteria are judged on the event's tracks, as the rule test and the Tracks section
    # judge them: without them every dwell or identity would read "no track for this event".
    [event] = _tracked([engine_event(event_row)], [judge.rule for judge in judges])
    return [{**judge.judge(event_row, event=event, explain_values=True), "rule": judge.row,
             "alert": raised.get(judge.row.id)} for judge in judges]
