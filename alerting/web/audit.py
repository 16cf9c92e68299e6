"""The Audit page: who changed what, when and from where, with each change's before -> after."""

from __future__ import annotations

from htmx_flask import request
from sqlalchemy import select

from ..auth import login_required
from ..extensions import db
from ..models import AuditLog
from ..schemas.queries import AUDIT_TARGET_TYPES, parse_audit_query
from ..services import audit
from . import bp
from .events import parse_filters
from .forms import render

ENTRIES_PER_PAGE = 50


@bp.get("/audit")
@login_required
def audit_index():
    """The audit log, newest first, with filters (the API's: actor, action, object, time)."""
    query, errors = parse_filters(parse_audit_query, request.args)
    query["limit"] = min(query["limit"], ENTRIES_PER_PAGE)
    rows, total = audit.list_entries(**query)
    actions = db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action))
    return render("audit/index.html", "audit/_list.html", entries=rows, total=total,
                  query=query, errors=errors, actions=list(actions),
                  target_types=AUDIT_TARGET_TYPES)
