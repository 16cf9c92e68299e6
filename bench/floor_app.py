"""The floors of bench/floor.py: the smallest Flask programs doing the project's work on the
same stack, served by gunicorn with the same settings (gthread, one worker, same threads).

  ingest_app  POST /api/events: parse the JSON body (one event, or {"events": [...]}), insert
              each event into SQLite (WAL, synchronous NORMAL, one writer connection, one
              transaction per request), answer 201 with the id(s).
  live_app    GET /ws/events (flask-sock): say {"type": "ready"}, then hold the socket;
              POST /api/events: number the event, send {"type": "alert_created", "data":
              {"event_id": n}} to every connected client, answer 201 with the id.

No authentication, no validation, no rules: what is left is the cost of the stack itself
(gunicorn, Flask, JSON, SQLite, the WebSocket library). FLOOR_DB names the SQLite file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime

from flask import Flask, Response, request
from flask_sock import Sock

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    external_id TEXT,
    body TEXT NOT NULL,
    processed_at TEXT NOT NULL
)"""


def _created(body: dict) -> Response:
    return Response(json.dumps(body), status=201, mimetype="application/json")


def ingest_app() -> Flask:
    app = Flask("floor-ingest")
    conn = sqlite3.connect(os.environ["FLOOR_DB"], check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    writer = threading.Lock()  # one writer connection, as the project's SQLite writer

    @app.post("/api/events")
    def post_events():
        body = request.get_json()
        events = body["events"] if "events" in body else [body]
        now = datetime.now(UTC).isoformat()
        rows = [(e.get("camera_id", ""), e.get("external_id"), json.dumps(e), now)
                for e in events]
        with writer:
            conn.execute("BEGIN")
            ids = [conn.execute("INSERT INTO events (camera_id, external_id, body, processed_at)"
                                " VALUES (?, ?, ?, ?)", row).lastrowid for row in rows]
            conn.execute("COMMIT")
        if "events" in body:
            return _created({"ids": ids, "count": len(ids)})
        return _created({"id": ids[0]})

    @app.get("/api/health")
    def health():
        return {"status": "ok"}

    return app


def live_app() -> Flask:
    app = Flask("floor-live")
    sock = Sock(app)
    clients: set = set()
    guard = threading.Lock()
    counter = iter(range(1, 1 << 62))

    @sock.route("/ws/events")
    def events(ws):
        ws.send(json.dumps({"type": "ready"}))
        with guard:
            clients.add(ws)
        try:
            while ws.connected:
                ws.receive(timeout=None)
        finally:
            with guard:
                clients.discard(ws)

    @app.post("/api/events")
    def post_event():
        request.get_json()
        with guard:
            event_id = next(counter)
            targets = list(clients)
        message = json.dumps({"type": "alert_created", "data": {"event_id": event_id}},
                             separators=(",", ":"))  # as the project sends it
        for ws in targets:
            try:
                ws.send(message)
            except Exception:  # a client gone: it leaves the set in its own handler
                pass
        return _created({"id": event_id})

    @app.get("/api/health")
    def health():
        return {"status": "ok"}

    return app
