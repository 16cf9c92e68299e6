"""alerting: a self-hosted alert engine for camera and video detection events."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from . import config as settings
from . import redaction, workers
from .extensions import csrf, db, htmx, limiter, migrate, sock
from .models import render_migration_item

log = logging.getLogger("alerting")
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ALERTING_* environment variables, then `config`."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    from .converters import IdConverter, UuidTextConverter

    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["uuid_text"] = UuidTextConverter
    values = {**(config or {}), **settings.load(overrides=config)}
    app.config.update(values)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.instance_secret_key(app.instance_path)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config.get("DATABASE_URL")
                          or settings.default_database_url(app.instance_path))
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(app.config))
    # Flask's own defaults already hold these keys, so they are set, not setdefault-ed.
    app.config["SESSION_COOKIE_SAMESITE"] = values.get("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["WTF_CSRF_TIME_LIMIT"] = values.get("WTF_CSRF_TIME_LIMIT")
    _configure_logging(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True,
                     render_item=render_migration_item)
    sock.init_app(app)
    htmx.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    with app.app_context():
        _tune_sqlite(db.engine)

    from . import cli, errors, live, security
    from .api import bp as api_bp
    from .api.metrics import bp as metrics_bp
    from .videodb import init_app as init_videodb
    from .web import bp as web_bp

    errors.register(app)
    security.init_app(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(metrics_bp)  # /metrics, for Prometheus
    live.init_app(app)  # the live hub, /ws/events, and the signals that feed it
    init_videodb(app)  # the VideoDB RTStream-compatible API: /rtstream, /collection, /ws/videodb
    csrf.exempt(api_bp)
    cli.register(app)

    if not app.config["AUTH"]:
        log.warning("ALERTING_AUTH is off: the API and the pages are open to anyone who can "
                    "reach this server. Use this for local experiments only.")
    if app.config["BOOTSTRAP"]:
        bootstrap(app)

    @app.before_request
    def _start_background_workers():
        # Under gunicorn post_worker_init has already started them; this covers `flask run`.
        if not app.extensions.get("alerting.started") and not app.testing:
            workers.start(app)

    return app


def _engine_options(config: dict[str, Any]) -> dict[str, Any]:
    url = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL") or "sqlite://"
    if url.startswith("sqlite"):
        # Each thread gets its own connection; the busy timeout covers short write overlaps.
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _tune_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def _configure_logging(app: Flask) -> None:
    redaction.install()  # no credential in any log line (a token in a refused URL, say)
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(level)


def _running_db_command() -> bool:
    """Whether this process is a `flask db ...` command (Flask-Migrate's group). Flask builds
    the app before it dispatches the command, so the command line is all there is to go by."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    return ("flask" in program or program == "__main__.py") and "db" in sys.argv[1:]


def bootstrap(app: Flask) -> None:
    """First start: the admin user, and the bootstrap API key when configured."""
    from .services import keys, modes, notification_settings, users, webpush

    with app.app_context():
        if not inspect(db.engine).has_table("users"):
            if not _running_db_command():  # `flask db upgrade` is creating them right now
                log.warning("the database has no tables yet: run `flask --app app db upgrade`")
            return
        try:
            generated = users.ensure_admin(app.config["ADMIN_PASSWORD"])
        except IntegrityError:  # another process created it at the same moment
            db.session.rollback()
            generated = None
        if generated:
            banner = (f"\n  First start: created user 'admin' with password: {generated}\n"
                      "  Log in and change it. It is not shown again.\n")
            print(banner, file=sys.stderr, flush=True)
        # Seeded here from ALERTING_*, not on first use inside the matcher's transaction,
        # where its commit would end that batch's locks early (PostgreSQL).
        if not webpush.stored_key_unreadable():
            webpush.vapid()  # the VAPID key pair, made and stored on first start
        row = notification_settings.get_row()
        for problem in notification_settings.check_stored(row):
            log.warning(problem)
        modes.ensure_seeded()  # the default arming modes and the mode settings row
        if app.config["BOOTSTRAP_API_KEY"]:
            try:
                keys.ensure_bootstrap_key(app.config["BOOTSTRAP_API_KEY"])
            except IntegrityError:  # another process created it at the same moment
                db.session.rollback()
                keys.ensure_bootstrap_key(app.config["BOOTSTRAP_API_KEY"])
        db.session.remove()
