"""Where a test's data lives: a fresh SQLite file by default, or, when
ALERTING_TEST_DATABASE_URL names a PostgreSQL database, a fresh schema in it (dropped after);
and the Redis server of ALERTING_TEST_REDIS_URL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

ENV = "ALERTING_TEST_DATABASE_URL"
REDIS_URL = os.environ.get("ALERTING_TEST_REDIS_URL", "")


def redis_reachable() -> bool:
    """Whether ALERTING_TEST_REDIS_URL names a Redis server that answers."""
    if not REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def postgres_base() -> str | None:
    url = os.environ.get(ENV, "").strip()
    return url if url.startswith("postgresql") else None


class TempDatabase:
    """One test's database: `url` for the app; `drop()` cleans up."""

    def __init__(self, tmp_path: Path, name: str = "test"):
        self.base = postgres_base()
        if self.base is None:
            self.schema = None
            self.url = f"sqlite:///{tmp_path / f'{name}.db'}"
            return
        self.schema = f"t_{uuid.uuid4().hex[:16]}"
        engine = create_engine(self.base)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        engine.dispose()
        separator = "&" if "?" in self.base else "?"
        # synchronous_commit off: test data need not survive a power cut, and commits are
        # most of what a test does.
        options = f"-csearch_path={self.schema} -csynchronous_commit=off"
        self.url = f"{self.base}{separator}options={quote(options)}"

    @property
    def kind(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    def drop(self) -> None:
        if self.schema is None:
            return
        engine = create_engine(self.base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        engine.dispose()


_pool: list[TempDatabase] = []


def acquire(tmp_path: Path, name: str) -> TempDatabase:
    """A database for an app fixture. On PostgreSQL, schemas are reused across tests: creating
    one and its tables costs about a second, emptying one with TRUNCATE a few milliseconds."""
    if postgres_base() is not None and _pool:
        return _pool.pop()
    return TempDatabase(tmp_path, name)


def release(database: TempDatabase, table_names: list[str]) -> None:
    """Empty the schema and keep it for the next test (SQLite files go with tmp_path)."""
    if database.schema is None:
        return
    engine = create_engine(database.url)
    try:
        with engine.begin() as conn:
            existing = set(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :schema"),
                {"schema": database.schema}).scalars())
            names = [n for n in table_names if n in existing]
            if names:
                quoted = ", ".join(f'"{n}"' for n in names)
                conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    _pool.append(database)


def drop_pool() -> None:
    while _pool:
        _pool.pop().drop()
