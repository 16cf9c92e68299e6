"""Rules as code over the API: export the site configuration, apply a file (admin only)."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..auth import current_actor, scope
from ..engine.errors import ValidationError
from ..extensions import db
from ..schemas.openapi import operation as op
from ..schemas.openapi import query_parameters
from ..schemas.site_config import ConfigApplyQuery, ConfigApplyResult, parse_apply_query
from ..services import site_config
from . import bp
from .util import json_body

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
              "text/plain")
SOURCE = "request body"


@bp.get("/config/export")
@scope("admin")
# The answer is the very document POST /api/config/apply takes (its request schema). 422:
# rules sharing a name, which a file could not tell apart (the message names them).
@op("config", ok={"$ref": "#/components/schemas/SiteConfig"}, also_yaml=True, errors=(422,))
def export_config():
    """The rules and notification settings as a file: YAML, or JSON when Accept prefers it."""
    document = site_config.export_document()
    if request.accept_mimetypes.best_match(["application/yaml", "application/json"]) == \
            "application/json":
        return jsonify(document)
    body = site_config.yaml_lines.dump(document)
    return Response(body, mimetype="application/yaml", headers={
        "Content-Disposition": 'attachment; filename="site.yaml"', "Vary": "Accept"})


@bp.post("/config/apply")
@op("config", ok=ConfigApplyResult, body=site_config.SiteConfig, also_yaml=True,
    extra={"parameters": query_parameters(ConfigApplyQuery)})
def apply_config():
    """Apply a file (YAML, or JSON): every change in one transaction, or none. With
    dry_run=1 only the diff and the replay of new or changed rules."""
    options = parse_apply_query(request.args)
    data, lines = _document()
    the_plan = site_config.plan(data, source=SOURCE, prune=options["prune"], lines=lines)
    return jsonify(outcome(the_plan, options["dry_run"], current_actor(), lines))


def _document():
    mimetype = (request.mimetype or "").lower()
    if mimetype in YAML_TYPES:
        raw = request.get_data(cache=True)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError({"body": "must be UTF-8 text"}) from None
        return site_config.read(text, SOURCE, remote=True)
    return site_config.read_parsed(json_body(), SOURCE, remote=True), {}


def outcome(the_plan, dry_run: bool, actor: str, lines) -> dict:
    """The answer of an apply (or a dry run) of a plan; the page shows the same."""
    replayed = site_config.replays(the_plan) if dry_run else []
    diff = site_config.render(the_plan, replayed)
    if dry_run:
        db.session.rollback()
        site_config.rehearse(the_plan, actor, lines)
    else:
        site_config.apply(the_plan, actor, lines)
    return {"dry_run": dry_run, "applied": not dry_run and bool(the_plan.effective),
            "changes": [c.as_dict() for c in the_plan.changes], "replays": replayed,
            "diff": diff}
