"""The SQL statements an app runs during a block: what a test counts to pin a query budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def executed(app) -> Iterator[list[tuple[str, bool]]]:
    """(statement with its whitespace collapsed, whether an executemany) for each statement
    the app's engine runs inside the block."""
    from alerting.extensions import db

    seen: list[tuple[str, bool]] = []

    def hook(_conn, _cursor, statement, _params, _context, many):
        seen.append((" ".join(statement.split()), many))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)
