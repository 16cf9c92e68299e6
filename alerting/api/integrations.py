"""Integration settings (the MQTT connection, the Frigate instances) and connection tests;
admin only, credentials write-only."""

from flask import current_app, jsonify

from .. import workers
from ..auth import current_actor, scope
from ..schemas.integrations import (
    IntegrationsOut,
    IntegrationsUpdate,
    IntegrationTest,
    IntegrationTestResult,
)
from ..schemas.openapi import operation as op
from ..services import integration_tests, integrations
from . import bp
from .util import json_body


@bp.get("/integrations")
@scope("admin")
@op("integrations", ok=IntegrationsOut)
def get_integrations():
    """The settings in force (stored, else the environment's), credentials masked."""
    return jsonify(integrations.settings_json())


@bp.put("/integrations")
@op("integrations", ok=IntegrationsOut, body=IntegrationsUpdate)
def update_integrations():
    """Partial update; the subscriber reconnects with the new settings within seconds."""
    body = integrations.update(json_body(), current_actor())
    workers.mqtt_settings_saved(current_app._get_current_object())
    return jsonify(body)


@bp.post("/integrations/test")
@op("integrations", ok=IntegrationTestResult, body=IntegrationTest)
def test_integration():
    """Connect to Frigate's API or the broker now and report what was seen."""
    return jsonify(integration_tests.run_test(json_body(), current_actor()))
