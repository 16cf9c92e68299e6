import logging

import pytest
from sqlalchemy import text

from alerting import create_app
from alerting.extensions import db
from tests.support.app import make_app


def test_config_mapping_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERTING_TIMEZONE", "Europe/Paris")
    app = make_app(tmp_path, TIMEZONE="America/New_York")
    assert app.config["TIMEZONE"] == "America/New_York"


def test_environment_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("ALERTING_TIMEZONE", "Europe/Paris")
    assert make_app(tmp_path).config["TIMEZONE"] == "Europe/Paris"


def test_blueprints_and_extensions(app):
    assert {"api", "web"} <= set(app.blueprints)
    assert {"sqlalchemy", "migrate", "htmx", "csrf"} <= set(app.extensions)


def test_sqlite_is_tuned_for_threads(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas: this run is on PostgreSQL")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_first_start_creates_admin_and_prints_password(tmp_path, capsys):
    from alerting import bootstrap
    from alerting.models import User

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "SECRET_KEY": "x",
                      "BOOTSTRAP": False, "TESTING": True})
    with app.app_context():
        db.create_all()
    bootstrap(app)
    printed = capsys.readouterr().err
    assert "created user 'admin' with password:" in printed
    password = printed.split("password:")[1].split()[0]
    with app.app_context():
        user = db.session.query(User).one()
        assert user.username == "admin" and user.must_change_password
    client = app.test_client()
    assert client.get("/login").status_code == 200
    bootstrap(app)  # a second start prints nothing and creates nobody
    assert "password" not in capsys.readouterr().err
    assert len(password) >= 12


def test_auth_off_logs_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="alerting"):
        make_app(tmp_path, AUTH=False)
    assert "ALERTING_AUTH is off" in caplog.text


def test_start_up_seeds_the_notification_settings(app):
    from alerting.models import NotificationSettings

    with app.app_context():
        assert db.session.get(NotificationSettings, 1) is not None


@pytest.mark.parametrize(("argv", "warned"), [
    (["/venv/bin/flask", "--app", "app", "db", "upgrade"], False),
    (["/usr/lib/python3/site-packages/flask/__main__.py", "db", "upgrade"], False),
    (["/venv/bin/flask", "--app", "app", "users", "create", "bob"], True),
    (["/venv/bin/gunicorn", "app:app"], True),
])
def test_an_empty_database_warns_except_while_flask_db_creates_it(tmp_path, caplog, monkeypatch,
                                                                   argv, warned):
    from alerting import bootstrap

    monkeypatch.setattr("sys.argv", argv)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "SECRET_KEY": "x",
                      "BOOTSTRAP": False, "TESTING": True})
    with caplog.at_level(logging.WARNING, logger="alerting"):
        bootstrap(app)
    assert ("the database has no tables yet" in caplog.text) is warned
