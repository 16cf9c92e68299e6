"""API keys: the body of POST /api/keys (and of the keys page's form)."""

from __future__ import annotations

from typing import Annotated

from .common import Body, Says, choice, text

SCOPES = ("admin", "ingest", "read", "metrics")
MAX_KEY_NAME = 100
_LENGTH = f"must be 1 to {MAX_KEY_NAME} characters"


class KeyCreate(Body):
    """A new key: a name to recognise it by and what it may do (read by default)."""

    name: Annotated[text(MAX_KEY_NAME), Says({"string_too_short": _LENGTH,
                                              "string_too_long": _LENGTH})]
    scope: Annotated[choice(SCOPES, exact=True), Says({"string_type": "must be a string"})] = "read"
