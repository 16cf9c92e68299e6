"""Request bodies of the alert lifecycle beyond one alert: acknowledge every open alert of a
filter (the live page's "Acknowledge all")."""

from __future__ import annotations

from ..engine.vocabulary import SEVERITIES
from .common import Body, choice, optional_text, parser
from .queries import MAX_QUERY_TEXT
from .responses import Out


class AcknowledgeAll(Body):
    """POST /api/alerts/acknowledge: every open alert (pending, delivered, failed) of this
    filter; no field: every open alert. `hide_low` leaves the low ones open."""

    severity: choice(SEVERITIES) | None = None
    camera_id: optional_text(MAX_QUERY_TEXT) = None
    hide_low: bool = False


class AcknowledgedAll(Out):
    """How many alerts were acknowledged, and which."""

    acknowledged: int
    alert_ids: list[int]


parse_acknowledge_all = parser(AcknowledgeAll)
