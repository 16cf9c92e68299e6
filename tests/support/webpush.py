"""A browser's side of web push, and a push service on loopback that speaks the protocol.

`BrowserKeys` is what a browser makes when it subscribes: a P-256 key pair and a 16-byte
auth secret. `PushService` is a real HTTP server (pytest-httpserver) taking RFC 8030 push
messages: it requires a TTL, `Content-Encoding: aes128gcm` and a VAPID `Authorization:
vapid t=<JWT>,k=<public key>` whose ES256 signature it verifies against k and whose `aud`
must be its own origin (RFC 8292); it decrypts each payload (RFC 8291) with the keys of
the subscription it was sent to, and answers 201, or the status a test set for that path
(410: the subscription is gone).
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BrowserKeys:
    """The keys of one subscription, as a browser makes them."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def subscription(self, endpoint: str, **extra: Any) -> dict[str, Any]:
        """PushSubscription.toJSON() (plus the app's filter fields in `extra`)."""
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}, **extra}

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth,
                                version="aes128gcm")


# A subscription body for tests that only store one (the audit test's address is allowed).
PUSH_SUBSCRIPTION = BrowserKeys().subscription("https://93.184.215.14/push/device-1",
                                               label="Phone")


class VapidRefused(Exception):
    """The request's VAPID authorization is missing or does not verify."""


def verify_vapid(header: str, audience: str) -> dict[str, Any]:
    """The claims of a `vapid t=...,k=...` Authorization, verified (ES256, aud, exp)."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRefused(f"not a vapid authorization: {scheme!r}")
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    token, key = values["t"], values["k"]
    head, claims, signature = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    raw = unb64url(signature)
    if len(raw) != 64:
        raise VapidRefused("an ES256 signature is 64 bytes (r || s)")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidRefused("the JWT's signature does not verify with k") from None
    if json.loads(unb64url(head)).get("alg") != "ES256":
        raise VapidRefused("alg must be ES256")
    found = json.loads(unb64url(claims))
    if found.get("aud") != audience:
        raise VapidRefused(f"aud {found.get('aud')!r} is not {audience!r}")
    if not found.get("exp") or found["exp"] < time.time() or found["exp"] > time.time() + 86400:
        raise VapidRefused("exp missing, past, or more than 24 hours ahead")
    if not str(found.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidRefused("sub must be a mailto: or https: contact")
    return {**found, "k": key}


@dataclass
class Pushed:
    """One push message the service took, decrypted."""

    path: str
    headers: dict[str, str]
    claims: dict[str, Any]
    payload: dict[str, Any]


@dataclass
class PushService:
    """The push service: subscriptions by path, what it received, what it refused."""

    server: HTTPServer
    devices: dict[str, BrowserKeys] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    received: list[Pushed] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def subscribe(self, name: str, **extra: Any) -> dict[str, Any]:
        """A new device subscribed at /push/<name>: its PushSubscription JSON."""
        keys = self.devices[name] = BrowserKeys()
        return keys.subscription(f"{self.origin}/push/{name}", **extra)

    def handle(self, request: Request) -> Response:
        name = request.path.rsplit("/", 1)[-1]
        try:
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise VapidRefused("Content-Encoding must be aes128gcm")
            if not request.headers.get("TTL", "").isdigit():
                raise VapidRefused("TTL header missing")
            claims = verify_vapid(request.headers.get("Authorization", ""), self.origin)
        except (VapidRefused, KeyError, ValueError) as exc:
            self.refused.append(str(exc))
            return Response(str(exc), status=401)
        if name in self.answers:
            return Response("gone" if self.answers[name] == 410 else "no",
                            status=self.answers[name])
        keys = self.devices.get(name)
        if keys is None:
            return Response("no such subscription", status=404)
        payload = json.loads(keys.decrypt(request.get_data()))
        self.received.append(Pushed(name, dict(request.headers), claims, payload))
        return Response("", status=201, headers={"Location": f"/messages/{len(self.received)}"})


def start_push_service() -> PushService:
    """A started push service on 127.0.0.1 (stop its `server` when done)."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    service = PushService(server)
    server.expect_request(re.compile(r"^/push/[^/]+$"), method="POST"
                          ).respond_with_handler(service.handle)
    return service
