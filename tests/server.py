"""A real server for end-to-end tests: `flask db upgrade`, then gunicorn on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.databases import TempDatabase

ROOT = Path(__file__).resolve().parent.parent
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
        # tests/test_rate_limits.py tests the limits themselves.
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


@contextmanager
def running_server(tmp_path: Path, *, migrate: bool = True, database: TempDatabase | None = None,
                   **env_extra: str):
    """Yield (base_url, process, log_path) for a gunicorn server; stopped afterwards.

    Without `database`, the server gets a fresh one, dropped when it stops; pass one to keep
    the data across restarts."""
    owned = database is None
    database = database or TempDatabase(tmp_path, "server")
    env = server_env(database.url, **env_extra)
    if migrate:
        upgrade(env)
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--workers", "1",
             "--threads", "16", "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc, log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_hard(proc)
        if owned:
            database.drop()


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL the server and its workers at once: a crash, not a shutdown."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
