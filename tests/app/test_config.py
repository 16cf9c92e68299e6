import ast
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest

from alerting import config


def test_defaults_without_environment():
    values = config.from_environment({})
    assert values["TIMEZONE"] == "UTC"
    assert values["AUTH"] is True
    assert values["SMTP_PORT"] == 587
    assert values["WEBHOOK_TIMEOUT_SECONDS"] == 30
    assert values["EMAIL_RECIPIENTS"] == []
    assert values["DATABASE_URL"] is None


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("AUTH", "off", False),
        ("AUTH", "TRUE", True),
        ("SMTP_PORT", "2525", 2525),
        ("TIMEZONE", "Europe/Paris", "Europe/Paris"),
        ("EMAIL_RECIPIENTS", "a@example.com, b@example.com", ["a@example.com", "b@example.com"]),
        ("WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8", ["127.0.0.0/8"]),
        ("METRICS_ALLOW_CIDRS", "10.0.0.0/8, ::1", ["10.0.0.0/8", "::1"]),
        ("FRIGATE_URL", "http://frigate.lan:5000/", "http://frigate.lan:5000"),
        ("PUBLIC_URL", "https://alerts.example.com/", "https://alerts.example.com"),
        ("SECRET_KEY_FALLBACKS", "old-1, old-2", ["old-1", "old-2"]),
        ("ACTION_LINK_SECONDS", "3600", 3600),
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("PASSWORD_HASH_METHOD", "pbkdf2:sha256:600000", "pbkdf2:sha256:600000"),
        ("PASSWORD_HASH_METHOD", "scrypt:32768:8:1", "scrypt:32768:8:1"),
        ("DATABASE_URL", "postgresql+psycopg://alerting@db.internal:5432/alerting",
         "postgresql+psycopg://alerting@db.internal:5432/alerting"),
        ("REDIS_URL", "rediss://cache.internal:6379/0", "rediss://cache.internal:6379/0"),
    ],
)
def test_environment_overrides(name, raw, expected):
    assert config.from_environment({f"ALERTING_{name}": raw})[name] == expected


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="ALERTING_AUTH"):
        config.from_environment({"ALERTING_AUTH": "maybe"})


def test_secret_key_generated_once_and_private(tmp_path):
    first = config.instance_secret_key(str(tmp_path))
    assert len(first) == 64
    assert config.instance_secret_key(str(tmp_path)) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_default_database_is_sqlite_under_instance(tmp_path):
    assert config.default_database_url(str(tmp_path)) == f"sqlite:///{tmp_path}/alerting.db"


@pytest.mark.parametrize(
    ("name", "raw"),
    [("SMTP_PORT", "smtp"), ("RETRY_SCHEDULE", "10, soon"), ("MATCH_BATCH_SIZE", "1.5"),
     ("TRUST_PROXY", "perhaps"), ("METRICS_ALLOW_CIDRS", "10.0.0.0/8,prometheus"),
     ("FRIGATE_URL", "frigate.lan:5000"), ("PUBLIC_URL", "alerts.example.com"),
     ("ACTION_LINK_SECONDS", "0"),
     # Read only later (logging, the first password, the database, Redis, a delivery), where
     # a bad one was ignored or failed without naming the variable.
     ("LOG_LEVEL", "LOUD"), ("PASSWORD_HASH_METHOD", "md5"),
     ("PASSWORD_HASH_METHOD", "scrypt:many"), ("PASSWORD_HASH_METHOD", "pbkdf2:sha999"),
     ("DATABASE_URL", "alerting.db"), ("REDIS_URL", "cache.internal:6379"),
     ("WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8, relay"),
     # The first password, kept (not asked to be changed): as long as the password form asks.
     ("ADMIN_PASSWORD", "admin"),
     # Read at the first web push (or the page's subscribe button), where it failed unnamed.
     ("EVENT_RETENTION_DAYS", "-1"), ("AUDIT_RETENTION_DAYS", "a year"),
     ("VAPID_PRIVATE_KEY", "not-a-key"),
     ("VAPID_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----")],
)
def test_each_bad_value_names_its_variable(name, raw):
    with pytest.raises(ValueError, match=f"ALERTING_{name}"):
        config.from_environment({f"ALERTING_{name}": raw})


