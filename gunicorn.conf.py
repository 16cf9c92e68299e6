"""gunicorn settings for `make run`: threads (flask-sock needs them), workers started per process."""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("THREADS", "32"))
graceful_timeout = 5


def post_worker_init(worker):
    # Start the matcher (and later the dispatcher) in the serving process, not the arbiter.
    from alerting import workers as background

    background.start(worker.wsgi)
