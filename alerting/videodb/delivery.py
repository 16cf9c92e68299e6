"""The webhook body of a delivery whose rule carries out a VideoDB alert (called from
services.deliveries.build_message): VideoDB's documented shape instead of this app's."""

from __future__ import annotations

from typing import Any

from ..models import Alert, AlertRule
from . import payloads, service


def webhook_body(alert: Alert, rule: AlertRule | None,
                 event_body: dict[str, Any]) -> dict[str, Any] | None:
    """VideoDB's body for a VideoDB alert's rule; None for any other rule (no query then)."""
    if rule is None or rule.origin != service.ORIGIN:
        return None
    binding = service.binding_for_rule(rule.id)
    return None if binding is None else payloads.webhook_body(binding, event_body)
