"""Settings: defaults here, each overridable by an ALERTING_* environment variable."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _seconds_list(value: str) -> list[float]:
    return [float(part) for part in _list(value)]


# Delay before each retry of a failed delivery, in seconds (jittered by up to 20 %): about
# 9 hours from the first try to the last. A delivery still failing after the last is dead.
DEFAULT_RETRY_SCHEDULE = [10, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200, 14400]


# name -> (default, parser). The environment variable is ALERTING_<name>.
SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    "TIMEZONE": ("UTC", str),
    "AUTH": (True, _bool),
    "BOOTSTRAP_API_KEY": (None, str),
    "ADMIN_PASSWORD": (None, str),
    "INPROCESS_WORKERS": (True, _bool),
    "REDIS_URL": (None, str),
    # Open WebSockets (/ws/events, /ws/videodb) a process accepts, in all and per API key or
    # user; past either a new one is closed with code 1013 (try again later).
    "LIVE_MAX_CONNECTIONS": (2000, int),
    "LIVE_MAX_PER_PRINCIPAL": (200, int),
    "MAX_CONTENT_LENGTH": (4 * 1024 * 1024, int),
    "LOG_LEVEL": ("INFO", str),
    "PASSWORD_HASH_METHOD": ("scrypt", str),
    "TRUST_PROXY": (False, _bool),
    # Rate limits (limits syntax, e.g. "10 per minute"; several separated by ";").
    "RATE_LIMIT_LOGIN": ("10 per minute", str),
    "RATE_LIMIT_INGEST": ("100 per second", str),
    # Notification defaults (spec: GET /api/notification/config). The settings page may
    # change them later; these are the initial values.
    "NOTIFICATIONS_ENABLED": (True, _bool),
    "SMTP_HOST": (None, str),
    "SMTP_PORT": (587, int),
    "SMTP_USERNAME": (None, str),
    "SMTP_PASSWORD": (None, str),
    "SMTP_FROM_ADDRESS": (None, str),
    "SMTP_USE_TLS": (True, _bool),
    "SMTP_USE_SSL": (False, _bool),
    "SMTP_TIMEOUT_SECONDS": (10, int),
    "EMAIL_RECIPIENTS": ([], _list),
    "WEBHOOK_URL": (None, str),
    "WEBHOOK_TIMEOUT_SECONDS": (30, int),
    "WEBHOOK_ALLOW_CIDRS": ([], _list),
    "WEBHOOK_SECRET": (None, str),
    "PUSH_URLS": ([], _list),
    "MATCH_BATCH_SIZE": (500, int),
    # Delivery: retries, concurrency, leases.
    "RETRY_SCHEDULE": (DEFAULT_RETRY_SCHEDULE, _seconds_list),
    "DISPATCH_CONCURRENCY": (32, int),
    "DISPATCH_PER_TARGET": (8, int),
    "DELIVERY_LEASE_SECONDS": (120, int),
}


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting, parsed from ALERTING_* variables where set, else its default."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = environ.get(f"ALERTING_{name}")
        if raw is None or raw == "":
            values[name] = default
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise ValueError(f"ALERTING_{name}: {exc}") from exc
    return values


# A send's deadline may be at most this share of the delivery lease: a claimed delivery may
# wait behind one send of its target, then make its own, and must be recorded before its
# lease ends, or another dispatcher claims it and it is sent twice at the same time.
SEND_SHARE_OF_LEASE = 0.4


def check(values: dict[str, Any]) -> None:
    """Settings that must agree with each other; ValueError naming both otherwise."""
    lease, timeout = values["DELIVERY_LEASE_SECONDS"], values["WEBHOOK_TIMEOUT_SECONDS"]
    if lease <= 2 * timeout:
        raise ValueError(
            f"ALERTING_DELIVERY_LEASE_SECONDS ({lease}) must be longer than twice "
            f"ALERTING_WEBHOOK_TIMEOUT_SECONDS ({timeout}): a delivery waits for at most one "
            "send before its own, and one still sending when its lease ends is claimed and "
            "sent again at the same time")


def send_deadline(timeout: float, lease: float) -> float:
    """The webhook deadline to use: `timeout`, cut to SEND_SHARE_OF_LEASE of the lease when a
    stored timeout is longer than the lease allows."""
    return float(timeout) if 2 * timeout < lease else SEND_SHARE_OF_LEASE * lease


def instance_secret_key(instance_path: str) -> str:
    """The secret key kept in instance/, generated on first use (mode 0600)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def default_database_url(instance_path: str) -> str:
    """A SQLite file under instance/."""
    return "sqlite:///" + str(Path(instance_path) / "alerting.db")
