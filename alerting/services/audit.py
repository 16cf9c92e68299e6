"""The audit log: one row per change a person or a key makes."""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditLog


def record(actor: str, action: str, target_type: str | None = None,
           target_id: str | int | None = None, details: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit entry to the current session (committed with the change it describes)."""
    entry = AuditLog(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
    )
    db.session.add(entry)
    return entry
