"""Camera health over the API: the cameras and their status; heartbeats (`ingest` scope)."""

from flask import jsonify, request

from ..auth import current_actor, scope
from ..errors import ApiError
from ..schemas import responses as R
from ..schemas.cameras import CameraQuery, Heartbeat
from ..schemas.common import validate
from ..schemas.events import MAX_CAMERA_ID
from ..schemas.openapi import operation as op
from ..schemas.serialize import listing
from ..services import cameras
from . import bp
from .util import json_body


@bp.get("/cameras")
@op("cameras", ok=R.CameraList, query=CameraQuery, errors=(422,))
def list_cameras():
    """Every known camera with its status and when it was last seen, offline ones first."""
    query = validate(CameraQuery, request.args.to_dict()).model_dump()
    rows, total = cameras.list_cameras(query["status"], limit=query["limit"],
                                       offset=query["offset"])
    return jsonify(listing("cameras", rows, cameras.camera_json, total, query))


@bp.post(f"/cameras/<string(maxlength={MAX_CAMERA_ID}):camera_id>/heartbeat")
@op("cameras", ok=R.Camera, body=Heartbeat, body_required=False, errors=(404, 422))
@scope("ingest")
def heartbeat(camera_id: str):
    """The camera is alive now: for detectors that send no events for a while."""
    camera_id = camera_id.strip()  # as events' camera_id is
    if not camera_id or "\x00" in camera_id:  # like one over MAX_CAMERA_ID: no route
        raise ApiError(404, "not_found", "No such camera id: blank or with a NUL character")
    sent = json_body(optional=True)  # no body is {}; false, 0 or [] are not objects: 422
    body = validate(Heartbeat, {} if sent is None else sent)
    camera = cameras.heartbeat(camera_id, body.name, current_actor())
    return jsonify(cameras.camera_json(camera))
