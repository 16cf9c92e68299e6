"""What gunicorn writes itself: credentials redacted from its access and error logs, and its
own error answers (a URL over limit_request_line: 414) in JSON like the app's.
These come before the app sees the request, so the app's error handler cannot answer them."""

from __future__ import annotations

import json
import re

from gunicorn import glogging, util

from . import redaction
from .errors import code_for

# Request headers (and their environ forms) an access log format may name, e.g.
# %({x-access-token}i)s: their values are credentials, whatever they look like.
_SECRET_HEADER = re.compile(r"(?i)^\{(?:http_)?[\w-]*(?:auth|token|cookie|key|secret|password)"
                            r"[\w-]*\}[ie]$")


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, every line redacted (alerting.redaction), credential headers too."""

    def setup(self, cfg) -> None:
        redaction.install()
        super().setup(cfg)

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in atoms:
            if _SECRET_HEADER.match(name):
                atoms[name] = redaction.REDACTED
        return atoms


def _write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps({"error": code_for(status_int),
                       "message": redaction.redact(mesg or reason)}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def answer_errors_in_json() -> None:
    """gunicorn's own error answers in the app's JSON shape instead of an HTML page. They
    come before the request line is parsed, so there is no path to tell an API client from a
    browser; the clients sending over-long or malformed requests are programs anyway."""
    util.write_error = _write_json_error
