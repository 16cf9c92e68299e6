"""MQTT in tests: the machine's Mosquitto (127.0.0.1:1883) or a private one on a free port,
a publisher, Frigate's payloads in their exact shapes, and a local HTTP server playing
Frigate's API (backfill, snapshots)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import paho.mqtt.client as paho

from tests.support.server import free_port, wait_for

SYSTEM_BROKER = ("127.0.0.1", 1883)
MOSQUITTO = "/usr/sbin/mosquitto"


def unique_prefix(name: str = "frigate") -> str:
    """A topic prefix no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


class Publisher:
    """One connection that publishes and waits until each message left (QoS 0) or was
    acknowledged (QoS 1)."""

    def __init__(self, port: int = SYSTEM_BROKER[1]):
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: Any, qos: int = 0) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, data, qos=qos)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Mosquitto:
    """A private Mosquitto on a free port, restartable on the same port (with persistence
    off: a restart forgets every session, like a broker that crashed)."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                               "persistence false\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=10)
        return self

    def _answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @staticmethod
    def available() -> bool:
        return shutil.which(MOSQUITTO) is not None


# -- Frigate's payloads (frigate/track/tracked_object.py to_dict, 0.18) ---------------------

def tracked(object_id: str, camera: str, start: float, **changes: Any) -> dict[str, Any]:
    """A tracked object's state as Frigate publishes it in `before` / `after`."""
    state = {
        "id": object_id, "camera": camera, "frame_time": start,
        "snapshot": {"frame_time": start, "box": [10, 20, 110, 320], "area": 30000,
                     "region": [0, 0, 320, 320], "score": 0.82, "attributes": []},
        "snapshot_clean": True, "label": "person", "sub_label": None, "top_score": 0.82,
        "false_positive": False, "start_time": start, "end_time": None, "score": 0.82,
        "computed_score": 0.82, "box": [10, 20, 110, 320], "area": 30000, "ratio": 0.33,
        "region": [0, 0, 320, 320], "active": True, "stationary": False,
        "motionless_count": 0, "position_changes": 1, "current_zones": [],
        "entered_zones": [], "has_clip": True, "has_snapshot": True, "attributes": {},
        "current_attributes": [], "pending_loitering": False, "max_severity": "detection",
        "current_estimated_speed": 0, "average_estimated_speed": 0, "velocity_angle": 0,
        "path_data": [], "recognized_license_plate": None,
    }
    state.update(changes)
    return state


