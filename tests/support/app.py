"""An app on its own temporary database, bootstrapped like a first start, and API keys."""

from __future__ import annotations

from tests.support import databases

ADMIN_PASSWORD = "admin-password-for-tests"

# (app, database) made by make_app, released after each test by the conftest fixture.
_databases: list = []


def fresh_database(tmp_path, name: str = "test"):
    """An empty database for the test: SQLite file, or a PostgreSQL schema (see databases.py)."""
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


def make_key(app, scope: str = "admin", name: str | None = None) -> str:
    """Create an API key and return the raw key."""
    from alerting.services import keys

    with app.app_context():
        _, raw = keys.create_key(name or f"test-{scope}", scope, actor="test")
    return raw
