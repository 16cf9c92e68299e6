"""API keys: created once and shown once, stored as a SHA-256 hash, scoped, revocable."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from ..extensions import db
from ..models import ApiKey, utcnow
from ..schemas.common import validate
from ..schemas.keys import SCOPES as SCOPES  # re-exported: the pages and the API docs list them
from ..schemas.keys import KeyCreate
from ..storage import write_transaction
from . import audit

KEY_PREFIX = "ak_"
# last_used_at is written at most this often per key, so ingest does not write per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# A verified key is trusted for this long before the database is asked again. Revocation in
# this process clears it at once; other processes see a revocation within this window.
CACHE_SECONDS = 5.0


def hash_key(raw: str) -> str:
    """The stored form of a key. Keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, name and scope (or a logged-in user as admin)."""

    kind: str
    id: int | None
    name: str
    scope: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    def allows(self, needed: str) -> bool:
        """Admin may do anything; ingest only ingest; read only read; metrics only /metrics."""
        return self.scope == "admin" or self.scope == needed


@dataclass
class _Cached:
    principal: Principal
    checked: float
    last_used_written: datetime | None


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()
_TOUCH = (update(ApiKey.__table__).where(ApiKey.__table__.c.id == bindparam("key_id"))
          .values(last_used_at=bindparam("now")))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def create_key(name: str, scope: str, actor: str, raw: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key (which is never stored)."""
    request = validate(KeyCreate, {"name": name, "scope": scope})
    name, scope = request.name, request.scope
    raw = raw or KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, scope=scope, prefix=raw[:10], key_hash=hash_key(raw), created_by=actor)
    db.session.add(key)
    db.session.flush()
    audit.record(actor, "api_key_create", "api_key", key.id, {"name": name, "scope": scope},
                 changes=audit.diff({}, {"name": name, "scope": scope, "prefix": key.prefix}))
    db.session.commit()
    return key, raw


def revoke_key(key_id: int, actor: str) -> ApiKey | None:
    """Revoke a key; it stops working at once in this process."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(actor, "api_key_revoke", "api_key", key.id, {"name": key.name},
                     changes=audit.diff({}, {"revoked_at": key.revoked_at}))
        db.session.commit()
    _forget(key_id)
    return key


def delete_key(key_id: int, actor: str) -> bool:
    """Delete a key outright (a temporary key at the end of its run): it stops working at
    once in this process and leaves no row behind, only its audit entry."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        return False
    audit.record(actor, "api_key_delete", "api_key", key.id, {"name": key.name},
                 changes=audit.diff({"name": key.name, "scope": key.scope,
                                     "prefix": key.prefix}, {}))
    db.session.delete(key)
    db.session.commit()
    _forget(key_id)
    return True


def _forget(key_id: int) -> None:
    with _cache_lock:
        for raw_hash in [h for h, c in _cache.items() if c.principal.id == key_id]:
            del _cache[raw_hash]


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))


def authenticate(raw: str) -> Principal | None:
    """The principal for a raw key, or None when unknown or revoked."""
    digest = hash_key(raw)
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(digest)
    if cached is not None and now - cached.checked < CACHE_SECONDS:
        _touch(cached)
        return cached.principal
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or key.revoked_at is not None:
        with _cache_lock:
            _cache.pop(digest, None)
        return None
    entry = _Cached(Principal("key", key.id, key.name, key.scope), now, key.last_used_at)
    with _cache_lock:
        _cache[digest] = entry
    _touch(entry)
    return entry.principal


def _touch(entry: _Cached) -> None:
    current = utcnow()
    last = entry.last_used_written
    if last is not None and current - last < LAST_USED_RESOLUTION:
        return
    entry.last_used_written = current
    # Through the process's writer: on SQLite this queues behind ingest rather than sleeping
    # in the busy handler while the database is locked.
    with write_transaction() as conn:
        conn.execute(_TOUCH, {"key_id": entry.principal.id, "now": current})


def ensure_bootstrap_key(raw: str) -> None:
    """Make sure an admin key with exactly this value exists (for automation)."""
    digest = hash_key(raw)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None:
        create_key("bootstrap", "admin", "system", raw=raw)
    elif key.revoked_at is not None or key.scope != "admin":
        before = {"revoked_at": key.revoked_at, "scope": key.scope}
        key.revoked_at = None
        key.scope = "admin"
        audit.record("system", "api_key_restore", "api_key", key.id, {"name": key.name},
                     changes=audit.diff(before, {"revoked_at": None, "scope": "admin"}))
        db.session.commit()
