"""The app served for real: migrations applied, gunicorn on loopback, as `make run` does."""

import subprocess

import pytest
import requests

from tests.support.server import BIN, ROOT, free_port, running_server, server_env


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


@pytest.mark.parametrize("command", [["flask", "db", "upgrade"],
                                     ["gunicorn", "--config", "gunicorn.conf.py", "app:app"]])
@pytest.mark.parametrize("bad", ["auth", "metrics directory"])
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(tmp_path, command, bad):
    """`make run` starts with `flask db upgrade`, then gunicorn: a bad value ended each with
    a 30-line traceback (gunicorn's in every worker), the variable named on its last line."""
    in_a_file = tmp_path / "a-file"
    in_a_file.write_text("")
    setting, expected = {
        "auth": ({"ALERTING_AUTH": "maybe"}, "ALERTING_AUTH: Input should be a valid boolean"),
        "metrics directory": ({"PROMETHEUS_MULTIPROC_DIR": str(in_a_file / "metrics")},
                              "PROMETHEUS_MULTIPROC_DIR: cannot make")}[bad]
    env = server_env(f"sqlite:///{tmp_path}/a.db",
                     **{"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **setting})
    argv = [str(BIN / command[0]), *command[1:]]
    if command[0] == "gunicorn":
        argv += ["--bind", f"127.0.0.1:{free_port()}"]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
