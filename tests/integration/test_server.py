"""The app served for real: migrations applied, gunicorn on loopback, as `make run` does."""

import requests

from tests.support.server import running_server


def test_gunicorn_serves_login_page_and_health(tmp_path):
    with running_server(tmp_path) as (url, _proc, log_path):
        health = requests.get(url + "/api/health", timeout=5)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        page = requests.get(url + "/", timeout=5)
        assert page.status_code == 200 and "Log in" in page.text
        htmx = requests.get(url + "/static/vendor/htmx.min.js", timeout=5)
        assert htmx.status_code == 200 and "htmx" in htmx.text
    assert "created user 'admin' with password:" in log_path.read_text()


def test_the_server_writes_nothing_in_the_home_directory(tmp_path):
    """gunicorn 25.1+ opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl, else
    ~/.gunicorn/gunicorn.ctl: one path for every server of the user, each replacing the last
    one's socket and the first to stop deleting it. Nothing here uses it (gunicorn.conf.py)."""
    home = tmp_path / "home"
    home.mkdir()
    with running_server(tmp_path, HOME=str(home), XDG_RUNTIME_DIR="") as (url, _proc, log_path):
        assert requests.get(url + "/api/health", timeout=5).status_code == 200
        assert list(home.iterdir()) == []
    assert "Control socket" not in log_path.read_text()
