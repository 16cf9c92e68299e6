"""Encryption at rest for secrets the app must use again (SMTP password, webhook secret)."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


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
    """The clear value, or None when nothing is stored or the secret key has changed."""
    if not token:
        return None
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def encrypt_list(values: list[str]) -> str | None:
    return encrypt(json.dumps(values)) if values else None


def decrypt_list(token: str | None) -> list[str]:
    clear = decrypt(token)
    return json.loads(clear) if clear else []
