"""The media route: an event's snapshot, thumbnail and clip, fetched from the detector for
logged-in users (services/media.py), so browsers never reach the detector themselves."""

from __future__ import annotations

from flask import current_app, make_response

from ..auth import login_required
from ..errors import ApiError
from ..extensions import db
from ..models import Event
from ..services import media
from . import bp


@bp.get("/media/events/<id:event_id>/<any(" + ", ".join(media.KINDS) + "):name>")
@login_required
def media_show(event_id: int, name: str):
    """One media file of an event: 404 when it has none, 502 when the detector fails."""
    stored = db.session.get(Event, event_id)
    if stored is None:
        raise ApiError(404, "not_found", f"Event {event_id} not found")
    found = stored.media
    db.session.rollback()  # no read transaction held open while the detector answers
    try:
        fetched = media.event_media(found, name)
    except media.MediaUnavailable as exc:
        code = "not_found" if exc.status == 404 else "detector_unavailable"
        raise ApiError(exc.status, code, f"{name} of event {event_id}: {exc.reason}") from None
    response = make_response(fetched.body)
    response.headers["Content-Type"] = fetched.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = \
        f"private, max-age={current_app.config['MEDIA_CACHE_SECONDS']}"
    return response
