"""Web push: a browser's subscription as the page posts it (PushSubscription.toJSON() plus
the filter), and the subscriptions and VAPID public key as answered."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from ..engine.vocabulary import SEVERITIES
from .common import MAX_URL, Body, choice, http_url, id_list, parser, refuse, text, validate
from .queries import Page
from .responses import Out, listing_model

# Base64url without padding, as PushSubscription.toJSON() gives the keys.
B64URL_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"


def _b64url(length: int) -> Any:
    """A base64url string whose decoded value is `length` bytes."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(B64URL_PATTERN, value.strip()):
            raise refuse("must be a base64url string")
        value = value.strip().rstrip("=")
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            raise refuse("must be a base64url string") from None
        if len(raw) != length:
            raise refuse(f"must decode to {length} bytes")
        return value

    return Annotated[str, BeforeValidator(check),
                     WithJsonSchema({"type": "string", "pattern": B64URL_PATTERN,
                                     "maxLength": 4 * length})]


class SubscriptionKeys(Body):
    """The subscription's keys: the browser's P-256 public key and its 16-byte auth secret."""

    WHAT: ClassVar[str] = "an object with p256dh and auth"

    p256dh: _b64url(65)
    auth: _b64url(16)


Endpoint = Annotated[str, BeforeValidator(http_url),
                     WithJsonSchema({"type": "string", "format": "uri", "maxLength": MAX_URL})]


def _expiration(value: Any) -> Any:
    """The browser's expirationTime (ignored): a number of milliseconds, or null."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                         and value == value and abs(value) != float("inf")):
        return value
    raise refuse("must be a number or null")


class SubscriptionCreate(Body):
    """POST /api/push/subscriptions: `endpoint` and `keys` as the browser's
    PushSubscription.toJSON() gives them (expirationTime is ignored); the device's `label`;
    the alerts it wants: `min_severity` and up (default low: all), `camera_ids` (null: all)."""

    endpoint: Endpoint
    keys: SubscriptionKeys
    expirationTime: Annotated[Any, BeforeValidator(_expiration), WithJsonSchema(  # noqa: N815
        {"type": ["number", "null"]})] = None  # the browser's name
    label: text(200) = "this device"
    min_severity: choice(SEVERITIES) = "low"
    camera_ids: id_list() = None


class Subscription(Out):
    id: int
    user: str | None
    endpoint_origin: str = Field(description="The push service (the endpoint's origin; the "
                                             "endpoint itself is a secret capability)")
    label: str
    min_severity: Literal[SEVERITIES]  # type: ignore[valid-type]
    camera_ids: list[str] | None
    created_by: str | None
    created_at: datetime
    last_success_at: datetime | None


SubscriptionList = listing_model("SubscriptionList", "subscriptions", Subscription)


class VapidPublicKey(Out):
    public_key: str = Field(description="base64url, the applicationServerKey to subscribe with")


def parse_subscription(payload: object) -> dict[str, Any]:
    """A subscription body, validated (422 naming each bad field)."""
    return validate(SubscriptionCreate, payload).model_dump(exclude={"expirationTime"})


parse_page = parser(Page)
