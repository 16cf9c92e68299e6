"""Settings: typed defaults here, each overridable by an ALERTING_* environment variable."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from limits import parse_many
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "ALERTING_"
# A page user's password: its length, on the password form and in ALERTING_ADMIN_PASSWORD.
PASSWORD_MIN, PASSWORD_MAX = 10, 200


class SettingsError(ValueError):
    """A setting's value that does not parse; the message names its variable."""


def _split(value: Any) -> Any:
    """A comma-separated variable as a list (a list given in code is kept)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _networks(values: list[str]) -> list[str]:
    """Address ranges (CIDR), each one ipaddress can read."""
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an address range such as 10.0.0.0/8") from None
    return values


def _zone(name: str) -> str:
    """An IANA timezone name zoneinfo can load."""
    try:
        if name.startswith("/") or ".." in name:
            raise ValueError(name)
        ZoneInfo(name)
    except Exception:  # ZoneInfoNotFoundError, ValueError, OSError (a directory), ...
        raise ValueError("must be an IANA timezone name such as Europe/Paris") from None
    return name


def _mqtt_url(url: str | None) -> str | None:
    """mqtt://[user:pass@]host[:port] or mqtts://..."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise ValueError("must be mqtt://[user:pass@]host[:port] or mqtts://...") from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("must be mqtt://[user:pass@]host[:port] or mqtts://...")
    return url


def _mode_topic(topic: str) -> str:
    """A plain topic (no wildcards); empty: no mode command topic."""
    topic = topic.strip()
    if "+" in topic or "#" in topic:
        raise ValueError("must be a topic without wildcards (+, #), or empty")
    return topic


def _http_url_or_none(value: Any, example: str = "http://frigate.lan:5000") -> Any:
    """An absolute http(s) URL with a host, without a trailing slash; blank is unset."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parts = urlsplit(str(value).strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http or https URL such as {example}")
    return str(value).strip().rstrip("/")


def _public_url(value: Any) -> Any:
    return _http_url_or_none(value, "https://alerts.example.com")


Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[int, Field(ge=1)]
Zone = Annotated[str, AfterValidator(_zone)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split)]
Networks = Annotated[list[str], NoDecode, BeforeValidator(_split), AfterValidator(_networks)]
SecondsList = Annotated[list[Annotated[float, Field(ge=0)]], NoDecode, BeforeValidator(_split)]

# Delay before each retry of a failed delivery, in seconds (jittered by up to 20 %): about
# 9 hours from the first try to the last. A delivery still failing after the last is dead.
DEFAULT_RETRY_SCHEDULE = [10, 30, 60, 120, 300, 600, 1200, 2400, 3600, 7200, 14400]

# A send's deadline may be at most this share of the delivery lease: a claimed delivery may
# wait behind one send of its target, then make its own, and must be recorded before its
# lease ends, or another dispatcher claims it and it is sent twice at the same time.
SEND_SHARE_OF_LEASE = 0.4


def _log_level(name: str) -> str:
    """A logging level's name, any case."""
    level = name.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _hash_method(method: str) -> str:
    """What werkzeug's generate_password_hash takes: scrypt[:n:r:p] or pbkdf2[:hash[:rounds]]."""
    name, *args = method.split(":")
    if name == "scrypt":
        valid = not args or (len(args) == 3 and all(arg.isdigit() for arg in args))
    elif name == "pbkdf2":
        valid = len(args) <= 2 and (not args or args[0] in hashlib.algorithms_available) \
            and (len(args) < 2 or args[1].isdigit())
    else:
        valid = False
    if not valid:
        raise ValueError("must be scrypt, scrypt:N:r:p, pbkdf2, pbkdf2:HASH or "
                         "pbkdf2:HASH:ITERATIONS (e.g. pbkdf2:sha256:600000)")
    return method


