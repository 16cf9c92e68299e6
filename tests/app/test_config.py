import os
import stat

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
