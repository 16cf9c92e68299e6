"""A group's notification as the channels get it (docs/webhooks.md, "alert_group"), built
from the stored flush (alert_group_flushes), so every retry sends the same; and the status of
the alerts a flush first listed, kept in step with its deliveries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, tuple_, update

from ..engine.timeparse import isoformat_z
from ..engine.vocabulary import PRIORITIES
from ..models import Alert, AlertGroup, AlertGroupFlush, AlertRule, Delivery, Event, utcnow
from ..notify import Message
from ..notify.media import Snapshot
from . import action_links, notification_content
from .notification_content import ContentSettings

_G = AlertGroup.__table__
_F = AlertGroupFlush.__table__
_A = Alert.__table__
_D = Delivery.__table__
_E = Event.__table__
_R = AlertRule.__table__

_FLUSHES = (select(_F, _G.c.group_key, _G.c.labels, _G.c.rule_id, _G.c.rule_name)
            .join_from(_F, _G, _F.c.group_id == _G.c.id)
            .where(tuple_(_F.c.group_id, _F.c.number).in_(bindparam("pairs", expanding=True))))
_ALERTS = select(_A).where(_A.c.id.in_(bindparam("ids", expanding=True)))
_RULES = select(_R.c.id, _R.c.priority, _R.c.sound).where(
    _R.c.id.in_(bindparam("ids", expanding=True)))
_MEDIA = select(_E.c.id, _E.c.media).where(_E.c.id.in_(bindparam("ids", expanding=True)))
_FLUSH_COUNTS = (select(_D.c.status, func.count())
                 .where(_D.c.group_id == bindparam("group_id"),
                        _D.c.group_flush == bindparam("number"))
                 .group_by(_D.c.status))
_LISTED = select(_A.c.id, _A.c.status).where(_A.c.group_id == bindparam("group_id"),
                                             _A.c.group_flush == bindparam("number"))


def webhook_body(flush: Any, alerts: list[dict[str, Any]],
                 actions: dict[str, str] | None = None) -> dict[str, Any]:
    """The documented group webhook JSON (docs/webhooks.md); `actions`: the group's action
    links."""
    worst = alerts[0] if alerts else {}
    return {
        "type": "alert_group",
        "timestamp": isoformat_z(flush.at),
        "data": {
            "group_id": flush.group_id,
            "group_key": flush.group_key,
            "labels": flush.labels or {},
            "status": flush.status,
            "kind": flush.kind,
            "flush": flush.number,
            "rule": {"id": flush.rule_id, "name": flush.rule_name,
                     "severity": worst.get("severity")},
            "alerts": alerts,
            "count": flush.count,
            "truncated": flush.truncated,
            "actions": actions or {},
        },
    }


def loudest(rules: Iterable[Any]) -> Any | None:
    """The rule whose push priority and sound a group's notification takes: the highest
    priority (engine.vocabulary.PRIORITIES) among `rules` (rows with `priority` and
    `sound`), the first of those in the order given; None without any."""
    return max(rules, key=lambda rule: PRIORITIES.index(rule.priority)
               if rule.priority in PRIORITIES else PRIORITIES.index("normal"), default=None)


def build_message(delivery: Any, flush: Any, alerts: list[dict[str, Any]],
                  snapshots: tuple[Snapshot, ...] = (),
                  actions: dict[str, str] | None = None, rule: Any = None) -> Message:
    """One message for the group's flush: a title with the count and the worst severity,
    a text listing the alerts (worst first) with their pages; `snapshots`, the listed
    alerts' in the same order, as far as the delivery's channel carries them; `actions`,
    the group's action links (acknowledge the group), shown where the channel shows
    buttons; `rule` (`loudest`), the push priority and sound (else normal and none)."""
    worst = alerts[0] if alerts else {}
    priority = getattr(rule, "priority", None) or "normal"
    sound = getattr(rule, "sound", None)
    severity = worst.get("severity") or "low"
    more = f" (first {len(alerts)} listed)" if flush.truncated else ""
    if flush.status == "resolved":
        title = f"[RESOLVED] {flush.rule_name}: {flush.count} alerts acknowledged or dismissed"
    else:
        again = "still firing: " if flush.kind == "repeat" else ""
        title = (f"[{severity.upper()}] {flush.rule_name}: {again}{flush.count} "
                 f"alert{'s' if flush.count != 1 else ''}")
    lines = [f"{flush.count} alert{'s' if flush.count != 1 else ''} of group "
             f"{flush.group_key or flush.rule_name}{more}:"]
    lines += [f"- [{a['severity'].upper()}] camera {a['camera_id']}"
              + (f", zone {a['zone_id']}" if a.get("zone_id") else "")
              + (f", {a['object_type']}" if a.get("object_type") else "")
              + f" at {a['event_time']} (alert {a['id']})"
              + (f": {a['alert_url']}" if a.get("alert_url") else "") for a in alerts]
    channel = getattr(delivery, "channel", None) or ""
    carried = notification_content.SNAPSHOT_CHANNELS.get(channel, 0)
    return Message(
        delivery_id=delivery.message_id, severity=severity, title=title,
        text="\n".join(lines), snapshots=tuple(snapshots[:carried]),
        click_url=worst.get("alert_url"), priority=priority,
        context={"alert": worst, "alerts": alerts,
                 "rule": {"name": flush.rule_name, "severity": severity,
                          "priority": priority, "sound": sound},
                 "group": {"id": flush.group_id, "key": flush.group_key,
                           "status": flush.status, "count": flush.count},
                 "alert_url": worst.get("alert_url"), "actions": actions or {}},
        webhook_body=webhook_body(flush, alerts, actions))


def with_links(alert: dict[str, Any], media: dict[str, Any] | None,
               content: ContentSettings | None) -> tuple[dict[str, Any], Snapshot | None]:
    """A listed alert with its page (`alert_url`) and its event's signed `media` links
    (both null without ALERTING_PUBLIC_URL), and its snapshot to carry (None without one)."""
    if content is None:
        return {**alert, "alert_url": None, "media": None}, None
    links = notification_content.media_links(content, alert["event_id"], media)
    snapshot = notification_content.snapshot(content, alert["event_id"], media,
                                              links.get("snapshot"))
    return {**alert, "alert_url": notification_content.alert_url(content, alert["id"]),
            "media": links or None}, snapshot


def messages(conn: Connection, rows: list[Any], alert_json: Callable[[Any], dict[str, Any]],
             content: ContentSettings | None = None) -> dict[int, Message]:
    """The message of each group delivery row, by its id; with `content`, the alerts'
    links and snapshots. Its push priority and sound are those of the loudest rule among
    the listed alerts' rules (worst alert first) and the group's own, as they are now."""
    flushes = {(f.group_id, f.number): f for f in conn.execute(
        _FLUSHES, {"pairs": list({(r.group_id, r.group_flush) for r in rows})})}
    ids = {alert_id for f in flushes.values() for alert_id in f.alert_ids or ()}
    found = [SimpleNamespace(**row._mapping) for row in conn.execute(_ALERTS, {"ids": ids})] \
        if ids else []
    event_ids = {alert.event_id for alert in found if alert.event_id is not None}
    media = dict(conn.execute(_MEDIA, {"ids": event_ids}).all()) if event_ids else {}
    by_id = {alert.id: with_links(alert_json(alert), media.get(alert.event_id), content)
             for alert in found}
    rule_ids = {alert.rule_id for alert in found} | {f.rule_id for f in flushes.values()}
    rule_ids.discard(None)
    rules = {rule.id: rule for rule in conn.execute(_RULES, {"ids": rule_ids})} \
        if rule_ids else {}
    out = {}
    for row in rows:
        flush = flushes[(row.group_id, row.group_flush)]
        listed = [by_id[i] for i in flush.alert_ids or () if i in by_id]
        ranked = dict.fromkeys([*(alert["rule_id"] for alert, _ in listed), flush.rule_id])
        rule = loudest(rules[i] for i in ranked if i in rules)
        # A resolved group has nothing left to acknowledge.
        actions = action_links.links_for_group(flush.group_id, content.public_url) \
            if content is not None and flush.status != "resolved" else {}
        out[row.id] = build_message(row, flush, [alert for alert, _ in listed],
                                    tuple(snap for _, snap in listed if snap is not None),
                                    actions, rule)
    return out


def settle_flushes(conn: Connection, flushes: Iterable[tuple[int, int]],
                   automatic: tuple[str, ...]) -> list[int]:
    """The alerts a flush first listed: delivered when all its deliveries are, failed when
    one is dead, else pending (as an ungrouped alert follows its own). The moved ids."""
    moved = []
    now = utcnow()
    for group_id, number in flushes:
        params = {"group_id": group_id, "number": number}
        counts = dict(conn.execute(_FLUSH_COUNTS, params).all())
        status = "failed" if counts.get("dead") else \
            "delivered" if set(counts) <= {"delivered"} else "pending"
        ids = [a.id for a in conn.execute(_LISTED, params)
               if a.status in automatic and a.status != status]
        if ids:
            conn.execute(update(_A).where(_A.c.id.in_(ids), _A.c.status.in_(automatic))
                         .values(status=status, updated_at=now))
            moved += ids
    return moved
