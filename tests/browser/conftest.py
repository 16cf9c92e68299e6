"""Browser tests: Debian's Chromium driven by Playwright against a real gunicorn server.

No browser is downloaded: Playwright launches /usr/bin/chromium (`make setup-dev` installs it).
Every test saves screenshots of the pages it visits under docs/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.support.browser import ADMIN_PASSWORD, log_in
from tests.support.server import free_port, running_server

CHROMIUM = os.environ.get("ALERTING_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
API_KEY = "browser-admin-key-0123456789"
DESKTOP = {"width": 1280, "height": 900}



def pytest_collection_modifyitems(config, items):
    """Skip (with the reason) rather than fail when the browser or Playwright is missing."""
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = (f"{CHROMIUM} is missing: `make setup-dev` installs Debian's chromium "
                  "(apt-get install chromium)")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is missing: pip install -r requirements-dev.txt"
    if reason:
        here = Path(__file__).parent
        for item in items:
            if here in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """pytest-httpserver on 127.0.0.1 (not "localhost", which may resolve to ::1)."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real server for the session: migrated, admin password set, loopback webhooks allowed."""
    tmp = tmp_path_factory.mktemp("browser")
    port = free_port()  # known beforehand: the links in notifications name the server
    with running_server(tmp, port=port, ALERTING_PUBLIC_URL=f"http://127.0.0.1:{port}",
                        ALERTING_ADMIN_PASSWORD=ADMIN_PASSWORD,
                        ALERTING_BOOTSTRAP_API_KEY=API_KEY,
                        ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8",
                        ALERTING_RETRY_SCHEDULE="1") as (url, _proc, _log):
        yield url


@pytest.fixture(scope="session")
def api(server):
    """A requests session on the server's API with an admin key."""
    session = requests.Session()
    session.headers["x-access-token"] = API_KEY
    # A connection per call: the suite's session outlives the server's keep-alive, and a POST
    # on a connection the server had just closed failed with a reset (requests never resends).
    session.headers["Connection"] = "close"

    def call(method: str, path: str, **kwargs):
        response = session.request(method, server + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    yield call
    session.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, server):
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context, server):
    """A logged-in page; dialogs (hx-confirm) are accepted."""
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, server)
    return page
