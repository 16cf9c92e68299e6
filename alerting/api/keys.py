"""API keys over the API (admin scope only): list, create (the key is shown once), revoke."""

from flask import jsonify

from ..auth import current_actor, scope
from ..engine.timeparse import isoformat_z
from ..errors import ApiError
from ..models import ApiKey
from ..schemas.common import validate
from ..schemas.keys import KeyCreate
from ..services import keys
from . import bp
from .util import json_body


def key_json(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope,
        "prefix": key.prefix,
        "created_at": isoformat_z(key.created_at),
        "last_used_at": isoformat_z(key.last_used_at) if key.last_used_at else None,
        "revoked_at": isoformat_z(key.revoked_at) if key.revoked_at else None,
    }


@bp.get("/keys")
@scope("admin")
def list_keys():
    """Every key, newest last; never the key itself."""
    return jsonify({"keys": [key_json(k) for k in keys.list_keys()]})


@bp.post("/keys")
@scope("admin")
def create_key():
    """Create a key; the response is the only time the key is shown."""
    request = validate(KeyCreate, json_body())
    key, raw = keys.create_key(request.name, request.scope, actor=current_actor())
    return jsonify({**key_json(key), "key": raw}), 201


@bp.delete("/keys/<id:key_id>")
@scope("admin")
def revoke_key(key_id: int):
    """Revoke a key; it stops working at once."""
    key = keys.revoke_key(key_id, actor=current_actor())
    if key is None:
        raise ApiError(404, "not_found", f"No API key {key_id}")
    return jsonify(key_json(key))
