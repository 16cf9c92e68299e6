"""Server-rendered HTMX pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (  # noqa: E402,F401  (routes register on import)
    account,
    actions,
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
    pwa,
    rules,
    silences,
    site_config,
    timefmt,
    webpush,
)
