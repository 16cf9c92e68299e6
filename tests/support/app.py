"""An app on its own temporary database, bootstrapped like a first start, and API keys."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from tests.support import databases

ADMIN_PASSWORD = "admin-password-for-tests"

# (app, database) made by make_app, released after each test by the conftest fixture.
_databases: list = []
_sqlite_template: list[Path] = []


def fresh_database(tmp_path, name: str = "test"):
    """An empty database for the test: SQLite file, or a PostgreSQL schema (see databases.py)."""
    return databases.acquire(tmp_path, name)


def sqlite_template() -> Path:
    """A SQLite file holding every table, made once a process: a copy of it is a fresh database
    in a millisecond, where create_all takes a good part of an app's set-up."""
    if not _sqlite_template:
        from sqlalchemy import create_engine

        from alerting import models  # noqa: F401 (the tables, on db.metadata)
        from alerting.extensions import db

        folder = Path(tempfile.mkdtemp(prefix="alerting-tests-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        engine = create_engine(f"sqlite:///{folder / 'template.db'}")
        db.metadata.create_all(engine)
        engine.dispose()
        _sqlite_template.append(folder / "template.db")
    return _sqlite_template[0]


def make_app(tmp_path, **overrides):
    """An app on a fresh database with every table, bootstrapped like a first start."""
    from alerting import bootstrap, create_app
    from alerting.extensions import db

    database = fresh_database(tmp_path, f"test-{len(_databases)}")
    if database.kind == "sqlite":
        shutil.copyfile(sqlite_template(), database.url.removeprefix("sqlite:///"))
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
    if database.kind != "sqlite":
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
