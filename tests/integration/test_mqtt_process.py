"""`flask mqtt --matcher` as its own process: Frigate messages in, the alert out, and a clean
stop on SIGTERM."""

import signal
import subprocess
import time

from sqlalchemy import create_engine, text

from tests.support.mqtt import Publisher, lifecycle, unique_prefix
from tests.support.server import BIN, ROOT, kill_hard, server_env, upgrade, wait_for


def test_flask_mqtt_takes_frigate_in_and_stops_on_sigterm(tmp_path):
    prefix = unique_prefix()
    url = f"sqlite:///{tmp_path / 'mqtt.db'}"
    env = server_env(url, ALERTING_MQTT_URL="mqtt://127.0.0.1:1883",
                     ALERTING_FRIGATE_PREFIXES=prefix, ALERTING_MQTT_CLIENT_ID=prefix)
    upgrade(env)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO alert_rules (id, name, enabled, severity, zone_ids, cooldown_seconds,"
            " channels, created_at, updated_at) VALUES ('porch', 'porch', true, 'high',"
            " '[\"porch\"]', 0, '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    proc = subprocess.Popen([str(BIN / "flask"), "mqtt", "--matcher"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    publisher = Publisher()
    try:
        messages = lifecycle("proc-1", "front", time.time() - 10)

        def alerted():
            for message in messages:  # again until the subscriber is there: repeats are free
                publisher.publish(f"{prefix}/events", message)
            with engine.connect() as conn:
                return conn.execute(text("SELECT rule_id FROM alerts")).all()

        assert wait_for(alerted, timeout=30, interval=0.5) == [("porch",)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert b"stopped" in proc.stderr.read()
    finally:
        publisher.close()
        if proc.poll() is None:
            kill_hard(proc)
        proc.stderr.close()
        engine.dispose()