def test_a_vapid_key_is_taken_as_pem_or_base64url():
    from py_vapid import Vapid02

    key = Vapid02()
    key.generate_keys()
    pem = key.private_pem().decode()
    raw = config.from_environment({"ALERTING_VAPID_PRIVATE_KEY": pem})["VAPID_PRIVATE_KEY"]
    assert raw == pem


def test_a_bad_public_url_is_explained_with_an_example_of_one():
    with pytest.raises(ValueError, match="ALERTING_PUBLIC_URL") as raised:
        config.from_environment({"ALERTING_PUBLIC_URL": "alerts.example.com"})
    assert "https://alerts.example.com" in str(raised.value)
    assert "frigate" not in str(raised.value)


def test_each_setting_is_declared_once_and_listed_once_in_the_readme():
    """A second declaration silently replaces the first (its validator and its comment); a
    variable in several rows of the README's table is described in contradicting ways."""
    tree = ast.parse(Path(config.__file__).read_text())
    [settings] = [node for node in tree.body
                  if isinstance(node, ast.ClassDef) and node.name == "Settings"]
    names = [node.target.id for node in settings.body if isinstance(node, ast.AnnAssign)]
    assert [name for name, count in Counter(names).items() if count > 1] == []
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = Counter(re.findall(r"^\| `(ALERTING_\w+)`", readme, re.M))
    assert [name for name, count in rows.items() if count > 1] == []


def test_an_empty_variable_is_unset():
    assert config.from_environment({"ALERTING_SMTP_PORT": ""})["SMTP_PORT"] == 587


def test_retry_schedule_is_a_comma_separated_list_of_seconds():
    values = config.from_environment({"ALERTING_RETRY_SCHEDULE": "1, 2.5,60"})
    assert values["RETRY_SCHEDULE"] == [1.0, 2.5, 60.0]
    assert config.from_environment({})["RETRY_SCHEDULE"] == config.DEFAULT_RETRY_SCHEDULE


def test_the_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("ALERTING_SMTP_PORT", "2525")
    monkeypatch.setenv("ALERTING_PUSH_URLS", "ntfy://a,ntfy://b")
    values = config.from_environment()
    assert values["SMTP_PORT"] == 2525
    assert values["PUSH_URLS"] == ["ntfy://a", "ntfy://b"]


def test_values_given_in_code_override_the_environment_and_are_checked(monkeypatch):
    monkeypatch.setenv("ALERTING_SMTP_PORT", "2525")
    assert config.load(overrides={"SMTP_PORT": 25})["SMTP_PORT"] == 25
    with pytest.raises(ValueError, match="ALERTING_SMTP_PORT"):
        config.load(overrides={"SMTP_PORT": "twenty-five"})
    with pytest.raises(ValueError, match="ALERTING_DELIVERY_LEASE_SECONDS"):
        config.load(overrides={"DELIVERY_LEASE_SECONDS": 40})


def test_a_bad_variable_stops_the_app_naming_it(monkeypatch, tmp_path):
    from alerting import create_app

    monkeypatch.setenv("ALERTING_DISPATCH_CONCURRENCY", "many")
    with pytest.raises(ValueError, match="ALERTING_DISPATCH_CONCURRENCY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "BOOTSTRAP": False})


@pytest.mark.parametrize(
    ("name", "raw"),
    [("TIMEZONE", "Mars/Olympus"), ("TIMEZONE", "../etc/passwd"), ("SMTP_PORT", "70000"),
     ("DISPATCH_CONCURRENCY", "0"), ("MATCH_BATCH_SIZE", "-5"), ("RETRY_SCHEDULE", "10,-1")],
)
def test_values_out_of_range_name_their_variable(name, raw):
    with pytest.raises(ValueError, match=f"ALERTING_{name}"):
        config.from_environment({f"ALERTING_{name}": raw})


def test_an_iana_timezone_is_accepted():
    assert config.from_environment({"ALERTING_TIMEZONE": "Europe/Paris"})["TIMEZONE"] == \
        "Europe/Paris"


@pytest.mark.parametrize(("public", "port", "expected"), [
    (None, None, "http://127.0.0.1:8000"),
    (None, "8123", "http://127.0.0.1:8123"),
    ("https://alerts.example.com/", "8123", "https://alerts.example.com"),
])
def test_public_url_defaults_to_the_local_server(monkeypatch, public, port, expected):
    if port is None:
        monkeypatch.delenv("PORT", raising=False)
    else:
        monkeypatch.setenv("PORT", port)
    assert config.public_url({"PUBLIC_URL": public}) == expected
