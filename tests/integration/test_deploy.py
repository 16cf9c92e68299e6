"""docs/deploy.md, run as written: every shell command in it, in order, on PostgreSQL and
Redis; then an alert matched by the separate worker process reaches a WebSocket client of
the web processes (through Redis)."""

import json
import os
import re
import shlex
import subprocess
import time

import pytest
import requests
import websocket

from tests.support.databases import REDIS_URL, TempDatabase, postgres_base, redis_reachable
from tests.support.metrics import samples
from tests.support.metrics import value as sample
from tests.support.mqtt import Publisher, lifecycle, unique_prefix
from tests.support.server import ROOT, free_port, kill_hard, wait_for, wait_healthy

pytestmark = [
    pytest.mark.skipif(postgres_base() is None,
                       reason="needs PostgreSQL: set ALERTING_TEST_DATABASE_URL (.ci/run does)"),
    pytest.mark.skipif(not redis_reachable(),
                       reason="needs Redis: set ALERTING_TEST_REDIS_URL (.ci/run does)"),
]


def doc_commands() -> list[str]:
    """The lines of every ```sh block of docs/deploy.md, in order."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines.extend(line.strip() for line in block.splitlines() if line.strip())
    return lines


def test_every_documented_command_runs(tmp_path):
    database = TempDatabase(tmp_path, "deploy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTING_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")  # these processes' own
    # The documented hosts are examples: here they are this machine's services.
    prefix = unique_prefix()
    overrides = {"ALERTING_DATABASE_URL": database.url, "ALERTING_REDIS_URL": REDIS_URL,
                 "ALERTING_MQTT_URL": "mqtt://127.0.0.1:1883"}
    env.update({"ALERTING_FRIGATE_PREFIXES": prefix, "ALERTING_MQTT_CLIENT_ID": prefix})
    port = free_port()
    processes, keys, ran = [], [], []
    log = open(tmp_path / "deploy.log", "ab")  # noqa: SIM115
    try:
        for line in doc_commands():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                if name in overrides:
                    env[name] = overrides[name]
                else:  # e.g. $(python3 -c ...): let the shell evaluate it as documented
                    env[name] = subprocess.run(["bash", "-c", f"echo {value}"], env=env,
                                               capture_output=True, text=True,
                                               check=True).stdout.strip()
                ran.append(line)
                continue
            argv = shlex.split(line)
            if "gunicorn" in argv[0]:
                argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
                argv[argv.index("--workers") + 1] = "2"  # two web processes fit this machine
                processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT,
                                                  start_new_session=True))
                wait_healthy(f"http://127.0.0.1:{port}", processes[-1])
            elif argv[-1] in ("worker", "mqtt"):
                processes.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            else:
                result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True,
                                        text=True, timeout=120)
                assert result.returncode == 0, (line, result.stderr[-2000:])
                if "keys create" in line:
                    keys.append(result.stdout.strip().splitlines()[-1])
            ran.append(line)
        assert len(ran) == len(doc_commands())
        ingest_key = keys[0]
        admin = subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "app", "keys", "create", "--scope", "admin",
             "--name", "test"], cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]
        url = f"http://127.0.0.1:{port}"
        health = requests.get(url + "/api/health", timeout=5).json()
        assert "matcher" not in health["workers"]  # the web processes match nothing
        rule = requests.post(url + "/api/alerts/rules", headers={"x-access-token": admin},
                             timeout=10, json={"name": "deploy check", "severity": "high",
                                               "cooldown_seconds": 0}).json()
        sockets = [websocket.create_connection(
            f"ws://127.0.0.1:{port}/ws/events?access_token={admin}", timeout=20)
            for _ in range(4)]  # two web processes: some of these land on each
        time.sleep(0.5)
        posted = requests.post(url + "/api/events", headers={"x-access-token": ingest_key},
                               json={"camera_id": "deploy-cam"}, timeout=10)
        assert posted.status_code == 201, posted.text
        for ws in sockets:
            deadline = time.monotonic() + 20
            while True:
                assert time.monotonic() < deadline, "no alert_created within 20 s"
                frame = json.loads(ws.recv())
                if frame["type"] == "alert_created":
                    assert frame["data"]["event_id"] == posted.json()["id"]
                    break
        # /metrics of either web process sums them both and the worker process: the
        # WebSockets open on the two web processes, the alert the worker made.
        for _ in range(4):
            found = samples(requests.get(url + "/metrics", headers={"x-access-token": admin},
                                         timeout=10).text)
            assert sample(found, "alerting_websocket_clients") == 4
            assert sample(found, "alerting_alerts_total", severity="high",
                         rule_id=rule["id"]) == 1
            assert sample(found, "alerting_events_ingested_total", source="") == 1
        for ws in sockets:
            ws.close()
        # The one MQTT subscriber (`flask mqtt`) takes a Frigate object in.
        headers = {"x-access-token": admin}
        publisher = Publisher()
        try:
            new = lifecycle("deploy-obj", "deploy-cam", time.time())[0]
            wait_for(lambda: publisher.publish(f"{prefix}/events", new) or requests.get(
                url + "/api/events?camera_id=deploy-cam", headers=headers, timeout=5
            ).json()["count"] == 2, timeout=30, interval=0.5)
        finally:
            publisher.close()
    finally:
        for proc in processes:
            kill_hard(proc)
        log.close()
        database.drop()
