"""Fixtures: an app on its own temporary database, a client, a CLI runner, API keys."""

from __future__ import annotations

import pytest

ADMIN_PASSWORD = "admin-password-for-tests"


def make_app(tmp_path, **overrides):
    """An app on a fresh SQLite file with every table, bootstrapped like a first start."""
    from alerting import bootstrap, create_app
    from alerting.extensions import db

    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "SECRET_KEY": "test-secret-key",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "INPROCESS_WORKERS": False,
        "BOOTSTRAP": False,
    }
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    bootstrap(app)
    return app


@pytest.fixture
def app(tmp_path):
    from alerting.extensions import db
    from alerting.services import keys

    app = make_app(tmp_path)
    yield app
    keys.clear_cache()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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
