"""Fixtures: an app on its own temporary database, a client, a CLI runner, API keys."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile

import pytest
from hypothesis import settings
from pytest_httpserver import HTTPServer

from tests.support import databases
from tests.support.app import _databases, make_app, make_key
from tests.support.fuzz import FULL_EXAMPLES
from tests.support.routing import share_compiled_routes

# Each test process (each xdist worker too) keeps its Prometheus metrics in a folder of its
# own, set before alerting.metrics is imported; a test's subprocesses inherit it.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="alerting-metrics-")
atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# pytest-httpserver's receivers look for their stop every 0.5 s, which every test that
# stops one of its own waited out: a twentieth of that is plenty on loopback.
def _serve_until_stopped(server: HTTPServer) -> None:
    server.server.serve_forever(poll_interval=0.05)


HTTPServer.thread_target = _serve_until_stopped
share_compiled_routes()

# Hypothesis profiles: "full" (`make test`) keeps every property test's example count; "fast"
# (`make test-fast` sets ALERTING_HYPOTHESIS_PROFILE=fast) runs a fifth of them. A test that
# sets its own count writes it as tests.support.fuzz.examples(n) so that it follows the profile.
settings.register_profile("full", max_examples=FULL_EXAMPLES)
settings.register_profile("fast", max_examples=FULL_EXAMPLES // 5)
settings.load_profile(os.environ.get("ALERTING_HYPOTHESIS_PROFILE", "full"))

# The speed tiers of pyproject.toml, by place, so that a test module need not mark itself
# (one may still, with pytestmark). Paths are relative to the repository, "::" then a test name.
SLOW = ("tests/integration/", "tests/live/test_many_connections.py",
        "tests/api/test_openapi.py::test_schemathesis_finds_nothing",
        "tests/workers/test_faults.py::test_database_errors_at_every_statement_lose_nothing")
# Tests over the machine's real Mosquitto (each waits for what the broker delivers): slow.
MOSQUITTO = ("tests/ingest/test_frigate_mqtt.py", "tests/ingest/test_frigate_tracks.py",
             "tests/ingest/test_mqtt_health_and_modes.py", "tests/ingest/test_frigate_backfill.py",
             "tests/ingest/test_frigate_status.py", "tests/workers/test_mqtt_settings_reload.py",
             "tests/workers/test_mqtt_loop.py",
             "tests/api/test_integrations_api.py::test_mqtt_test_counts_what_it_saw_per_topic_kind",
             "tests/api/test_integrations_api.py::test_mqtt_test_names_the_prefix_frigate_is_on",
             "tests/web/test_integrations_page.py::test_test_buttons_show_what_was_seen")
# Modules whose `server` fixture is a real gunicorn: the tests using it are slow.
SERVER_MODULES = ("tests/live/test_live.py",)
BROWSER = ("tests/browser/",)
POSTGRES = ("tests/services/test_matching_order_postgres.py",
            "tests/integration/test_workers_postgres.py", "tests/integration/test_deploy.py",
            "tests/services/test_matching_reliability.py::"
            "test_only_the_event_that_fails_is_set_aside_not_one_another_worker_holds")


def pytest_collection_modifyitems(config, items):
    """Mark the slow, browser and postgres tests."""
    for item in items:
        nodeid = item.nodeid
        if nodeid.startswith(SLOW + MOSQUITTO) or (nodeid.startswith(SERVER_MODULES)
                                       and "server" in item.fixturenames):
            item.add_marker(pytest.mark.slow)
        if nodeid.startswith(BROWSER):
            item.add_marker(pytest.mark.browser)
        if nodeid.startswith(POSTGRES):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Drop the PostgreSQL schemas the test made (SQLite files go with tmp_path)."""
    yield
    from alerting.services import keys

    keys.clear_cache()
    from alerting import workers
    from alerting.extensions import db

    while _databases:
        app, database = _databases.pop()
        # A loop left running would go on reading the database, and a PostgreSQL schema is
        # used again by a later test: stopped before the database is given back.
        workers.stop(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.release(database, [t.name for t in db.metadata.sorted_tables])


@pytest.fixture(scope="session", autouse=True)
def _drop_pooled_schemas():
    yield
    databases.drop_pool()


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers(app):
    return {"x-access-token": make_key(app, "admin")}


@pytest.fixture
def smtp_server():
    """start(handler) -> a running aiosmtpd server on loopback; all stopped afterwards."""
    from tests.support.receivers import start_smtp

    started = []

    def start(handler, port=None):
        controller = start_smtp(handler, port)
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def pytest_collection_finish(session):
    """What the collection imported lives as long as the run: set apart from the collector's
    full passes, which otherwise walk all of it again every few tests (a seventh of a page
    test's time)."""
    gc.collect()
    gc.freeze()
