"""GET /metrics: Prometheus exposition of every process's metrics (alerting/metrics.py).

Allowed to a client whose address is in ALERTING_METRICS_ALLOW_CIDRS (a Prometheus server
on the same network, with no key), else to an API key with the `metrics` scope (or admin),
sent as for the API (`Authorization: Bearer`, which Prometheus' `authorization` sets).
"""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, current_app, request

from .. import metrics
from ..auth import auth_enabled, presented_key
from ..errors import ApiError
from ..notify.ssrf import parse_allow_cidrs, unwrap
from ..services import keys

bp = Blueprint("metrics", __name__)


def address_allowed(address: str | None, cidrs: list[str]) -> bool:
    """Whether the client address lies in one of the allowed ranges."""
    if not address or not cidrs:
        return False
    try:
        raw = ipaddress.ip_address(address.split("%", 1)[0])
        networks = parse_allow_cidrs(tuple(cidrs))
    except ValueError:
        return False
    # An IPv4 peer of a server listening on [::] arrives as ::ffff:a.b.c.d: it is that host.
    return any(ip in net for ip in {raw, unwrap(raw)} for net in networks)


def _check_access() -> None:
    if not auth_enabled() or address_allowed(request.remote_addr,
                                             current_app.config["METRICS_ALLOW_CIDRS"]):
        return
    raw = presented_key()
    principal = keys.authenticate(raw) if raw else None
    if principal is None:
        raise ApiError(401, "unauthorized", "A key with the metrics scope, or an allowed "
                       "client address (ALERTING_METRICS_ALLOW_CIDRS), is required")
    if not principal.allows("metrics"):
        raise ApiError(403, "forbidden", f"This key's scope '{principal.scope}' may not read "
                       "the metrics")


@bp.get("/metrics")
def scrape():
    """Every process's counters and histograms, and the stored gauges, in Prometheus text."""
    _check_access()
    body, content_type = metrics.exposition(current_app._get_current_object())
    return Response(body, content_type=content_type)
