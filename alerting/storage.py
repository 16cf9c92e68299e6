"""Writing to the database: short write transactions (on SQLite through this process's one
writer connection, with its own checkpoint thread), and bulk inserts that return their ids."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Column, Connection, Engine, Insert, Table, delete, insert, select

from .extensions import db

log = logging.getLogger(__name__)

# Built once per table: a statement built per request costs more than running it.
_inserts: dict[tuple[Table, str], Insert] = {}

WRITER = "alerting.sqlite_writer"
_writer_guard = threading.Lock()


class _SqliteWriter:
    """This process's SQLite writer: one connection kept open, and the lock writers queue on.

    SQLite takes one writer at a time, and a writer that finds the database locked sleeps
    in SQLite's busy handler in steps of 1 to 100 ms. Writers of this process queue on the
    lock instead and start the moment the one before them commits; other processes still
    meet the busy timeout. Keeping the connection open also spares each write a pool
    checkout and the ORM session's bookkeeping.

    Checkpoints (copying the WAL into the database file, with an fsync) take 10 to 20 ms on
    a plain disk. Left to SQLite, the commit that takes the WAL past 1,000 pages runs one,
    inside the write lock, so every writer waits. This connection never checkpoints: a
    thread of its own does, every CHECKPOINT_SECONDS, beside the writers (a PASSIVE
    checkpoint blocks no one). Durability is unchanged.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Connection | None = None
        self.checkpointer: threading.Thread | None = None

    def connect(self, engine: Engine) -> Connection:
        connection = engine.connect()
        try:
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            connection.commit()
        except BaseException:  # not kept: the next writer connects again
            connection.close()
            raise
        if self.checkpointer is None or not self.checkpointer.is_alive():
            self.checkpointer = threading.Thread(
                target=_checkpoints, args=(weakref.ref(self), engine),
                name="alerting-checkpoint", daemon=True)
            self.checkpointer.start()
        self.connection = connection
        return connection


CHECKPOINT_SECONDS = 0.5


def _checkpoints(writer: weakref.ref[_SqliteWriter], engine: Engine) -> None:
    """Checkpoint the WAL now and then, for as long as the writer is in use."""
    while True:
        time.sleep(CHECKPOINT_SECONDS)
        if writer() is None:  # its app is gone
            return
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                connection.commit()
        except Exception:  # the next round tries again; SQLite would checkpoint anyway
            log.debug("WAL checkpoint failed", exc_info=True)


@contextmanager
def write_transaction() -> Iterator[Connection]:
    """A connection in a write transaction, committed on exit (rolled back on error).

    Keep it short: plain statements with their values ready. On SQLite it is this process's
    writer connection, held alone; elsewhere it is the session's connection and transaction
    (so row locks taken before with the session hold until the commit).
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        connection = db.session.connection()
        try:
            yield connection
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return
    app = current_app._get_current_object()
    writer = app.extensions.get(WRITER)
    if writer is None:
        with _writer_guard:
            writer = app.extensions.setdefault(WRITER, _SqliteWriter())
    with writer.lock:
        connection = writer.connection
        if connection is None or connection.closed or connection.invalidated:
            connection = writer.connect(engine)
        try:
            with connection.begin():
                yield connection
        except BaseException:
            if connection.invalidated:
                connection.close()
                writer.connection = None
            raise


def insert_returning_ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same keys) in as few statements as the driver allows and
    return their new ids in row order."""
    if len(rows) == 1:
        return [conn.execute(_statement(table, "one"), rows[0]).inserted_primary_key[0]]
    if conn.dialect.name == "sqlite":
        # SQLite leaves the order of RETURNING rows open, so SQLAlchemy would send one
        # statement per row to keep them in order. But SQLite gives each VALUES row, inserted
        # one after the other, a rowid above every earlier one (the table's largest + 1), and
        # nothing else writes meanwhile: sorted, the ids are in row order.
        return sorted(conn.execute(_statement(table, "many"), rows).scalars())
    return list(conn.execute(_statement(table, "ordered"), rows).scalars())


IN_LIMIT = 1000  # values one IN (...) names at most (the databases' bound-parameter limits)


def in_chunks(values: list[Any], size: int = IN_LIMIT) -> Iterator[list[Any]]:
    """`values` a statement's worth at a time."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def delete_older(column: Column, before: datetime, limit: int, *where: Any) -> int:
    """Delete up to `limit` rows of the column's table whose `column` is before `before`
    (and that meet `where`), oldest first, in one short write transaction (retention
    pruning; rows that reference them by a cascading foreign key go with them). On
    PostgreSQL rows another process holds are skipped, and a row is deleted only if it still
    qualifies when the delete reaches it. How many."""
    table = column.table
    [key] = table.primary_key.columns
    with write_transaction() as conn:
        query = select(key).where(column < before, *where).order_by(column).limit(limit)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(conn.execute(query).scalars())
        if not ids:
            return 0
        return conn.execute(delete(table).where(key.in_(ids), column < before)).rowcount


def _statement(table: Table, kind: str) -> Insert:
    statement = _inserts.get((table, kind))
    if statement is None:
        pk = table.primary_key.columns.values()[0]
        statement = insert(table)
        if kind != "one":
            statement = statement.returning(pk, sort_by_parameter_order=kind == "ordered")
        _inserts[table, kind] = statement
    return statement


def finish(commit: bool) -> None:
    """End a service's change: commit it, or (`commit=False`, inside a caller's transaction
    such as rules as code applying a file) only flush it."""
    if commit:
        db.session.commit()
    else:
        db.session.flush()
