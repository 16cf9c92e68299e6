"""Camera health: the heartbeat a detector may send for a camera, and the listing's filter."""

from __future__ import annotations

from typing import ClassVar

from ._fields import OptionalText
from .common import Body, choice
from .queries import Page

MAX_CAMERA_NAME = 255
CAMERA_STATUSES = ("online", "offline", "disabled")


class Heartbeat(Body):
    """POST /api/cameras/{camera_id}/heartbeat: the camera is alive; a display name may come
    with it. No body at all is the same as {}."""

    WHAT: ClassVar[str] = "a JSON object or no body"

    name: OptionalText(MAX_CAMERA_NAME) = None


class CameraQuery(Page):
    """GET /api/cameras: a page of cameras, only those with `status` if given."""

    status: choice(CAMERA_STATUSES) | None = None
