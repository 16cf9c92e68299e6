"""The audit log: one row per change a person or a key makes, with who, when, from where,
and what changed (before -> after, secrets masked)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import func, or_, select

from ..engine.timeparse import isoformat_z
from ..extensions import db
from ..models import AuditLog

# What a secret's value is shown as in the log: that it changed, never what it is.
MASK = "***"


def client_address() -> str | None:
    """The address of the client making this request (through a trusted proxy when
    ALERTING_TRUST_PROXY is on); None outside a request (the CLI, start-up)."""
    return request.remote_addr if has_request_context() else None


def record(actor: str, action: str, target_type: str | None = None,
           target_id: str | int | None = None, details: dict[str, Any] | None = None,
           *, changes: dict[str, dict[str, Any]] | None = None) -> AuditLog:
    """Add an audit entry to the current session (committed with the change it describes).
    `changes` (from `diff`) is kept in details["changes"]."""
    if changes is not None:
        details = {**(details or {}), "changes": changes}
    entry = AuditLog(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
        client_address=client_address(),
    )
    db.session.add(entry)
    return entry


def _plain(value: Any) -> Any:
    """A value as JSON can store it."""
    if isinstance(value, datetime):
        return isoformat_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _masked(value: Any) -> Any:
    return None if value in (None, "", [], {}) else MASK


def diff(before: Mapping[str, Any], after: Mapping[str, Any], *,
         secret_fields: Iterable[str] = (), fields: Iterable[str] | None = None
         ) -> dict[str, dict[str, Any]]:
    """{field: {"before": old, "after": new}} for each field whose value differs (of
    `fields`, default every key of either). A secret field shows only whether it was set
    ("***" or null), never its value; a changed secret still appears."""
    secret = set(secret_fields)
    names = list(fields) if fields is not None else sorted({*before, *after})
    changes: dict[str, dict[str, Any]] = {}
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in secret:
            changes[name] = {"before": _masked(old), "after": _masked(new)}
        else:
            changes[name] = {"before": _plain(old), "after": _plain(new)}
    return changes


def list_entries(*, actor: str | None = None, action: str | None = None,
                 target_type: str | None = None, target_id: str | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[AuditLog], int]:
    """A page of entries, newest first, and how many match the filters. `actor` matches
    the whole label (key:frigate) or the name after the kind (frigate)."""
    query = select(AuditLog)
    if actor:
        query = query.where(or_(AuditLog.actor == actor,
                                AuditLog.actor.in_([f"{kind}:{actor}" for kind in KINDS])))
    if action:
        query = query.where(AuditLog.action == action)
    if target_type:
        query = query.where(AuditLog.target_type == target_type)
    if target_id:
        query = query.where(AuditLog.target_id == target_id)
    if since:
        query = query.where(AuditLog.at >= since)
    if until:
        query = query.where(AuditLog.at < until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc())
                              .limit(limit).offset(offset))
    return list(rows), total or 0


# The kinds of actor label (services.keys.Principal.label): an API key, a page user, and
# with authentication off the anonymous admin.
KINDS = ("key", "user", "anonymous")
