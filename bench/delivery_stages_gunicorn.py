"""gunicorn settings for bench/delivery_stages.py: the project's own (gunicorn.conf.py), plus
probes installed in the worker that note when each stage of an event's way to its webhook is
passed. The probes wrap the app's functions from here; the app's code has none.
Lines go to $BENCH_STAGES_FILE: [stage, monotonic seconds]. The bench sends one event at a
time, so a stage belongs to the event whose POST entered last before it."""

import os
import time

from bench import live_stages_gunicorn as _live

globals().update({k: v for k, v in _live._settings.items() if not k.startswith("__")})
_project_post_worker_init = _live._settings["post_worker_init"]


def post_worker_init(worker):
    _project_post_worker_init(worker)
    _install(worker.wsgi, os.environ["BENCH_STAGES_FILE"])


def _install(app, path):
    from flask import request

    from alerting import signals
    from alerting.notify import dispatcher, webhook
    from alerting.services import deliveries

    record = _live.recorder(path)

    def note(stage):
        record((stage, time.monotonic()))

    wsgi_app = app.wsgi_app

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != "/api/events" or environ.get("REQUEST_METHOD") != "POST":
            return wsgi_app(environ, start_response)
        note("entered")
        try:
            return wsgi_app(environ, start_response)
        finally:
            note("wsgi returned")

    app.wsgi_app = wsgi

    @app.after_request
    def answered(response):
        if request.method == "POST" and request.path == "/api/events":
            note("answered")
        return response

    def wrap_send(signal, stage):
        send = signal.send

        def sent(*args, **kwargs):
            note(stage)
            return send(*args, **kwargs)

        signal.send = sent

    wrap_send(signals.events_matched, "committed")
    wrap_send(signals.deliveries_due, "due signalled")

    def around(owner, name, before, after=None):
        inner = getattr(owner, name)

        def probed(*args, **kwargs):
            note(before)
            try:
                return inner(*args, **kwargs)
            finally:
                if after:
                    note(after)

        setattr(owner, name, probed)

    around(dispatcher.Dispatcher, "step", "dispatcher woken")
    around(deliveries, "claim_due", "claim started", "claim committed")
    around(deliveries, "_messages", "build started", "message built")
    around(dispatcher.Dispatcher, "_send", "send started")
    around(webhook.WebhookNotifier, "send", "http started", "http answered")
    around(deliveries, "record_outcomes", "record started", "outcome recorded")
