"""Integration settings (GET/PUT /api/integrations, the Integrations page) and a connection
test (POST /api/integrations/test): the MQTT connection and the Frigate instances."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field
from typing_extensions import TypedDict

from ..config import _http_url_or_none, _mqtt_url
from .common import (
    NO_NUL,
    Body,
    Says,
    TextList,
    checked,
    choice,
    integer,
    null_means,
    optional_text,
    refuse,
    text,
)

URL_SAYS = "must be mqtt://[user:pass@]host[:port] or mqtts://..."
HTTP_SAYS = ("must be an http or https URL such as http://frigate.lan:5000, without "
             "user:pass@ (credentials go in username and password)")


def _checked_by(check: Any, message: str) -> Any:
    def run(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or len(value) > 2048 or "\x00" in value:
            raise refuse(message)
        try:
            return check(value.strip())
        except ValueError:
            raise refuse(message) from None
    return run


MqttUrl = checked(_checked_by(_mqtt_url, URL_SAYS),
                  {"type": ["string", "null"], "maxLength": 2048, "description": URL_SAYS},
                  Any)
def _frigate_url(value: str) -> str | None:
    """An http(s) base URL without credentials: those go in `username` and `password`,
    stored encrypted (a URL is shown and put in every event's links)."""
    url = _http_url_or_none(value)
    if url is not None and "@" in urlsplit(url).netloc:
        raise ValueError(HTTP_SAYS)
    return url


FrigateUrl = checked(_checked_by(_frigate_url, HTTP_SAYS),
                     {"type": ["string", "null"], "maxLength": 2048, "description": HTTP_SAYS},
                     Any)
# A topic prefix: no MQTT wildcards, no leading or trailing slash.
Prefix = Annotated[text(120, "a topic prefix such as frigate"),
                   Field(pattern=r"^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$"),
                   Says(default="must be a topic prefix such as frigate (no + # or "
                                "leading/trailing /)")]
Password = Annotated[null_means(None, Annotated[str, Field(max_length=512, pattern=NO_NUL)]
                                | None),
                     Says(default="must be a string of at most 512 characters")]


class FrigateInstanceIn(Body):
    """One Frigate instance: its MQTT topic prefix, its HTTP API's base URL (media and
    backfill), optional credentials (HTTP basic auth; the password is write-only: left out,
    the stored one is kept)."""

    WHAT: ClassVar[str] = "an object with prefix and base_url"

    prefix: Prefix
    base_url: FrigateUrl = None
    username: optional_text(255) = None
    password: Password = None


class MqttIn(Body):
    """The MQTT connection: the broker URL (credentials allowed, stored encrypted, never
    shown), this deployment's client id, the generic JSON topics. A null field means the
    environment's value (ALERTING_MQTT_URL, ALERTING_MQTT_CLIENT_ID, ALERTING_MQTT_TOPICS)."""

    url: MqttUrl = None
    client_id: optional_text(255) = None
    topics: TextList(50, 255, empty=None) = None  # type: ignore[valid-type]


class IntegrationsUpdate(Body):
    """A partial update: `mqtt` and/or `frigate` (the whole list of instances; null: the
    environment's, ALERTING_FRIGATE_PREFIXES and ALERTING_FRIGATE_URL)."""

    mqtt: MqttIn | None = None
    frigate: Annotated[list[FrigateInstanceIn], Field(max_length=20)] | None = None


class IntegrationTest(Body):
    """Test a connection now. frigate: GET <base_url>/api/version and /api/config (the
    instance of `prefix` as stored when base_url is left out). mqtt: connect to `url` (the
    stored one when left out), subscribe to `<prefix>/#` for `seconds`, count what arrives."""

    kind: choice(("frigate", "mqtt"))
    prefix: Prefix = "frigate"  # type: ignore[assignment]
    base_url: FrigateUrl = None
    username: optional_text(255) = None
    password: Password = None
    url: MqttUrl = None
    seconds: integer(1, 10) = 2  # type: ignore[assignment]


# -- responses -------------------------------------------------------------------------------

class FrigateInstanceOut(TypedDict):
    prefix: str
    base_url: str | None
    username: str | None
    password_set: bool


class MqttOut(TypedDict):
    url: str | None  # credentials masked
    client_id: str
    topics: list[str]
    url_from: Literal["stored", "environment"]


class IntegrationsOut(TypedDict):
    """The effective settings (stored, else the environment's), secrets masked."""

    mqtt: MqttOut
    frigate: list[FrigateInstanceOut]
    frigate_from: Literal["stored", "environment"]
    updated_at: datetime | None


class IntegrationTestResult(TypedDict):
    """What the test saw. frigate: `version`, `cameras` (when /api/config answered).
    mqtt: `connected`, `messages` per topic kind (events, reviews, available, status,
    other)."""

    kind: str
    ok: bool
    message: str
    version: str | None
    cameras: list[str] | None
    connected: bool | None
    messages: dict[str, int] | None
