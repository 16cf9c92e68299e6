"""A real server for end-to-end tests: `flask db upgrade`, then gunicorn on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.databases import TempDatabase

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTING_")}
    env.update({
        "ALERTING_DATABASE_URL": database_url,
        "ALERTING_SECRET_KEY": "e2e-secret",
        "FLASK_APP": "app",
        "PYTHONUNBUFFERED": "1",
        # Real-server tests post bursts from one key and log in often from one address;
        # tests/app/test_rate_limits.py tests the limits themselves.
        "ALERTING_RATE_LIMIT_INGEST": "1000000 per second",
        "ALERTING_RATE_LIMIT_LOGIN": "1000000 per second",
    })
    env.update(extra)
    return env


def upgrade(env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy; that value, or an AssertionError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/api/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the worker still loading
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not become healthy")


THREADS = 16  # request threads of the servers tests run


@contextmanager
def running_server(tmp_path: Path, *, migrate: bool = True, database: TempDatabase | None = None,
                   port: int | None = None, config: str = "gunicorn.conf.py", **env_extra: str):
    """Yield (base_url, process, log_path) for a gunicorn server; stopped afterwards.

    Without `database`, the server gets a fresh one, dropped when it stops; pass one to keep
    the data across restarts. `port`: the one to listen on (known beforehand, for a setting
    naming the server's own address), else a free one. `config`: gunicorn's settings file
    (a bench's own, wrapping the project's)."""
    owned = database is None
    database = database or TempDatabase(tmp_path, "server")
    env = server_env(database.url, **env_extra)
    if migrate:
        upgrade(env)
    port = port or free_port()
    log_path = tmp_path / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", config, "--workers", "1",
             "--threads", str(THREADS), "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc, log_path
    finally:
        stop_server(proc)
        if owned:
            database.drop()


def stop_server(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a server started in a session of its own (start_new_session): SIGTERM to it and
    its workers, then, if they have not ended within `timeout` seconds, kill_hard."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_hard(proc)


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the server and its workers at once: a crash, not a shutdown."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class Slowloris:
    """`count` connections, each sending a request's headers one byte every `interval`
    seconds from one thread; reconnecting when the server closes one."""

    REQUEST = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200

    def __init__(self, port: int, count: int, interval: float):
        self.port, self.count, self.interval = port, count, interval
        self.closed_by_server = 0
        self.stop = threading.Event()
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setblocking(False)
        return sock

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        """Stop sending and close every connection."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(10)

    def run(self) -> None:
        sockets = [[self.open(), 0] for _ in range(self.count)]
        self.opened.set()
        try:
            for _ in range(1_000_000):  # bounded; stopped long before
                if self.stop.wait(self.interval):
                    return
                for entry in sockets:
                    sock, sent = entry
                    try:
                        if sock.recv(1) == b"":  # closed by the server
                            raise ConnectionResetError
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.closed_by_server += 1
                        sock.close()
                        entry[:] = [self.open(), 0]
                        continue
                    try:
                        sock.send(self.REQUEST[sent:sent + 1])
                        entry[1] = (sent + 1) % len(self.REQUEST)
                    except OSError:
                        pass
        finally:
            for sock, _ in sockets:
                sock.close()


# Where a person acknowledges on a running server: the API, the page's button (logged in,
# with the form's CSRF token), or an action link from a notification (no login).
ACKNOWLEDGE_ON = ("api", "page", "action_link")


def acknowledge_on(url: str, where: str, alert_id: int, *, api_key: str = "",
                   password: str = "", link: str = "") -> None:
    """Acknowledge on the server at `url` from `where` (one of ACKNOWLEDGE_ON): alert
    `alert_id` through the API (with `api_key`) or the page (logged in as admin with
    `password`), or by posting `link`, a notification's action link; it must succeed."""
    from tests.support.pages import csrf_token

    session = requests.Session()
    if where == "api":
        response = session.post(f"{url}/api/alerts/{alert_id}/acknowledge",
                                headers={"x-access-token": api_key})
    elif where == "page":
        token = csrf_token(session.get(url + "/login").content)
        assert session.post(url + "/login", allow_redirects=False, data={
            "username": "admin", "password": password, "csrf_token": token}).status_code == 302
        token = csrf_token(session.get(url + "/keys").content)
        response = session.post(f"{url}/alerts/{alert_id}/acknowledge", allow_redirects=False,
                                data={"csrf_token": token}, headers={"HX-Request": "true"})
    else:
        assert link.startswith(url + "/actions/"), link
        # The link page's button: a plain form post.
        response = session.post(link, allow_redirects=False)
    assert response.status_code == 200, (where, response.status_code, response.text[:300])
