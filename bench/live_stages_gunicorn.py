"""gunicorn settings for bench/live_stages.py: the project's own (gunicorn.conf.py), plus
probes installed in the worker that note when each event passes each stage of its way to the
WebSocket clients. The probes wrap the app's functions from here; the app's code has none.
Lines go to $BENCH_STAGES_FILE: [stage, monotonic seconds, [event ids]]."""

import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path

_settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({k: v for k, v in _settings.items() if not k.startswith("__")})
_project_post_worker_init = _settings["post_worker_init"]


def post_worker_init(worker):
    _project_post_worker_init(worker)
    _install(worker.wsgi, os.environ["BENCH_STAGES_FILE"])


def recorder(path):
    """A function keeping a line (a JSON-able tuple) for a thread that appends the lines to
    `path` twice a second; applies $BENCH_SWITCH_INTERVAL (an experiment: the GIL's switch
    interval) when set."""
    lines: list = []
    guard = threading.Lock()

    def record(line):
        with guard:
            lines.append(line)

    def flush():
        while True:
            time.sleep(0.5)
            with guard:
                taken, lines[:] = list(lines), []
            if taken:
                with open(path, "a") as out:
                    out.writelines(json.dumps(line) + "\n" for line in taken)

    threading.Thread(target=flush, daemon=True, name="bench-stages").start()
    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    return record


def _install(app, path):
    from flask import g, request

    from alerting import live, signals
    from alerting.live.loop import LiveLoop

    record = recorder(path)

    def note(stage, ids, at=None):
        if ids:
            record((stage, at if at is not None else time.monotonic(), ids))

    entered = threading.local()
    wsgi_app = app.wsgi_app

    def wsgi(environ, start_response):
        entered.at = time.monotonic()
        return wsgi_app(environ, start_response)

    app.wsgi_app = wsgi

    @app.before_request
    def received():
        if request.method == "POST" and request.path == "/api/events":
            g.bench_received = time.monotonic()
            g.bench_entered = entered.at

    @app.after_request
    def answered(response):
        if "bench_received" in g and response.status_code < 300:
            event_id = json.loads(response.get_data()).get("id")
            if event_id is not None:
                note("entered", [event_id], g.bench_entered)
                note("received", [event_id], g.bench_received)
                note("answered", [event_id])
        return response

    matched = signals.events_matched
    send = matched.send

    def announced(*args, **kwargs):
        note("announced", list(kwargs.get("event_ids", ())))
        return send(*args, **kwargs)

    matched.send = announced

    def alert_events(messages):
        return [m.data["event_id"] for m in messages if m.type == "alert_created"]

    hub = app.extensions[live.EXTENSION]
    publish = hub.publish

    def published(message):
        ids = alert_events([message] if isinstance(message, live.LiveMessage) else message)
        note("built", ids)
        publish(message)
        note("offered", ids)

    hub.publish = published

    taken_now: list = []
    take = live.Subscription.take

    def taken(self, timeout, limit=live.WRITE_BATCH):
        messages = take(self, timeout, limit)
        ids = alert_events(messages)
        note("taken", ids)
        taken_now.extend(ids)
        return messages

    live.Subscription.take = taken
    fan_out = LiveLoop._fan_out

    def written(self):
        taken_now.clear()
        fan_out(self)
        note("written", list(taken_now))

    LiveLoop._fan_out = written
