"""API keys: the body of POST /api/keys (and of the keys page's form)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from .common import Body, refuse, storable

SCOPES = ("admin", "ingest", "read", "metrics")
MAX_KEY_NAME = 100


def _key_name(value: Any) -> str:
    if not isinstance(value, str):
        raise refuse("must be a string")
    name = value.strip()
    if not name or len(name) > MAX_KEY_NAME:
        raise refuse(f"must be 1 to {MAX_KEY_NAME} characters")
    return storable(name)


def _scope(value: Any) -> str:
    if not isinstance(value, str):
        raise refuse("must be a string")
    if value not in SCOPES:
        raise refuse("must be one of " + ", ".join(SCOPES))
    return value


class KeyCreate(Body):
    """A new key: a name to recognise it by and what it may do (read by default)."""

    name: Annotated[str, BeforeValidator(_key_name)]
    scope: Annotated[str, BeforeValidator(_scope)] = "read"
