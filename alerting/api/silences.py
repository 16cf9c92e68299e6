"""Silences and mute timings: list, create, read, change, delete; expire, extend, recreate
and preview a silence."""

from flask import jsonify, request

from ..auth import current_actor, scope
from ..schemas import silences as S
from ..schemas.openapi import operation as op
from ..schemas.serialize import listing
from ..services import mute_timings, silences
from . import bp
from .util import json_body


@bp.get("/silences")
@op("silences", ok=S.SilenceList, query=S.SilenceQuery, errors=(422,))
def list_silences():
    """List silences, optionally in one state (pending, active, expired)."""
    query = S.parse_silence_query(request.args)
    rows, total = silences.list_silences(state=query["state"], limit=query["limit"],
                                         offset=query["offset"])
    return jsonify(listing("silences", rows, silences.silence_dict, total, query))


@bp.post("/silences")
@op("silences", {201: (S.Silence, "Created")}, body=S.SilenceCreate)
def create_silence():
    """Create a silence: 201 with the silence."""
    row = silences.create_silence(json_body(), current_actor())
    return jsonify(silences.silence_dict(row)), 201


@bp.post("/silences/preview")
@op("silences", ok=S.SilencePreviewResult, body=S.SilencePreview)
@scope("read")
def preview_silence():
    """Which recent alerts a draft silence's matchers cover (writes nothing)."""
    return jsonify(silences.preview(json_body()))


@bp.get("/silences/<uuid_text:silence_id>")
@op("silences", ok=S.Silence, errors=(404,))
def get_silence(silence_id: str):
    """One silence."""
    return jsonify(silences.silence_dict(silences.get_silence(silence_id)))


@bp.put("/silences/<uuid_text:silence_id>")
@op("silences", ok=S.Silence, body=S.SilenceUpdate, errors=(404, 409))
def update_silence(silence_id: str):
    """Partial update of a silence that has not expired."""
    silences.get_silence(silence_id)  # 404 before 422
    return jsonify(silences.silence_dict(
        silences.update_silence(silence_id, json_body(), current_actor())))


@bp.delete("/silences/<uuid_text:silence_id>")
@op("silences", {204: (None, "Deleted")}, errors=(404,))
def delete_silence(silence_id: str):
    """Delete a silence: 204 (alerts it silenced keep its id)."""
    silences.delete_silence(silence_id, current_actor())
    return "", 204


@bp.post("/silences/<uuid_text:silence_id>/expire")
@op("silences", ok=S.Silence, errors=(404, 409))
def expire_silence(silence_id: str):
    """End a silence now."""
    return jsonify(silences.silence_dict(silences.expire_silence(silence_id, current_actor())))


@bp.post("/silences/<uuid_text:silence_id>/extend")
@op("silences", ok=S.Silence, body=S.SilenceExtend, errors=(404, 409))
def extend_silence(silence_id: str):
    """Move a silence's end: a new ends_at, or duration seconds more."""
    silences.get_silence(silence_id)
    return jsonify(silences.silence_dict(
        silences.extend_silence(silence_id, json_body(), current_actor())))


@bp.post("/silences/<uuid_text:silence_id>/recreate")
@op("silences", {201: (S.Silence, "Created")}, body=S.SilenceRecreate, body_required=False,
    errors=(404, 409))
def recreate_silence(silence_id: str):
    """A new silence like an expired one, from now: 201 with the new silence."""
    silences.get_silence(silence_id)
    row = silences.recreate_silence(silence_id, json_body(optional=True), current_actor())
    return jsonify(silences.silence_dict(row)), 201


@bp.get("/mute-timings")
@op("silences", ok=S.MuteTimingList)
def list_mute_timings():
    """Every mute timing, with the rules and channels that name it."""
    items = mute_timings.list_mute_timings()
    return jsonify({"mute_timings": items, "count": len(items)})


@bp.post("/mute-timings")
@op("silences", {201: (S.MuteTiming, "Created")}, body=S.MuteTimingCreate, errors=(409,))
def create_mute_timing():
    """Create a mute timing: 201 (409 when the name is taken)."""
    row = mute_timings.create_mute_timing(json_body(), current_actor())
    return jsonify(mute_timings.mute_timing_dict(row)), 201


@bp.get("/mute-timings/<name>")
@op("silences", ok=S.MuteTiming, errors=(404,))
def get_mute_timing(name: str):
    """One mute timing."""
    return jsonify(mute_timings.mute_timing_dict(mute_timings.get_mute_timing(name)))


@bp.put("/mute-timings/<name>")
@op("silences", ok=S.MuteTiming, body=S.MuteTimingUpdate, errors=(404,))
def update_mute_timing(name: str):
    """Partial update (the name stays)."""
    mute_timings.get_mute_timing(name)
    row = mute_timings.update_mute_timing(name, json_body(), current_actor())
    return jsonify(mute_timings.mute_timing_dict(row))


@bp.delete("/mute-timings/<name>")
@op("silences", {204: (None, "Deleted")}, errors=(404, 409))
def delete_mute_timing(name: str):
    """Delete a mute timing no rule or channel names: 204."""
    mute_timings.delete_mute_timing(name, current_actor())
    return "", 204
