"""Escalation: alerts still unacknowledged at their `escalate_at` go to their rule's
escalation targets, through the delivery outbox (deliveries of kind "escalation").

Claiming is safe with several worker processes and across a crash: one transaction clears
the alerts' `escalate_at` (an UPDATE ... WHERE escalate_at IS NOT NULL that returns what it
took, so two workers never take the same alert) and writes their delivery rows. An
acknowledge or dismiss clears `escalate_at` too (services/alerts.py): on PostgreSQL the two
UPDATEs of the row are ordered by its lock and the later one sees the earlier's result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from .. import signals
from ..engine import escalation
from ..extensions import db
from ..models import Alert, AlertRule, Delivery, utcnow
from ..storage import write_transaction
from .notification_targets import escalation_pairs, rule_targets

BATCH = 200

_A = Alert.__table__
_R = AlertRule.__table__
_D = Delivery.__table__
_DUE = (select(_A.c.id).where(_A.c.escalate_at <= bindparam("now"))
        .order_by(_A.c.escalate_at, _A.c.id).limit(bindparam("limit")))
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)  # PostgreSQL: workers share the work
_CLAIM = (update(_A).where(_A.c.id.in_(bindparam("ids", expanding=True)),
                           _A.c.escalate_at.is_not(None),
                           _A.c.escalate_at <= bindparam("now"))
          .values(escalate_at=None).returning(_A.c.id, _A.c.rule_id, _A.c.status))
_RULES = select(_R.c.id, _R.c.escalate_after, _R.c.escalation_targets,
                _R.c.escalation_targets_sealed).where(
    _R.c.id.in_(bindparam("ids", expanding=True)))
_EARLIEST = select(func.min(_A.c.escalate_at))


def escalate_due(now: datetime | None = None, limit: int = BATCH) -> list[int]:
    """Claim the alerts due to escalate and write their escalation deliveries, in one
    transaction; the ids of the alerts escalated (those acknowledged meanwhile, or whose
    rule no longer escalates, are claimed and dropped)."""
    now = now or utcnow()
    conn = db.session.connection()
    locked = conn.dialect.name == "postgresql"
    ids = list(conn.scalars(_DUE_LOCKED if locked else _DUE, {"now": now, "limit": limit}))
    if not ids:
        db.session.rollback()
        return []
    escalated: list[int] = []
    with write_transaction() as writer:
        claimed = writer.execute(_CLAIM, {"ids": ids, "now": now}).all()
        rules = {row.id: row for row in writer.execute(
            _RULES, {"ids": list({row.rule_id for row in claimed if row.rule_id})})}
        deliveries: list[dict[str, Any]] = []
        for alert in claimed:
            rule = rules.get(alert.rule_id)
            if rule is None or not rule.escalate_after or \
                    not escalation.still_escalates(alert.status):
                continue
            pairs = escalation_pairs(rule_targets(rule.escalation_targets,
                                                  rule.escalation_targets_sealed))
            deliveries += [{"alert_id": alert.id, "kind": "escalation",
                            "payload": {"after_seconds": rule.escalate_after},
                            "channel": channel, "target": target.shown,
                            "target_sealed": target.sealed} for channel, target in pairs]
            if pairs:
                escalated.append(alert.id)
        if deliveries:
            writer.execute(_D.insert(), deliveries)
    if db.engine.dialect.name == "sqlite":
        db.session.rollback()  # the read transaction of the SELECT
    if escalated:
        signals.deliveries_due.send(current_app._get_current_object())
    return escalated


def next_due() -> datetime | None:
    """The earliest escalate_at of any alert, or None."""
    return db.session.connection().scalar(_EARLIEST)
