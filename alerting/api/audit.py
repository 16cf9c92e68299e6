"""The audit log over the API (admin scope): who changed what, when, from where."""

from flask import jsonify, request

from ..auth import scope
from ..schemas import responses as R
from ..schemas.openapi import operation as op
from ..schemas.queries import AuditQuery, parse_audit_query
from ..schemas.serialize import listing, serializer
from ..services import audit
from . import bp

entry_json = serializer(R.AuditEntry)


@bp.get("/audit")
@op("audit", ok=R.AuditList, query=AuditQuery, errors=(422,))
@scope("admin")
def list_audit():
    """Audit entries, newest first, with filters."""
    query = parse_audit_query(request.args)
    rows, total = audit.list_entries(**query)
    return jsonify(listing("entries", rows, entry_json, total, query))
