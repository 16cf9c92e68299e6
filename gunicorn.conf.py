"""gunicorn settings for `make run`: threads (flask-sock needs them); the background workers
start in each serving process."""

import gc
import os
import sys

from alerting import config as settings
from alerting import gunicorn_output

try:  # (before gunicorn loads the worker class, which needs the metrics directory)
    from alerting import metrics
except settings.SettingsError as exc:
    sys.exit(f"alerting: {exc}")

# gthread, with requests read in the poller before they take a thread and WebSockets handed
# to the live loop after their handshake (alerting/serving.py): slow clients and open
# WebSockets hold no thread. HEADER_TIMEOUT and BODY_TIMEOUT (seconds) bound slow clients.
worker_class = "alerting.serving.Worker"
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))  # HTTP, not WebSockets
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("THREADS", "32"))
graceful_timeout = 5
# No control socket (gunicorn 25.1+: ~/.gunicorn/gunicorn.ctl, or under $XDG_RUNTIME_DIR): one
# path for every server of the user, each taking it from the last and the first to stop
# deleting it; nothing here uses gunicornc. Stop with SIGTERM, reload with SIGHUP.
control_socket_disable = True
# Credentials redacted from the logs; gunicorn's own errors (a URL over 4 KB: 414) in JSON.
logger_class = gunicorn_output.RedactingLogger
gunicorn_output.answer_errors_in_json()


def post_worker_init(worker):
    # Start the matcher (and later the dispatcher) in the serving process, not the arbiter.
    from alerting import workers as background

    background.start(worker.wsgi)
    # Everything loaded so far (Flask, SQLAlchemy, the app) lives as long as the process:
    # keep it out of the garbage collector's full collections, which otherwise walk all of
    # it (over 100 ms on a small machine) with every thread stopped.
    gc.freeze()


def on_starting(server):
    # A bad ALERTING_* value stops the server here, in one line naming it, before any worker
    # boots (each would print a traceback of its own).
    try:
        settings.load()
    except settings.SettingsError as exc:
        sys.exit(f"alerting: {exc}")
    # Metrics of processes from an earlier run are no longer summed (alerting/metrics.py).
    metrics.remove_dead_processes()


def child_exit(server, worker):
    # A worker that ended no longer counts in the live gauges (open WebSockets).
    metrics.process_ended(worker.pid)