def event_message(kind: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A `<prefix>/events` message."""
    return {"type": kind, "before": before, "after": after}


def lifecycle(object_id: str, camera: str, start: float) -> list[dict[str, Any]]:
    """new outside any zone -> update entering `porch` -> update with a known face -> end."""
    new = tracked(object_id, camera, start)
    porch = tracked(object_id, camera, start, frame_time=start + 2, current_zones=["porch"],
                    entered_zones=["porch"], top_score=0.86, score=0.86, position_changes=2,
                    box=[40, 30, 140, 330])
    face = tracked(object_id, camera, start, frame_time=start + 4, current_zones=["porch"],
                   entered_zones=["porch"], top_score=0.91, score=0.9, sub_label=["Bob", 0.93],
                   attributes={"face": 0.93}, box=[42, 30, 142, 330])
    end = {**face, "frame_time": start + 9, "end_time": start + 9, "active": False}
    return [event_message("new", new, new), event_message("update", new, porch),
            event_message("update", porch, face), event_message("end", face, end)]


def review_message(kind: str, review_id: str, camera: str, start: float, detections: list[str],
                   severity: str = "alert", metadata: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """A `<prefix>/reviews` message."""
    after = {"id": review_id, "camera": camera, "start_time": start, "end_time": None,
             "severity": severity,
             "thumb_path": f"/media/frigate/clips/review/thumb-{camera}-{review_id}.webp",
             "data": {"detections": detections, "objects": ["person"], "verified_objects": [],
                      "sub_labels": [], "zones": ["porch"], "audio": [],
                      "thumb_time": start + 1, "metadata": metadata}}
    return {"type": kind, "before": after, "after": after}


def object_update_message(kind: str, object_id: str, camera: str, **fields: Any
                          ) -> dict[str, Any]:
    """A `<prefix>/tracked_object_update` message: `description` carries "description";
    face, lpr and classification carry their names and scores."""
    return {"type": kind, "id": object_id, "camera": camera, **fields}


# -- Frigate's HTTP API -------------------------------------------------------------------

def api_event(state: dict[str, Any]) -> dict[str, Any]:
    """A tracked object as GET /api/events answers it (frigate/api/event.py)."""
    return {"id": state["id"], "label": state["label"], "sub_label": None
            if not state.get("sub_label") else state["sub_label"][0],
            "camera": state["camera"], "start_time": state["start_time"],
            "end_time": state["end_time"], "false_positive": state["false_positive"],
            "zones": state["entered_zones"], "thumbnail": None,
            "has_clip": state["has_clip"], "has_snapshot": state["has_snapshot"],
            "retain_indefinitely": False, "plus_id": None, "model_hash": "x",
            "detector_type": "cpu", "model_type": "ssd",
            "data": {"box": [0.1, 0.1, 0.3, 0.6], "region": [0, 0, 1, 1],
                     "score": state["score"], "top_score": state["top_score"],
                     "attributes": [], "type": "object"}}


class FakeFrigate:
    """Frigate's HTTP API on a free port: GET /api/events (after, limit; newest first),
    GET /api/events/<id>, its snapshot.jpg and thumbnail.jpg (real JPEG bytes),
    GET /api/version and GET /api/config (`cameras`). `objects` maps id -> state (as
    `tracked` gives it). With `credentials` (user, password) set, every request needs them
    as HTTP basic auth (401 otherwise); `auth_headers` keeps what each request sent."""

    VERSION = "0.16.0-f2b2b6b"

    def __init__(self, cameras: tuple[str, ...] = ("front", "garage")) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.cameras = cameras
        self.credentials: tuple[str, str] | None = None
        self.auth_headers: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                from tests.support.detector import SNAPSHOT, THUMBNAIL

                fake.requests.append(self.path)
                fake.auth_headers.append(self.headers.get("Authorization"))
                if fake.credentials and self.headers.get("Authorization") != basic(
                        *fake.credentials):
                    return self._send(401, b'{"message":"unauthorized"}')
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                if url.path == "/api/version":
                    return self._send(200, fake.VERSION.encode(), "text/plain")
                if url.path == "/api/config":
                    return self._json({"cameras": {name: {"enabled": True}
                                                   for name in fake.cameras}})
                if len(parts) == 4 and parts[:2] == ["api", "events"] and parts[3] in (
                        "snapshot.jpg", "thumbnail.jpg"):
                    body = SNAPSHOT if parts[3] == "snapshot.jpg" else THUMBNAIL
                    return self._send(200, body, "image/jpeg")
                if url.path == "/api/events":
                    query = parse_qs(url.query)
                    after = float(query.get("after", ["0"])[0])
                    limit = int(query.get("limit", ["100"])[0])
                    found = sorted((s for s in fake.objects.values() if s["start_time"] > after),
                                   key=lambda s: -s["start_time"])[:limit]
                    return self._json([api_event(s) for s in found])
                if len(parts) == 3 and parts[:2] == ["api", "events"]:
                    state = fake.objects.get(parts[2])
                    return self._json(api_event(state)) if state else self._send(404, b"{}")
                return self._send(404, b"{}")

            def _json(self, body):
                self._send(200, json.dumps(body).encode(), "application/json")

            def _send(self, status, data, kind="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def basic(username: str, password: str) -> str:
    """An HTTP basic Authorization header's value."""
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def run_subscriber(app, **options):
    """Start the matcher and an MQTT subscriber for the app (stopped by workers.stop(app));
    returns the subscriber once its subscriptions are acknowledged."""
    from alerting import workers
    from alerting.workers.mqtt_loop import Subscriber

    workers.launch(app, ["matcher"])
    subscriber = Subscriber(app, **options)
    app.extensions["alerting.mqtt"] = subscriber
    workers.register(app, subscriber)
    subscriber.start()
    wait_for(subscriber.subscribed.is_set, timeout=10)
    return subscriber


def settle(seconds: float = 0.3) -> None:
    """Give QoS 0 messages already published time to arrive before asserting an absence."""
    time.sleep(seconds)
