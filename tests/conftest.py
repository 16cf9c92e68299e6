"""Fixtures: an app on its own temporary database, a client, a CLI runner, API keys."""

from __future__ import annotations

import pytest

from tests.support import databases
from tests.support.app import _databases, make_app, make_key


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Drop the PostgreSQL schemas the test made (SQLite files go with tmp_path)."""
    yield
    from alerting.services import keys

    keys.clear_cache()
    from alerting.extensions import db

    while _databases:
        app, database = _databases.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.release(database, [t.name for t in db.metadata.sorted_tables])


@pytest.fixture(scope="session", autouse=True)
def _drop_pooled_schemas():
    yield
    databases.drop_pool()


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers(app):
    return {"x-access-token": make_key(app, "admin")}


@pytest.fixture
def smtp_server():
    """start(handler) -> a running aiosmtpd server on loopback; all stopped afterwards."""
    from tests.support.receivers import start_smtp

    started = []

    def start(handler, port=None):
        controller = start_smtp(handler, port)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()
