"""The VideoDB RTStream-compatible API: the official `videodb` SDK pointed at this server runs
its stream, scene-index, event and alert code unchanged (docs/videodb.md).

- `blueprint`: the blueprint, its key check and the `{"success", "data"}` envelope;
- `schema`: request bodies and query strings, validated;
- `service`: the use cases (streams, scene indexes, records, events, alerts as rules);
- `payloads`: the JSON the SDK reads, the webhook body and the WebSocket alert frame;
- `routes`: the HTTP views; `socket`: the WebSocket URL, its token and `/ws/videodb`;
- `delivery`: the webhook body of a delivery whose rule is a VideoDB alert.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint (no URL prefix; exempt from CSRF: it takes API keys only)."""
    from ..extensions import csrf
    from . import routes, socket  # noqa: F401  (views register on import)
    from .blueprint import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
