"""A webhook send's deadline and the delivery lease: a lease not longer than twice the deadline
is refused at start-up (naming both settings) and in the settings; a stored timeout the lease
does not allow is cut, with a warning."""

import logging
import subprocess
import sys

import pytest

from alerting import bootstrap, config, create_app
from alerting.extensions import db
from alerting.models import NotificationSettings
from alerting.services.notification_settings import channel_settings
from tests.support.app import make_app
from tests.support.server import ROOT, server_env


@pytest.mark.parametrize(("lease", "timeout", "ok"),
                         [("120", "30", True), ("61", "30", True), ("60", "30", False),
                          ("20", "30", False)])
def test_lease_must_be_longer_than_twice_the_webhook_timeout(lease, timeout, ok):
    environ = {"ALERTING_DELIVERY_LEASE_SECONDS": lease,
               "ALERTING_WEBHOOK_TIMEOUT_SECONDS": timeout}
    if ok:
        assert config.from_environment(environ)["DELIVERY_LEASE_SECONDS"] == int(lease)
        return
    with pytest.raises(ValueError, match=(
            rf"ALERTING_DELIVERY_LEASE_SECONDS \({lease}\) must be longer than twice "
            rf"ALERTING_WEBHOOK_TIMEOUT_SECONDS \({timeout}\)")):
        config.from_environment(environ)


def test_the_app_refuses_to_start_with_such_a_lease(tmp_path):
    with pytest.raises(ValueError, match="ALERTING_DELIVERY_LEASE_SECONDS"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "BOOTSTRAP": False,
                    "DELIVERY_LEASE_SECONDS": 60, "WEBHOOK_TIMEOUT_SECONDS": 30})
    env = server_env(f"sqlite:///{tmp_path}/x.db", ALERTING_DELIVERY_LEASE_SECONDS="50",
                     ALERTING_WEBHOOK_TIMEOUT_SECONDS="25")
    started = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "ALERTING_DELIVERY_LEASE_SECONDS (50)" in started.stderr
    assert "ALERTING_WEBHOOK_TIMEOUT_SECONDS (25)" in started.stderr


def test_the_settings_refuse_a_timeout_the_lease_does_not_allow(app, admin_headers):
    client = app.test_client()
    response = client.put("/api/notification/config", json={"webhook_timeout_seconds": 60},
                          headers=admin_headers)
    assert response.status_code == 422
    assert "ALERTING_DELIVERY_LEASE_SECONDS (120)" in \
        response.json["fields"]["webhook_timeout_seconds"]
    response = client.put("/api/notification/config", json={"webhook_timeout_seconds": 59},
                          headers=admin_headers)
    assert response.status_code == 200 and response.json["webhook_timeout_seconds"] == 59


def test_a_stored_timeout_too_long_for_the_lease_is_cut_with_a_warning(tmp_path, caplog):
    app = make_app(tmp_path, DELIVERY_LEASE_SECONDS=100, WEBHOOK_TIMEOUT_SECONDS=20)
    with app.app_context():
        db.session.get(NotificationSettings, 1).webhook_timeout_seconds = 50  # stored earlier
        db.session.commit()
        assert channel_settings().webhook_timeout_seconds == 40.0
    with caplog.at_level(logging.WARNING, logger="alerting"):
        bootstrap(app)
    assert any("webhook_timeout_seconds (50)" in r.getMessage()
               and "ALERTING_DELIVERY_LEASE_SECONDS (100)" in r.getMessage()
               for r in caplog.records)
