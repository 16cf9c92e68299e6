"""Arming modes: the current mode, the list of modes, the weekly mode schedule, the history."""

from flask import jsonify, request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas.common import validate
from ..schemas.modes import ModeHistoryQuery, ModeList, ModeScheduleBody, ModeSet
from ..schemas.openapi import operation as op
from ..schemas.serialize import listing
from ..services import modes
from . import bp
from .util import json_body


@bp.get("/mode")
@op("modes", ok=R.CurrentMode)
def current():
    """The current mode, when it became current and who or what set it."""
    return jsonify(modes.current_json())


@bp.put("/mode")
@op("modes", ok=R.CurrentMode, body=ModeSet)
def set_current():
    """Make a mode the current one (recorded in the history with this key or user)."""
    body = json_body()
    name = validate(ModeSet, body).mode
    modes.set_current(name, current_actor())
    return jsonify(modes.current_json())


@bp.get("/modes")
@op("modes", ok=R.ModeNames)
def list_modes():
    """The modes, in their order."""
    return jsonify({"modes": modes.mode_names()})


@bp.put("/modes")
@op("modes", ok=R.ModeNames, body=ModeList)
def update_modes():
    """Replace the list of modes; the current one and those in use must stay."""
    return jsonify({"modes": modes.set_modes(json_body(), current_actor())})


@bp.get("/mode/schedule")
@op("modes", ok=R.ModeSchedule)
def schedule():
    """The weekly mode schedule."""
    return jsonify(modes.schedule_json())


@bp.put("/mode/schedule")
@op("modes", ok=R.ModeSchedule, body=ModeScheduleBody)
def update_schedule():
    """Replace the weekly mode schedule (it acts from now on)."""
    return jsonify(modes.set_schedule(json_body(), current_actor()))


@bp.get("/mode/history")
@op("modes", ok=R.ModeHistory, query=ModeHistoryQuery, errors=(422,))
def history():
    """The changes of the mode, newest first."""
    query = validate(ModeHistoryQuery, request.args).model_dump()
    rows, total = modes.history(query["limit"], query["offset"])
    return jsonify(listing("changes", rows, modes.change_json, total, query))
