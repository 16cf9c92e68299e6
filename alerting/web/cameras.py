"""The cameras page: every camera, its status and when it was last seen."""

from __future__ import annotations

from flask import current_app

from ..auth import login_required
from ..services import cameras
from . import bp
from .forms import render


@bp.get("/cameras")
@login_required
def cameras_index():
    """Cameras, offline ones first; the list refreshes itself every 10 seconds."""
    rows, _total = cameras.list_cameras()
    return render("cameras/index.html", "cameras/_list.html", cameras=rows,
                  silence=current_app.config["CAMERA_OFFLINE_SECONDS"])
