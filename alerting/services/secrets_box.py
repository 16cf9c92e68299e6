"""Encryption at rest for secrets the app must use again (SMTP password, webhook secret)."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class UnreadableSecret(Exception):
    """A stored secret the current secret key cannot decrypt: the key changed or was lost."""


def _fernet() -> Fernet:
    # A Fernet key derived from the app's secret key (domain-separated from session signing).
    digest = hashlib.sha256(b"alerting/secrets-at-rest\0" + current_app.config[
        "SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(value: str | None) -> str | None:
    if value is None:
        return None
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str | None:
    """The clear value, or None when nothing is stored. UnreadableSecret when the secret key
    is not the one it was stored with: never None then, which would read as "no secret" and
    send webhooks unsigned."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret("a stored secret cannot be decrypted with the current secret "
                               "key (ALERTING_SECRET_KEY changed or was lost)") from None


def encrypt_list(values: list[str]) -> str | None:
    return encrypt(json.dumps(values)) if values else None


def decrypt_list(token: str | None) -> list[str]:
    clear = decrypt(token)
    return json.loads(clear) if clear else []
