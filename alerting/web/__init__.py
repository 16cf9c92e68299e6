"""Server-rendered HTMX pages."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import account, alerts, cameras, events, keys, live, media, notifications, rules  # noqa: E402,F401  (routes register on import)
