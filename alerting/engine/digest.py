"""Digests: one summary, at its time, of the alerts a channel target collected, instead of
an immediate send to that target of each alert its filter takes.

Pure decisions, no database: when a digest is next due (`next_due`), which alerts it takes
(`matches`), whose immediate sends it takes over (`taken_by`), and the summary it sends
(`summarize`, `render`). services/digests.py stores the state and writes the summary
through the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from .schedule import local_time, zone
from .timeparse import isoformat_z
from .vocabulary import DAYS, SEVERITY_PRIORITY

TOP_SNAPSHOTS = 5  # snapshots a summary links to, of its worst alerts
TOP_GROUPS = 20  # camera and rule lines a summary lists; the rest are counted


@dataclass(frozen=True, slots=True)
class Schedule:
    """Either every `every_seconds`, or at `at` (local HH:MM) on `days` in `timezone`."""

    every_seconds: int | None = None
    at: time | None = None
    days: tuple[str, ...] = DAYS
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """Which alerts a digest takes; None or empty: any."""

    min_severity: str | None = None  # this one or worse
    max_severity: str | None = None  # this one or milder
    modes: tuple[str, ...] = ()  # the arming mode at the event's time
    cameras: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rule ids or names


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What a summary needs of one alert."""

    id: int
    rule_id: str | None
    rule_name: str
    camera_id: str
    severity: str
    event_id: int
    event_time: datetime
    mode: str | None = None
    has_snapshot: bool = False


@dataclass
class Summary:
    """Counts per camera and rule (worst first), by severity, and the top snapshots."""

    total: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)
    more_groups: int = 0
    snapshots: list[dict[str, Any]] = field(default_factory=list)


def schedule_from_record(record: Mapping[str, Any]) -> Schedule:
    """The engine's Schedule from a stored digest schedule (validated when saved)."""
    if record.get("every_seconds"):
        return Schedule(every_seconds=int(record["every_seconds"]))
    hours, minutes = (int(part) for part in record["at"].split(":"))
    return Schedule(at=time(hours, minutes), days=tuple(record.get("days") or DAYS),
                    timezone=record.get("timezone"))


def filter_from_record(record: Mapping[str, Any] | None) -> Filter:
    record = record or {}
    return Filter(min_severity=record.get("min_severity"),
                  max_severity=record.get("max_severity"),
                  modes=tuple(record.get("modes") or ()),
                  cameras=tuple(record.get("cameras") or ()),
                  rules=tuple(record.get("rules") or ()))


def next_due(schedule: Schedule, after: datetime, default_timezone: str = "UTC") -> datetime:
    """The first time strictly after `after` the digest is due (UTC)."""
    if schedule.every_seconds:
        return after + timedelta(seconds=schedule.every_seconds)
    tz_name = schedule.timezone or default_timezone
    local = local_time(after, tz_name)
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        if DAYS[(day.weekday() + 1) % 7] not in schedule.days:
            continue
        # A wall time skipped or repeated by a DST change resolves as zoneinfo does (fold 0).
        candidate = datetime.combine(day, schedule.at, tzinfo=zone(tz_name))
        if candidate > after:
            return candidate.astimezone(after.tzinfo)
    raise ValueError("a digest schedule needs at least one day")  # refused when saved


def matches(digest_filter: Filter, alert: AlertFacts) -> bool:
    """Whether the digest takes `alert`."""
    priority = SEVERITY_PRIORITY[alert.severity]
    if digest_filter.min_severity and priority > SEVERITY_PRIORITY[digest_filter.min_severity]:
        return False
    if digest_filter.max_severity and priority < SEVERITY_PRIORITY[digest_filter.max_severity]:
        return False
    if digest_filter.modes and alert.mode not in digest_filter.modes:
        return False
    if digest_filter.cameras and alert.camera_id not in digest_filter.cameras:
        return False
    return not digest_filter.rules or alert.rule_id in digest_filter.rules \
        or alert.rule_name in digest_filter.rules


@dataclass(frozen=True, slots=True)
class Takeover:
    """A digest as the matcher checks it: the channel target it collects for (`target` in
    the clear) and its filter."""

    name: str
    channel: str
    target: str
    filter: Filter