def _database_url(url: str | None) -> str | None:
    """A URL SQLAlchemy can read (the dialect is checked when it connects)."""
    if url is not None:
        try:
            make_url(url)
        except ArgumentError:
            raise ValueError("must be a SQLAlchemy URL such as "
                             "postgresql+psycopg://user@host/db or sqlite:////path/to/file.db"
                             ) from None
    return url


def _redis_url(url: str | None) -> str | None:
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must be redis://host:6379/0, rediss://... or unix://...")
    return url


def _rate_limit(text: str) -> str:
    """What limits reads ("10 per minute", several separated by ";"): checked at start-up,
    not by the first limited request."""
    try:
        parse_many(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a limit such as '10 per minute' ({exc})") from None
    return text


def _vapid_subject(value: str) -> str:
    """RFC 8292's contact: a mailto: or https: URI."""
    if not value.startswith(("mailto:", "https://")):
        raise ValueError("must be a mailto: or https:// URI, e.g. mailto:admin@example.org")
    return value


def _vapid_key(value: str) -> str:
    """A key web push can sign with, checked at start-up rather than at the first push."""
    from .notify.webpush import vapid_key  # (cryptography: loaded only when a key is set)

    try:
        vapid_key(value)
    except (ValueError, TypeError):
        raise ValueError("is not a VAPID private key: give the PEM (-----BEGIN ...), or the "
                         "raw key base64url-encoded, e.g. from `vapid --gen`") from None
    return value


class Settings(BaseSettings):
    """Every setting; the environment variable is ALERTING_<name>. An empty one is unset."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, case_sensitive=True,
                                      env_ignore_empty=True, extra="ignore")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   *_others: PydanticBaseSettingsSource,
                                   **_named: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The values given, then the environment: no .env file and no secrets folder are
        read (none is configured, and asking each again took half of a load)."""
        return (init_settings, env_settings)

    DATABASE_URL: Annotated[str | None, AfterValidator(_database_url)] = None
    SECRET_KEY: str | None = None
    # Earlier secret keys, comma-separated, still accepted (never used to sign): sessions
    # (Flask's SECRET_KEY_FALLBACKS) and action links keep working across a key rotation.
    SECRET_KEY_FALLBACKS: CommaList = []
    # The address people and receivers reach this server at (e.g. https://alerts.example.com):
    # the links in notifications (open the alert, acknowledge, snooze, signed media links) are
    # built on it, unset none are sent; digests' links start with it, unset they are paths.
    # The simulator's default target and the keys page's example request use it too, unset
    # http://127.0.0.1:$PORT (config.public_url).
    PUBLIC_URL: Annotated[str | None, BeforeValidator(_public_url)] = None
    # How long a notification's action link (services/action_links.py) stays valid.
    ACTION_LINK_SECONDS: Seconds = 7 * 24 * 3600
    TIMEZONE: Zone = "UTC"
    AUTH: bool = True
    BOOTSTRAP: bool = True  # create the admin user and the bootstrap key at start-up
    BOOTSTRAP_API_KEY: str | None = None
    # The first admin's password, kept as it is (not asked to be changed at the first login).
    ADMIN_PASSWORD: Annotated[str | None, Field(min_length=PASSWORD_MIN,
                                                max_length=PASSWORD_MAX)] = None
    INPROCESS_WORKERS: bool = True
    REDIS_URL: Annotated[str | None, AfterValidator(_redis_url)] = None
    # Open WebSockets (/ws/events, /ws/videodb) a process accepts, in all and per API key or
    # user; past either a new one is closed with code 1013 (try again later).
    LIVE_MAX_CONNECTIONS: Count = 2000
    LIVE_MAX_PER_PRINCIPAL: Count = 200
    MAX_CONTENT_LENGTH: Count = 4 * 1024 * 1024
    LOG_LEVEL: Annotated[str, AfterValidator(_log_level)] = "INFO"
    PASSWORD_HASH_METHOD: Annotated[str, AfterValidator(_hash_method)] = "scrypt"
    TRUST_PROXY: bool = False
    # Rate limits (limits syntax, e.g. "10 per minute"; several separated by ";").
    RATE_LIMIT_LOGIN: Annotated[str, AfterValidator(_rate_limit)] = "10 per minute"
    RATE_LIMIT_INGEST: Annotated[str, AfterValidator(_rate_limit)] = "100 per second"
    # Notification defaults (GET /api/notification/config). The settings page may change
    # them later; these are the initial values.
    NOTIFICATIONS_ENABLED: bool = True
    SMTP_HOST: str | None = None
    SMTP_PORT: Annotated[int, Field(ge=1, le=65535)] = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM_ADDRESS: str | None = None
    SMTP_USE_TLS: bool = True
    SMTP_USE_SSL: bool = False
    SMTP_TIMEOUT_SECONDS: Seconds = 10
    EMAIL_RECIPIENTS: CommaList = []
    WEBHOOK_URL: str | None = None
    WEBHOOK_TIMEOUT_SECONDS: Seconds = 30
    WEBHOOK_ALLOW_CIDRS: Networks = []
    WEBHOOK_SECRET: str | None = None
    PUSH_URLS: CommaList = []
    # Web push to browsers (notify/webpush.py): the VAPID private key (PEM, or the raw key
    # base64url-encoded) and the contact the push services see. Unset key: one is generated
    # at first use and stored encrypted (services/webpush.py).
    VAPID_PRIVATE_KEY: Annotated[str, AfterValidator(_vapid_key)] | None = None
    VAPID_SUBJECT: Annotated[str, AfterValidator(_vapid_subject)] = "mailto:alerting@localhost"
    MATCH_BATCH_SIZE: Count = 500
    # Client addresses that may read /metrics with no key (a Prometheus server).
    METRICS_ALLOW_CIDRS: Networks = []
    # The default Frigate instance's base URL (e.g. http://frigate.lan:5000): media links of
    # its events are built from it, and the media route may fetch from its host.
    FRIGATE_URL: Annotated[str | None, BeforeValidator(_http_url_or_none)] = None
    # The media route (/media/events/<id>/...): what it fetches from a detector at most, how
    # long it waits for all of it, and how long it keeps it in the process (0: not at all).
    MEDIA_MAX_BYTES: Count = 50 * 1024 * 1024
    MEDIA_TIMEOUT_SECONDS: Seconds = 10
    MEDIA_CACHE_SECONDS: Annotated[int, Field(ge=0)] = 60
    # Notifications (notify/media.py): with PUBLIC_URL set, how long a signed media link is
    # valid, and the snapshot an email or push carries: at most this many bytes, fetched
    # within this many seconds, else sent without it.
    MEDIA_LINK_SECONDS: Seconds = 24 * 3600
    NOTIFY_SNAPSHOT_MAX_BYTES: Count = 2 * 1024 * 1024
    NOTIFY_SNAPSHOT_TIMEOUT_SECONDS: Seconds = 5
    # Camera health: a camera silent this long is shown offline; how often it is checked
    # (and camera_offline rules run).
    CAMERA_OFFLINE_SECONDS: Seconds = 300
    CAMERA_CHECK_SECONDS: Annotated[float, Field(gt=0)] = 5.0
    # Tracks (engine/tracks.py): a track whose source sends no `end` (HTTP track_id) ends
    # after this long without a message; the track timer's safety-net poll for timers set
    # by other processes (its own wake it at once).
    TRACK_TIMEOUT_SECONDS: Seconds = 60
    # How long an ended track is kept (the event page's and the rule test's track facts, and
    # a late message of it staying ended), then pruned by the track timer.
    TRACK_RETENTION_SECONDS: Seconds = 7 * 24 * 3600
    TRACK_POLL_SECONDS: Annotated[float, Field(gt=0)] = 5.0
    # History kept (services/retention.py, pruned by the track timer): events with their
    # detections, alerts and deliveries, notification groups and digests, for this many days
    # after the event was received; the audit log for its own. 0 keeps them for ever.
    # /api/health says "degraded" (`stalled`) when an event has waited for matching, or a due
    # delivery for its attempt, longer than this: the loops are not running anywhere.
    HEALTH_LAG_SECONDS: Seconds = 120
    EVENT_RETENTION_DAYS: Annotated[int, Field(ge=0)] = 90
    AUDIT_RETENTION_DAYS: Annotated[int, Field(ge=0)] = 365
    # Delivery: retries, concurrency, leases.
    RETRY_SCHEDULE: SecondsList = DEFAULT_RETRY_SCHEDULE
    DISPATCH_CONCURRENCY: Count = 32
    DISPATCH_PER_TARGET: Count = 8
    DELIVERY_LEASE_SECONDS: Seconds = 120
    # MQTT in (alerting/ingest/): the broker (mqtt:// or mqtts://, user:pass@ allowed), the
    # client id of this deployment's one subscriber, the Frigate instances' topic prefixes,
    # and topics whose payload is our own event JSON. In-process: the web process runs the
    # subscriber (off: run `flask mqtt` once per deployment instead).
    MQTT_URL: Annotated[str | None, AfterValidator(_mqtt_url)] = None
    MQTT_CLIENT_ID: str = "alerting"
    MQTT_INPROCESS: bool = True
    FRIGATE_PREFIXES: CommaList = ["frigate"]
    MQTT_TOPICS: CommaList = []
    # The arming-mode command topic (payload: a mode's name); the current mode is published,
    # retained, on its `.../state` sibling (ingest/modes.py). Empty: none.
    MQTT_MODE_TOPIC: Annotated[str, AfterValidator(_mode_topic)] = "alerting/mode/set"

    @model_validator(mode="after")
    def _lease_outlasts_two_sends(self) -> Settings:
        lease, timeout = self.DELIVERY_LEASE_SECONDS, self.WEBHOOK_TIMEOUT_SECONDS
        if lease <= 2 * timeout:
            raise ValueError(
                f"ALERTING_DELIVERY_LEASE_SECONDS ({lease}) must be longer than twice "
                f"ALERTING_WEBHOOK_TIMEOUT_SECONDS ({timeout}): a delivery waits for at most "
                "one send before its own, and one still sending when its lease ends is "
                "claimed and sent again at the same time")
        return self


class _FromMapping(Settings):
    """Settings read from the values given (a mapping of ALERTING_* names), not os.environ."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   *_others: PydanticBaseSettingsSource,
                                   **_named: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def load(environ: Mapping[str, str] | None = None,
         overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every setting: `overrides` (by name, from code), else the ALERTING_* variable of
    `environ` (default os.environ), else its default. SettingsError naming the variable."""
    known = {name: value for name, value in (overrides or {}).items()
             if name in Settings.model_fields}
    try:
        if environ is None:
            settings = Settings(**known)
        else:
            given = {name[len(PREFIX):]: raw for name, raw in environ.items()
                     if name.startswith(PREFIX) and raw != ""
                     and name[len(PREFIX):] in Settings.model_fields}
            settings = _FromMapping(**{**given, **known})
    except ValidationError as exc:
        raise SettingsError("; ".join(_problem(error) for error in exc.errors())) from None
    return settings.model_dump()


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting, parsed from ALERTING_* variables where set, else its default."""
    return load(environ)


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a check across settings: its message names them
        return message
    return f"{PREFIX}{error['loc'][0]}: {message}"


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


def public_url(config: dict) -> str:
    """The instance's address: ALERTING_PUBLIC_URL, else http://127.0.0.1:$PORT (or :8000)."""
    if config.get("PUBLIC_URL"):
        return str(config["PUBLIC_URL"]).rstrip("/")
    port = os.environ.get("PORT", "").strip()
    return f"http://127.0.0.1:{port if port.isdigit() else 8000}"
