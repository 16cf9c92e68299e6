"""Login sessions kept on the server, so that they can be ended before their cookie expires.

The signed cookie carries a random token; the table keeps its SHA-256 hash (a copy of the
table alone logs no one in). A token is good while its row is not revoked, its user still
exists and it is younger than the session lifetime (PERMANENT_SESSION_LIFETIME). Logout ends
that session; a password change ends every other one; an admin ends all of a user's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..models import User, UserSession, utcnow
from ..storage import write_transaction
from . import audit
from .keys import hash_key

# last_seen_at is written at most this often per session, so a page view is not a write.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionUser:
    """Who a valid session token belongs to."""

    session_id: int
    user_id: int
    username: str
    must_change_password: bool
    timezone: str | None = None  # the IANA zone the pages show times in; None: the browser's


def _lifetime() -> timedelta:
    return current_app.permanent_session_lifetime  # Flask keeps it a timedelta


def start(user: User) -> str:
    """Open a session for the user; returns the token the cookie carries. Sessions past their
    lifetime are deleted here, so the table holds about one row a login of the last 31 days."""
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(UserSession)
                       .where(UserSession.created_at < utcnow() - _lifetime()))
    row = UserSession(user_id=user.id, token_hash=hash_key(token))
    db.session.add(row)
    db.session.flush()
    audit.record(f"user:{user.username}", "session_start", "user", user.id, {"session": row.id})
    db.session.commit()
    return token


def lookup(token: str | None) -> SessionUser | None:
    """The user of a live session token, or None (unknown, ended, expired)."""
    if not token or not isinstance(token, str):
        return None
    now = utcnow()
    row = db.session.execute(
        select(UserSession.id, UserSession.created_at, UserSession.last_seen_at,
               User.id, User.username, User.must_change_password, User.timezone)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_key(token), UserSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    session_id, created_at, last_seen_at, user_id, username, must_change, timezone = row
    if now - created_at > _lifetime():
        return None
    if now - last_seen_at >= LAST_SEEN_RESOLUTION:
        # Through the process's writer, as API keys' last use is (services/keys.py).
        with write_transaction() as conn:
            conn.execute(update(UserSession).where(UserSession.id == session_id)
                         .values(last_seen_at=now))
    return SessionUser(session_id, user_id, username, bool(must_change), timezone)


def end(token: str | None) -> None:
    """End one session (logout). Unknown or already-ended tokens are ignored."""
    if not token or not isinstance(token, str):
        return
    found = db.session.execute(
        select(UserSession.id, User.id, User.username).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_key(token), UserSession.revoked_at.is_(None))
    ).first()
    if found is None:
        return
    session_id, user_id, username = found
    db.session.execute(update(UserSession)
                       .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    audit.record(f"user:{username}", "session_end", "user", user_id, {"session": session_id})
    db.session.commit()


def end_all(user_id: int, actor: str, *, keep_token: str | None = None) -> int:
    """End every open session of a user, except the one whose token is `keep_token`.
    Returns how many were ended."""
    statement = (update(UserSession)
                 .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                 .values(revoked_at=utcnow()))
    if keep_token:
        statement = statement.where(UserSession.token_hash != hash_key(keep_token))
    ended = db.session.execute(statement).rowcount or 0
    audit.record(actor, "sessions_end", "user", user_id, {"ended": ended},
                 changes=audit.diff({"open_sessions": ended}, {"open_sessions": 0})
                 if ended else None)
    db.session.commit()
    return ended


def open_counts() -> dict[int, int]:
    """Open (not ended, not expired) sessions per user id."""
    since = utcnow() - _lifetime()
    rows = db.session.execute(
        select(UserSession.user_id, func.count())
        .where(UserSession.revoked_at.is_(None), UserSession.created_at > since)
        .group_by(UserSession.user_id))
    return {user_id: count for user_id, count in rows}
