"""API keys over the API (admin scope only): list, create (the key is shown once), revoke."""

from flask import jsonify

from ..auth import current_actor, scope
from ..errors import ApiError
from ..schemas import responses as R
from ..schemas.common import validate
from ..schemas.keys import KeyCreate
from ..schemas.openapi import operation as op
from ..schemas.serialize import serializer
from ..services import keys
from . import bp
from .util import json_body

key_json = serializer(R.ApiKey)


@bp.get("/keys")
@op("keys", ok=R.ApiKeyList)
@scope("admin")
def list_keys():
    """Every key, newest last; never the key itself."""
    return jsonify({"keys": [key_json(k) for k in keys.list_keys()]})


@bp.post("/keys")
@op("keys", {201: (R.ApiKeyCreated, "Created")}, body=KeyCreate)
@scope("admin")
def create_key():
    """Create a key; the response is the only time the key is shown."""
    request = validate(KeyCreate, json_body())
    key, raw = keys.create_key(request.name, request.scope, actor=current_actor())
    return jsonify({**key_json(key), "key": raw}), 201


@bp.delete("/keys/<id:key_id>")
@op("keys", ok=R.ApiKey, errors=(404,))
@scope("admin")
def revoke_key(key_id: int):
    """Revoke a key; it stops working at once."""
    key = keys.revoke_key(key_id, actor=current_actor())
    if key is None:
        raise ApiError(404, "not_found", f"No API key {key_id}")
    return jsonify(key_json(key))
