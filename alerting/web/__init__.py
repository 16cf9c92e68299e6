"""Server-rendered HTMX pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (  # noqa: E402,F401  (routes register on import)
    account,
    alerts,
    audit,
    cameras,
    events,
    integrations,
    keys,
    live,
    media,
    modes,
    notifications,
    rules,
    silences,
    site_config,
    timefmt,
)
