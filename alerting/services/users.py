"""Users who log in to the pages."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User, utcnow
from . import audit, sessions


def _hash(password: str) -> str:
    # scrypt by default; tests choose a cheap method so each test app is not 0.3 s of hashing.
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_user(username: str, password: str, *, must_change_password: bool = False,
                actor: str = "system") -> User:
    user = User(
        username=username,
        password_hash=_hash(password),
        must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user_create", "user", user.id, {"username": username},
                 changes=audit.diff({}, {"username": username, "password": "set",
                                         "must_change_password": must_change_password},
                                    secret_fields=("password",)))
    db.session.commit()
    return user


def check_login(username: str, password: str) -> User | None:
    """The user when the password is right, else None (same cost either way)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check so timing does not reveal usernames.
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def set_password(user: User, password: str, *, actor: str,
                 keep_token: str | None = None) -> None:
    """Set the password and end every session of the user but the one changing it (if any)."""
    user.password_hash = _hash(password)
    audit.record(actor, "password_change", "user", user.id, {"username": user.username},
                 changes=audit.diff({"password": "old", "must_change_password":
                                     user.must_change_password},
                                    {"password": "new", "must_change_password": False},
                                    secret_fields=("password",)))
    user.must_change_password = False
    # One commit (end_all's): a new password never stands while the old sessions survive.
    sessions.end_all(user.id, actor, keep_token=keep_token)


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def ensure_admin(password: str | None) -> str | None:
    """Create the `admin` user when no user exists. Returns the password if it was generated."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    create_user("admin", password, must_change_password=generated)
    return password if generated else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def set_timezone(user: User, name: str | None, *, actor: str) -> User:
    """The timezone the pages show this person's times in; blank or None: the browser's."""
    from ..schemas.account import parse_account_settings

    value = parse_account_settings({"timezone": name})["timezone"]
    before = user.timezone
    user.timezone = value
    audit.record(actor, "user_timezone", "user", user.id,
                 changes=audit.diff({"timezone": before}, {"timezone": value}))
    db.session.commit()
    return user
