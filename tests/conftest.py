"""Fixtures: an app on its own temporary database, a client, a CLI runner, API keys."""

from __future__ import annotations

import pytest

ADMIN_PASSWORD = "admin-password-for-tests"


_databases: list = []


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Drop the PostgreSQL schemas the test made (SQLite files go with tmp_path)."""
    yield
    from alerting.services import keys

    keys.clear_cache()
    from alerting.extensions import db
    from tests import databases

    while _databases:
        app, database = _databases.pop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.release(database, [t.name for t in db.metadata.sorted_tables])


@pytest.fixture(scope="session", autouse=True)
def _drop_pooled_schemas():
    yield
    from tests import databases

    databases.drop_pool()


def fresh_database(tmp_path, name: str = "test"):
    """An empty database for the test: SQLite file, or a PostgreSQL schema (see databases.py)."""
    from tests import databases

    return databases.acquire(tmp_path, name)


def make_app(tmp_path, **overrides):
    """An app on a fresh database with every table, bootstrapped like a first start."""
    from alerting import bootstrap, create_app
    from alerting.extensions import db

    database = fresh_database(tmp_path, f"test-{len(_databases)}")
    config = {
        "TESTING": True,
        "DATABASE_URL": database.url,
        "SECRET_KEY": "test-secret-key",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "INPROCESS_WORKERS": False,
        "BOOTSTRAP": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    app = create_app(config)
    _databases.append((app, database))
    with app.app_context():
        db.create_all()
    bootstrap(app)
    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_key(app, scope: str = "admin", name: str | None = None) -> str:
    """Create an API key and return the raw key."""
    from alerting.services import keys

    with app.app_context():
        _, raw = keys.create_key(name or f"test-{scope}", scope, actor="test")
    return raw


@pytest.fixture
def admin_headers(app):
    return {"x-access-token": make_key(app, "admin")}


@pytest.fixture
def smtp_server():
    """start(handler) -> a running aiosmtpd server on loopback; all stopped afterwards."""
    from tests.receivers import start_smtp

    started = []

    def start(handler, port=None):
        controller = start_smtp(handler, port)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()
