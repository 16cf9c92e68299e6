"""The HTTP views of the VideoDB API, as SDK 0.5.1 calls them (the contract's table).

Route order: `/rtstream/event` beside `/rtstream/<id>`, and `/index/scene` beside
`/index/<iid>`. Werkzeug tries static segments before variables at the same position, so the
static routes win whatever the order they are declared in (tests/api/test_videodb_api.py checks).
"""

from __future__ import annotations

from flask import request

from ..auth import current_actor
from ..schemas import responses as R
from ..schemas import videodb as schema
from ..schemas.openapi import operation as op
from . import payloads, service
from .blueprint import bp, json_object, ok

# --- collection -------------------------------------------------------------------------------


@bp.get("/collection/<collection_id>")
@op("videodb", ok=R.Collection, errors=(404,), envelope=True, summary="The collection")
def get_collection(collection_id: str):
    return ok(payloads.collection_json(service.get_collection(collection_id)))


# --- streams ----------------------------------------------------------------------------------


@bp.post("/rtstream")
@op("videodb", ok=R.RTStream, body=schema.StreamCreate, errors=(404,), envelope=True,
    summary="Connect a stream")
def connect_rtstream():
    stream = service.create_stream(schema.parse_stream(json_object()), current_actor())
    return ok(payloads.stream_json(stream))


@bp.get("/rtstream")
@op("videodb", ok=R.StreamList, query=schema.StreamQuery, errors=(422,), envelope=True,
    summary="List streams")
def list_rtstreams():
    rows, total = service.list_streams(**schema.parse_stream_query(request.args))
    return ok({"results": [payloads.stream_json(s) for s in rows], "count": total})


@bp.get("/rtstream/<stream_id>")
@op("videodb", ok=R.RTStream, errors=(404,), envelope=True, summary="One stream")
def get_rtstream(stream_id: str):
    return ok(payloads.stream_json(service.get_stream(stream_id)))


@bp.patch("/rtstream/<stream_id>/status")
@op("videodb", ok=R.RTStream, body=schema.StartStop, errors=(404, 409), envelope=True,
    summary="Start or stop a stream")
def set_rtstream_status(stream_id: str):
    action = schema.parse_start_stop(json_object())
    stream = service.set_stream_status(stream_id, action, current_actor())
    return ok(payloads.stream_json(stream))


# --- events (detection definitions) -----------------------------------------------------------


@bp.post("/rtstream/event")
@op("videodb", ok=R.VideoDBEvent, body=schema.EventCreate, envelope=True,
    summary="Create an event (a detection definition)")
def create_event():
    event = service.create_event(schema.parse_event(json_object()), current_actor())
    return ok(payloads.event_definition_json(event))


@bp.get("/rtstream/event")
@op("videodb", ok=R.VideoDBEventList, envelope=True, summary="List events")
def list_events():
    return ok({"events": [payloads.event_definition_json(e) for e in service.list_events()]})


# --- scene indexes ----------------------------------------------------------------------------


@bp.post("/rtstream/<stream_id>/index/scene")
@op("videodb", ok=R.SceneIndex, body=schema.SceneIndexCreate, errors=(404,), envelope=True,
    summary="Create a scene index")
def create_scene_index(stream_id: str):
    values = schema.parse_scene_index(json_object())
    index = service.create_scene_index(stream_id, values, current_actor())
    return ok(payloads.scene_index_json(index))


@bp.get("/rtstream/<stream_id>/index/scene")
@op("videodb", ok=R.SceneIndexList, errors=(404,), envelope=True, summary="List scene indexes")
def list_scene_indexes(stream_id: str):
    indexes = service.list_scene_indexes(stream_id)
    return ok({"scene_indexes": [payloads.scene_index_json(i) for i in indexes]})


@bp.get("/rtstream/<stream_id>/index/<index_id>")
@op("videodb", ok=R.SceneIndex, errors=(404,), envelope=True, summary="One scene index")
def get_scene_index(stream_id: str, index_id: str):
    return ok(payloads.scene_index_json(service.get_scene_index(stream_id, index_id)))


@bp.get("/rtstream/<stream_id>/index/scene/<index_id>")
@op("videodb", ok=R.SceneRecordPage, query=schema.SceneQuery, errors=(404, 422), envelope=True,
    summary="Scene records (events posted with this stream and index)")
def get_scene_records(stream_id: str, index_id: str):
    query = schema.parse_scene_query(request.args)
    records, more = service.scene_records(stream_id, index_id, **query)
    return ok({"scene_index_records": [payloads.scene_record_json(r) for r in records],
               "next_page": more})


@bp.patch("/rtstream/<stream_id>/index/scene/<index_id>/status")
@op("videodb", ok=R.SceneIndex, body=schema.StartStop, errors=(404, 409), envelope=True,
    summary="Start or stop a scene index")
def set_scene_index_status(stream_id: str, index_id: str):
    action = schema.parse_start_stop(json_object())
    index = service.set_scene_index_status(stream_id, index_id, action, current_actor())
    return ok(payloads.scene_index_json(index))


# --- alerts -----------------------------------------------------------------------------------


@bp.post("/rtstream/<stream_id>/index/<index_id>/alert")
@op("videodb", ok=R.VideoDBAlertCreated, body=schema.AlertCreate, errors=(404,), envelope=True,
    summary="Create an alert (a rule firing on the event's label)")
def create_alert(stream_id: str, index_id: str):
    service.get_scene_index(stream_id, index_id)  # an unknown stream or index first: 404
    values = schema.parse_alert(json_object())
    binding = service.create_alert(stream_id, index_id, values, current_actor())
    return ok({"alert_id": binding.id})


@bp.get("/rtstream/<stream_id>/index/<index_id>/alert")
@op("videodb", ok=R.VideoDBAlertList, errors=(404,), envelope=True, summary="List alerts")
def list_alerts(stream_id: str, index_id: str):
    rows = service.list_alerts(stream_id, index_id)
    return ok({"alerts": [payloads.alert_json(*row) for row in rows]})


@bp.patch("/rtstream/<stream_id>/index/<index_id>/alert/<alert_id>/status")
@op("videodb", ok=R.VideoDBAlertState, body=schema.AlertStatus, errors=(404,), envelope=True,
    summary="Enable or disable an alert")
def set_alert_status(stream_id: str, index_id: str, alert_id: str):
    service.get_scene_index(stream_id, index_id)
    enabled = schema.parse_alert_status(json_object())
    binding, rule = service.set_alert_enabled(stream_id, index_id, alert_id, enabled,
                                              current_actor())
    return ok({"alert_id": binding.id, "status": "enabled" if rule.enabled else "disabled"})