def taken_by(digests: Iterable[Takeover], channel: str, target: str,
             alert: AlertFacts) -> str | None:
    """The digest that takes this alert's send to (channel, clear target) instead, if any
    (an email address in any case)."""
    for digest in digests:
        if digest.channel != channel:
            continue
        same = digest.target.casefold() == target.casefold() if channel == "email" \
            else digest.target == target
        if same and matches(digest.filter, alert):
            return digest.name
    return None


def summarize(alerts: Iterable[AlertFacts]) -> Summary:
    """The counts per (camera, rule), worst severity first then most alerts, the counts by
    severity, and the snapshots of the worst alerts (newest first among equals)."""
    summary = Summary()
    groups: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    with_snapshot: list[AlertFacts] = []
    for alert in alerts:
        summary.total += 1
        summary.by_severity[alert.severity] = summary.by_severity.get(alert.severity, 0) + 1
        key = (alert.camera_id, alert.rule_id, alert.rule_name)
        group = groups.setdefault(key, {"camera_id": alert.camera_id, "rule_id": alert.rule_id,
                                        "rule_name": alert.rule_name,
                                        "severity": alert.severity, "count": 0})
        group["count"] += 1
        if SEVERITY_PRIORITY[alert.severity] < SEVERITY_PRIORITY[group["severity"]]:
            group["severity"] = alert.severity
        if alert.has_snapshot:
            with_snapshot.append(alert)
    ordered = sorted(groups.values(), key=lambda g: (SEVERITY_PRIORITY[g["severity"]],
                                                     -g["count"], g["camera_id"],
                                                     g["rule_name"]))
    summary.groups, summary.more_groups = ordered[:TOP_GROUPS], max(0, len(ordered) - TOP_GROUPS)
    summary.by_severity = {s: summary.by_severity[s] for s in SEVERITY_PRIORITY
                           if s in summary.by_severity}
    with_snapshot.sort(key=lambda a: (SEVERITY_PRIORITY[a.severity], -a.event_time.timestamp(),
                                      -a.id))
    summary.snapshots = [{"alert_id": a.id, "event_id": a.event_id, "camera_id": a.camera_id,
                          "severity": a.severity} for a in with_snapshot[:TOP_SNAPSHOTS]]
    return summary


def worst_severity(summary: Summary) -> str:
    """The worst severity among the summary's alerts ("low" when it has none)."""
    return next(iter(summary.by_severity), "low")


def render(name: str, summary: Summary, since: datetime, until: datetime,
           links: Mapping[str, Any]) -> dict[str, Any]:
    """The digest's message: severity, title, text and webhook body (docs/webhooks.md).
    `links`: "alerts" (the alerts page for the period) and "snapshot" (event id -> URL)."""
    snapshot_url = links["snapshot"]
    snapshots = [{**s, "url": snapshot_url(s["event_id"])} for s in summary.snapshots]
    title = f"Digest {name}: {summary.total} alert" + ("" if summary.total == 1 else "s")
    lines = [f"{title} from {isoformat_z(since)} to {isoformat_z(until)}."]
    if summary.by_severity:
        lines.append("By severity: " + ", ".join(f"{count} {severity}" for severity, count
                                                  in summary.by_severity.items()) + ".")
    lines += [f"- {g['count']} × {g['rule_name']} on {g['camera_id']} ({g['severity']})"
              for g in summary.groups]
    if summary.more_groups:
        lines.append(f"- and {summary.more_groups} more camera and rule pairs")
    if snapshots:
        lines.append("Snapshots:")
        lines += [f"- {s['camera_id']} ({s['severity']}): {s['url']}" for s in snapshots]
    lines.append(f"All alerts: {links['alerts']}")
    body = {"type": "digest", "timestamp": isoformat_z(until), "data": {"digest": {
        "name": name, "since": isoformat_z(since), "until": isoformat_z(until),
        "total": summary.total, "by_severity": summary.by_severity, "groups": summary.groups,
        "more_groups": summary.more_groups, "snapshots": snapshots,
        "alerts_url": links["alerts"]}}}
    return {"severity": worst_severity(summary), "title": title, "text": "\n".join(lines),
            "webhook_body": body}
