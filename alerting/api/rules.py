"""The alert rules API: list, create, read, update, delete, and test a rule."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.backtest import BacktestRequest, BacktestResult, DraftBacktestRequest
from ..schemas.openapi import operation as op
from ..schemas.queries import RuleQuery, parse_rule_query
from ..schemas.rules import RuleCreate, RuleTestRequest, RuleUpdate
from ..schemas.serialize import listing
from ..schemas.templates import TemplatePreviewRequest
from ..services import backtest, rule_test, rules, template_preview
from . import bp
from .util import json_body


@bp.get("/alerts/rules")
@op("rules", ok=R.RuleList, query=RuleQuery, errors=(422,))
def list_rules():
    """List rules with filters (enabled, severity, q) and pagination."""
    query = parse_rule_query(request.args)
    rows, total = rules.list_rules(**query)
    return jsonify(listing("rules", rows, rules.rule_json, total, query))


@bp.post("/alerts/rules")
@op("rules", {201: (R.Rule, "Created")}, body=RuleCreate)
def create_rule():
    """Create a rule: 201 with the rule."""
    rule = rules.create_rule(json_body(), current_actor())
    return jsonify(rules.rule_json(rule)), 201


@bp.get("/alerts/rules/<rule_id>")
@op("rules", ok=R.Rule, errors=(404,))
def get_rule(rule_id: str):
    """One rule."""
    return jsonify(rules.rule_json(rules.get_rule(rule_id)))


@bp.put("/alerts/rules/<rule_id>")
@op("rules", ok=R.Rule, body=RuleUpdate, errors=(404,))
def update_rule(rule_id: str):
    """Partial update: only the fields sent change."""
    rules.get_rule(rule_id)  # 404 before 422 for an unknown rule
    rule = rules.update_rule(rule_id, json_body(), current_actor())
    return jsonify(rules.rule_json(rule))


@bp.delete("/alerts/rules/<rule_id>")
@op("rules", {204: (None, "Deleted")}, errors=(404,))
def delete_rule(rule_id: str):
    """Delete a rule: 204."""
    rules.delete_rule(rule_id, current_actor())
    return "", 204


@bp.post("/alerts/rules/<rule_id>/duplicate")
@op("rules", {201: (R.Rule, "Created")}, errors=(404,))
def duplicate_rule(rule_id: str):
    """Copy a rule: 201 with the copy, named "<name> (copy)" and disabled."""
    rule = rules.duplicate_rule(rule_id, current_actor())
    return jsonify(rules.rule_json(rule)), 201


@bp.post("/alerts/rules/<rule_id>/test")
@op("rules", ok=R.RuleTestResult, body=RuleTestRequest, body_required=False,
    errors=(404, 409))
def test_rule(rule_id: str):
    """Test a rule against past events (writes nothing)."""
    return jsonify(rule_test.run_rule_test(rule_id, json_body(optional=True)))


@bp.post("/alerts/rules/<rule_id>/backtest")
@op("rules", ok=BacktestResult, body=BacktestRequest, body_required=False, errors=(404,))
def backtest_rule(rule_id: str):
    """Replay stored events over a range (at most 90 days) through the rule (writes nothing)."""
    return jsonify(backtest.backtest_rule(rule_id, json_body(optional=True)))


@bp.post("/alerts/rules/templates/preview")
@op("rules", ok=R.TemplatePreview, body=TemplatePreviewRequest, errors=(404,))
def preview_templates():
    """Render notification templates against a recent alert (sends and writes nothing)."""
    return jsonify(template_preview.preview(json_body()))


@bp.post("/alerts/rules/backtest")
@op("rules", ok=BacktestResult, body=DraftBacktestRequest)
def backtest_draft():
    """Backtest a rule that is not saved: the body holds the rule and the range."""
    return jsonify(backtest.backtest_draft(json_body()))
