"""docs/proxy/nginx.conf as written, in front of a real server: the API, a WebSocket and its
alerts go through it, and slow clients wait in nginx, not in gunicorn. Skipped when the
machine has no nginx (Debian: apt-get install nginx-light)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import websocket

from tests.support.factories import event_body, rule_body
from tests.support.server import ROOT, Slowloris, free_port, running_server, wait_for

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
KEY = "proxy-admin-key-0123456789"

pytestmark = pytest.mark.skipif(NGINX is None, reason="needs nginx (apt-get install nginx-light)")


def nginx_config(tmp_path: Path, backend_port: int, port: int) -> Path:
    """docs/proxy/nginx.conf with its two addresses changed, in a minimal nginx.conf."""
    site = (ROOT / "docs/proxy/nginx.conf").read_text()
    assert "server 127.0.0.1:8000;" in site and "listen 8080;" in site
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend_port};")
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (tmp_path / "site.conf").write_text(site)
    for name in ("client_body", "proxy"):
        (tmp_path / name).mkdir(exist_ok=True)
    main = tmp_path / "nginx.conf"
    main.write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/client_body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/site.conf;
}}
""")
    return main


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("proxy")
    with running_server(tmp_path, ALERTING_BOOTSTRAP_API_KEY=KEY,
                        ALERTING_TRUST_PROXY="on") as (url, _proc, _log):
        backend_port = int(url.rsplit(":", 1)[1])
        port = free_port()
        config = nginx_config(tmp_path, backend_port, port)
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            front = f"http://127.0.0.1:{port}"

            def up() -> bool:
                assert nginx.poll() is None, nginx.stderr.read().decode()
                try:
                    return requests.get(front + "/api/health", timeout=2).ok
                except requests.RequestException:
                    return False

            wait_for(up, timeout=20, interval=0.1)
            api = requests.Session()
            api.headers["x-access-token"] = KEY
            assert api.post(front + "/api/alerts/rules",
                            json=rule_body(camera_ids=["back-door"])).status_code == 201
            yield front, port, api
            api.close()
        finally:
            nginx.terminate()
            nginx.wait(10)
            nginx.stderr.close()


def test_api_and_websocket_through_nginx(proxied):
    front, _, api = proxied
    ws = websocket.create_connection(front.replace("http://", "ws://") + "/ws/events",
                                     timeout=10, header={"x-access-token": KEY})
    try:
        assert json.loads(ws.recv())["type"] == "ready"
        event = api.post(front + "/api/events", json=event_body()).json()
        for _ in range(10):
            message = json.loads(ws.recv())
            if message["type"] == "alert_created":
                assert message["data"]["event_id"] == event["id"]
                break
        else:
            raise AssertionError("no alert through the proxy")
    finally:
        ws.close()


def test_slow_clients_wait_in_nginx(proxied):
    front, port, _ = proxied
    slow = Slowloris(port, 60, interval=0.5)
    body = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        slow.start()
        slow.opened.wait(10)
        body.sendall(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(1.0)
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(front + "/api/health", timeout=5).ok
            assert time.monotonic() - started < 2.0
    finally:
        slow.close()
        body.close()
