"""The media route: an event's snapshot, thumbnail and clip, fetched from the detector for
logged-in users (services/media.py), so browsers never reach the detector themselves."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, make_response, request, url_for

from ..auth import login_required
from ..errors import ApiError
from ..extensions import db
from ..live import URLS
from ..models import Event
from ..notify.media import verify_media_path
from ..services import media
from . import bp


@bp.get("/media/events/<id:event_id>/<any(" + ", ".join(media.KINDS) + "):name>")
def media_show(event_id: int, name: str):
    """One media file of an event: 404 when it has none, 502 when the detector fails.
    A signed link (`?exp=..&sig=..`, notify/media.py: what webhooks get) needs no session;
    an expired or altered one is a 403."""
    if "sig" in request.args or "exp" in request.args:
        if not verify_media_path(str(current_app.secret_key), request.path,
                                 request.args.get("exp"), request.args.get("sig")):
            raise ApiError(403, "forbidden", "this media link is expired or not valid")
        return _media(event_id, name)
    return login_required(_media)(event_id, name)


def _media(event_id: int, name: str):
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


@bp.app_template_global()
def media_url(event: Any, name: str) -> str | None:
    """Template global: our route's URL for an event's `name` (a media.KINDS key), or None
    when the event has none. Rows are rendered in the matcher thread too (live messages),
    where there is no request for url_for to build from."""
    if event is None or name not in media.available(getattr(event, "media", None)):
        return None
    values = {"event_id": event.id, "name": name}
    if has_request_context():
        return url_for("web.media_show", **values)
    return current_app.extensions[URLS].build("web.media_show", values)
