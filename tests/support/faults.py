"""Database faults on demand, and the fault-injection run shared by tests/workers/test_faults.py
(a reduced count, in `make test`) and bench/faults.py (the full run).

`StatementFaults` is a SQLAlchemy `before_cursor_execute` hook that makes chosen statements
fail the way the database would: "database is locked" (SQLite), a serialization failure or a
lock timeout (PostgreSQL), or the connection dropped (the driver's connection is closed
under the statement, so the driver itself raises, and SQLAlchemy sees a real disconnect).

`run_faults` drives the whole app: events posted through the API (matched on ingest or by
the matcher thread), alerts with a cooldown, webhooks to a real receiver on loopback, while
each distinct statement of the ingest, matching and delivery paths fails in turn, at its
first and at its third execution. Afterwards every event must be matched exactly once, every
alert that should exist must exist (the cooldown decisions as one clean run would take
them), every delivery must be delivered, each webhook-id received exactly once, and both
loops alive and running.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import event

ERRORS = {
    "sqlite": ("locked", "dropped"),
    "postgresql": ("serialization", "lock_timeout", "dropped"),
}
# The threads whose statements fail: the two loops and the client posting events (ingest,
# and matching on ingest). Not the checks made afterwards, nor the WAL checkpointer.
FAULTY_THREADS = ("alerting-matcher", "alerting-dispatcher", "poster")


def _error(kind: str) -> Exception:
    if kind == "locked":
        import sqlite3

        return sqlite3.OperationalError("database is locked")
    import psycopg

    if kind == "serialization":
        return psycopg.errors.SerializationFailure(
            "could not serialize access due to concurrent update")
    if kind == "lock_timeout":
        return psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
    raise ValueError(kind)


_PLACEHOLDERS = re.compile(r"(?:%\(\w+\)s|\?|\$\d+)(?:, (?:%\(\w+\)s|\?|\$\d+))+")
_ROWS = re.compile(r"(?:\(…\)|\(\?\)|\(%\(\w+\)s\))(?:, (?:\(…\)|\(\?\)|\(%\(\w+\)s\)))+")


def statement_key(statement: str) -> str:
    """The statement without the length of its IN lists and VALUES rows."""
    key = " ".join(statement.split())
    key = _PLACEHOLDERS.sub("…", key)
    key = re.sub(r"\((?:…)\)", "(…)", key)
    return _ROWS.sub("(…)", key)


class StatementFaults:
    """Fails the `at`-th executions (1-based) of every distinct statement made on the
    `threads` (containing `only`, when given), each time with the next error of `kinds`
    (by default the dialect's). `at=()` fails nothing (counting only); `fail_all` fails
    every statement (a database that stays down)."""

    def __init__(self, engine, *, at: tuple[int, ...] = (1, 3),
                 threads: tuple[str, ...] = FAULTY_THREADS, fail_all: bool = False,
                 only: str | None = None, kinds: tuple[str, ...] | None = None):
        self.engine = engine
        self.at = set(at)
        self.threads = threads
        self.fail_all = fail_all
        self.only = only  # a substring: fail only statements containing it
        self.kinds = itertools.cycle(kinds or ERRORS[engine.dialect.name])
        self.executions: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()  # per kind
        self.faulted: set[str] = set()
        self.lock = threading.Lock()

    def __enter__(self) -> StatementFaults:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *_exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def _hook(self, conn, _cursor, statement, parameters, _context, _executemany):
        if not threading.current_thread().name.startswith(self.threads):
            return statement, parameters
        if self.only is not None and self.only not in statement:
            return statement, parameters
        key = statement_key(statement)
        with self.lock:
            self.executions[key] += 1
            if not self.fail_all and self.executions[key] not in self.at:
                return statement, parameters
            kind = next(self.kinds)
            self.injected[kind] += 1
            self.faulted.add(key)
        if kind == "dropped":
            # The driver's connection goes away under the statement: the driver raises.
            conn.connection.dbapi_connection.close()
            return statement, parameters
        raise _error(kind)


class WebhookReceiver:
    """A real HTTP receiver on loopback: answers 200 and counts each webhook-id; `bodies`
    keeps each body received with its arrival time."""

    def __init__(self) -> None:
        received: Counter[str] = Counter()
        bodies: list[tuple[datetime, dict]] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parsed = json.loads(body)
                with lock:
                    received[self.headers["webhook-id"]] += 1
                    bodies.append((datetime.now(UTC), parsed))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.received = received
        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


START = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
CAMERAS = 4
SPACING_SECONDS = 10
COOLDOWN_SECONDS = 60


def expected_alerts(events: int) -> dict[str, int]:
    """Alerts per rule: `every` fires for each event; `cooled` once per camera and cooldown
    (events 10 s apart, round-robin over 4 cameras: one every 40 s per camera)."""
    last: dict[int, datetime] = {}
    cooled = 0
    for i in range(events):
        when, camera = START + timedelta(seconds=SPACING_SECONDS * i), i % CAMERAS
        if camera not in last or abs(when - last[camera]) >= timedelta(
                seconds=COOLDOWN_SECONDS):
            last[camera] = when
            cooled += 1
    return {"every": events, "cooled": cooled}


def run_faults(app, headers: dict[str, str], *, events: int = 200,
               at: tuple[int, ...] = (1, 3), timeout: float = 120.0) -> dict[str, Any]:
    """The run described above on `app` (its own fresh database, webhooks allowed to
    loopback, a short retry schedule); returns the figures and `problems` (empty when
    nothing is wrong)."""
    from alerting import workers
    from alerting.extensions import db
    from alerting.models import Alert, Delivery, Event
    from alerting.notify.dispatcher import Dispatcher
    from alerting.workers.matcher_loop import Matcher
    from tests.support.factories import create_rule, event_body

    receiver = WebhookReceiver()
    client = app.test_client()
    client.put("/api/notification/config", json={"default_webhook_url": receiver.url},
               headers=headers)
    create_rule(client, headers, name="every", camera_ids=None, channels=["webhook"])
    create_rule(client, headers, name="cooled", camera_ids=None, channels=["webhook"],
                cooldown_seconds=COOLDOWN_SECONDS, dedup_key_template="{camera_id}")
    # A short backoff cap: here every statement fails once in turn, so failures come in
    # long runs, and a cap of seconds would only make the run slow.
    matcher = Matcher(app, poll_seconds=0.05, backoff_max=0.2)
    dispatcher = Dispatcher(app, poll_seconds=0.05, backoff_max=0.2)
    for loop in (matcher, dispatcher):
        app.extensions[f"alerting.{loop.name}"] = loop
        workers.register(app, loop)
    with app.app_context():
        engine = db.engine
    retried: Counter[int] = Counter()
    refused: list[int] = []

    def post_all() -> None:
        poster = app.test_client()
        for i in range(events):
            body = event_body(camera_id=f"cam-{i % CAMERAS}", source="faults",
                              external_id=f"ev-{i}", started_at=(
                                  START + timedelta(seconds=SPACING_SECONDS * i)
                              ).isoformat().replace("+00:00", "Z"))
            # Every statement of the post fails in turn: with dense faults a post may be
            # refused many times before each of its statements is past its failures.
            for _attempt in range(1000):
                response = poster.post("/api/events", json=body, headers=headers)
                if response.status_code in (200, 201):
                    break
                retried[response.status_code] += 1  # the detector posts it again
            else:
                refused.append(i)
                return

    started = time.monotonic()
    problems: list[str] = []
    faults = StatementFaults(engine, at=at)
    try:
        with faults:
            matcher.start()
            dispatcher.start()
            poster = threading.Thread(target=post_all, name="poster")
            poster.start()
            poster.join(timeout)
            want = expected_alerts(events)
            total_alerts = sum(want.values())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with app.app_context():
                    unprocessed = db.session.query(Event).filter(
                        Event.processed_at.is_(None)).count()
                    delivered = db.session.query(Delivery).filter(
                        Delivery.status == "delivered").count()
                    db.session.remove()
                if not unprocessed and delivered >= total_alerts \
                        and len(receiver.received) >= total_alerts or refused:
                    break
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        # The faults are off: each loop's next cycle succeeds and it is running again.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                loop.state()["state"] != "running" for loop in (matcher, dispatcher)):
            time.sleep(0.02)
        alive = {loop.name: loop.state() for loop in (matcher, dispatcher)}
        time.sleep(0.3)  # a stray duplicate would arrive now
        with app.app_context():
            stored = db.session.query(Event).count()
            unprocessed = db.session.query(Event).filter(Event.processed_at.is_(None)).count()
            per_rule = Counter(name for (name,) in db.session.query(Alert.rule_name))
            pairs = db.session.query(Alert.rule_id, Alert.event_id).all()
            statuses = Counter(s for (s,) in db.session.query(Delivery.status))
            message_ids = {m for (m,) in db.session.query(Delivery.message_id)}
            db.session.remove()
    finally:
        matcher.stop()
        dispatcher.stop()
        receiver.stop()
    if poster.is_alive():
        problems.append("posting did not finish")
    if refused:
        problems.append(f"event {refused[0]} refused 1000 times")
    if stored != events:
        problems.append(f"{stored} events stored, expected {events}")
    if unprocessed:
        problems.append(f"{unprocessed} events never matched")
    if len(pairs) != len(set(pairs)):
        problems.append("an event matched twice by a rule")
    if dict(per_rule) != want:
        problems.append(f"alerts per rule {dict(per_rule)}, expected {want}")
    if set(statuses) != {"delivered"}:
        problems.append(f"deliveries not all delivered: {dict(statuses)}")
    if set(receiver.received) != message_ids:
        problems.append(f"{len(message_ids - set(receiver.received))} webhook-ids never "
                        f"received, {len(set(receiver.received) - message_ids)} unknown")
    repeats = {wid: n for wid, n in receiver.received.items() if n > 1}
    if repeats:
        problems.append(f"{len(repeats)} webhook-ids received more than once")
    for name, state in alive.items():
        if state["state"] != "running":
            problems.append(f"the {name} loop is {state['state']}")
    return {
        "database": engine.dialect.name, "events": events, "alerts": dict(per_rule),
        "deliveries": dict(statuses), "webhooks_received": sum(receiver.received.values()),
        "statements": len(faults.executions), "statements_faulted": len(faults.faulted),
        "executions": sum(faults.executions.values()), "injected": dict(faults.injected),
        "injected_total": faults.total, "posts_retried": dict(retried),
        "loops": alive, "elapsed": elapsed, "problems": problems,
    }
