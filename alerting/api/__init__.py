"""The JSON API under /api. Every view needs an API key unless marked public."""

from flask import Blueprint

from ..auth import authenticate_api_request

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(authenticate_api_request)

from . import (  # noqa: E402,F401  (routes register on import)
    alert_groups,
    alerts,
    audit,
    cameras,
    deliveries,
    events,
    health,
    integrations,
    keys,
    modes,
    notification,
    openapi,
    rules,
    silences,
    site_config,
    webpush,
)
