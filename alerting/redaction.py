"""Credentials out of every log line: query parameters named like tokens and keys, passwords
in URLs and Authorization-like values become [REDACTED] as each log record is made, before
any handler (the app's, gunicorn's access and error logs) formats or writes it."""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"
# A parameter whose name ends like a credential's: access_token, token, api_key, key, ...
_PARAMETER = re.compile(
    r"(?i)((?:^|(?<=[?&;\s\"'(]))[\w.\-]*(?:token|key|secret|password|passwd|auth|"
    r"authorization|signature|credentials?)=)[^&;#\s\"'<>]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@\"']*:)[^/\s@\"']+@")
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-access-token|x-api-key|cookie)(\"?'?\s*[:=]\s*\"?'?)"
    r"(?:(?:bearer|basic|digest)\s+)?[^\s\"',;]+")
# A notification's action link (/actions/<token>): the token acts without a login.
_ACTION_LINK = re.compile(r"(?i)((?:/|%2F)actions(?:/|%2F))[A-Za-z0-9_\-]+\.[A-Za-z0-9_.\-]+")
_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")


def redact(text: str) -> str:
    """`text` with every credential it shows replaced by [REDACTED]."""
    text = _PARAMETER.sub(rf"\1{REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    text = _HEADER.sub(rf"\1\2{REDACTED}", text)
    text = _ACTION_LINK.sub(rf"\1{REDACTED}", text)
    return _SCHEME_VALUE.sub(rf"\1 {REDACTED}", text)


def install() -> None:
    """Redact every log record this process makes, whoever logs it (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when it formats the record
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    make_record.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
