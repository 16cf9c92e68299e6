"""An app on its own temporary database, bootstrapped like a first start, and API keys."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from jinja2 import BytecodeCache

from tests.support import compiled_sql, databases

ADMIN_PASSWORD = "admin-password-for-tests"

class _TemplateCodeCache(BytecodeCache):
    """Jinja's compiled templates, kept for the whole test process: each test's app has an
    environment of its own, and compiling every page's templates again in each test took
    most of a page test's time (the source's checksum still invalidates an edited one)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


_template_code = _TemplateCodeCache()

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


def _config(database_url: str, overrides: dict) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "INPROCESS_WORKERS": False,
        "BOOTSTRAP": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        **overrides,
    }


def _bootstrapped_template() -> Path:
    """The template after a first start with make_app's own settings (the admin, the VAPID
    keys, the modes): what bootstrap would write again for each test's app, in half of its
    set-up, is copied instead. A test with settings of its own bootstraps its database."""
    if len(_sqlite_template) < 2:
        from alerting import bootstrap, create_app
        from alerting.extensions import db

        path = sqlite_template().with_name("bootstrapped.db")
        shutil.copyfile(sqlite_template(), path)
        app = create_app(_config(f"sqlite:///{path}", {}))
        bootstrap(app)
        with app.app_context():
            db.engine.dispose()
        _sqlite_template.append(path)
    return _sqlite_template[1]


def make_app(tmp_path, **overrides):
    """An app on a fresh database with every table, bootstrapped like a first start."""
    from alerting import bootstrap, create_app
    from alerting.extensions import db

    database = fresh_database(tmp_path, f"test-{len(_databases)}")
    bootstrapped = database.kind == "sqlite" and not overrides
    if database.kind == "sqlite":
        template = _bootstrapped_template() if bootstrapped else sqlite_template()
        shutil.copyfile(template, database.url.removeprefix("sqlite:///"))
    app = create_app(_config(database.url, overrides))
    app.jinja_env.bytecode_cache = _template_code
    with app.app_context():
        db.engine.update_execution_options(compiled_cache=compiled_sql.COMPILED)
    compiled_sql.share_mapper_caches()
    _databases.append((app, database))
    if database.kind != "sqlite":
        with app.app_context():
            db.create_all()
    if not bootstrapped:
        bootstrap(app)
    return app


def make_key(app, scope: str = "admin", name: str | None = None) -> str:
    """Create an API key and return the raw key."""
    from alerting.services import keys

    with app.app_context():
        _, raw = keys.create_key(name or f"test-{scope}", scope, actor="test")
    return raw
