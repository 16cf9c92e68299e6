"""Deleting an API key (the simulator's temporary key at the end of its run)."""

from alerting.extensions import db
from alerting.models import ApiKey, AuditLog
from alerting.services import keys


def test_a_deleted_key_is_gone_and_stops_working_at_once(app):
    with app.app_context():
        key, raw = keys.create_key("simulator", "ingest", actor="cli:simulate")
        assert keys.authenticate(raw) is not None  # cached now
        assert keys.delete_key(key.id, actor="cli:simulate") is True
        assert keys.authenticate(raw) is None
        assert db.session.get(ApiKey, key.id) is None
        entry = db.session.query(AuditLog).filter_by(action="api_key_delete").one()
        assert entry.actor == "cli:simulate" and entry.details["name"] == "simulator"
        assert keys.delete_key(key.id, actor="cli:simulate") is False
