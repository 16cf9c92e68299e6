"""Who may call what: API keys with scopes for the JSON API, a login session for the pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from .errors import ApiError
from .services import keys, sessions

# Scope an endpoint needs when it does not say: reading needs `read`, changing needs `admin`.
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
ANONYMOUS_ADMIN = keys.Principal("anonymous", None, "auth-off", "admin")
# The cookie's key for the login session token (services/sessions.py).
SESSION_TOKEN = "sid"
# The one page a user who must change the printed password may see (logout needs no login).
PASSWORD_ENDPOINT = "web.password"


def auth_enabled() -> bool:
    return bool(current_app.config["AUTH"])


def scope(needed: str) -> Callable:
    """Mark a view as needing `needed` (for example `ingest` for posting events)."""

    def decorate(view: Callable) -> Callable:
        view.required_scope = needed  # type: ignore[attr-defined]
        return view

    return decorate


def public(view: Callable) -> Callable:
    """Mark a view as needing no credentials (health, the OpenAPI document)."""
    view.public = True  # type: ignore[attr-defined]
    return view


def presented_key() -> str | None:
    """The API key in `x-access-token`, or `Authorization: Bearer`."""
    token = request.headers.get("x-access-token")
    if token:
        return token.strip()
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_user() -> sessions.SessionUser | None:
    """The user of this request's login session, checked against the server's session table
    (once a request): a cookie whose session was ended is worth nothing."""
    if "session_user" not in g:
        g.session_user = sessions.lookup(session.get(SESSION_TOKEN))
    return g.session_user


def session_principal() -> keys.Principal | None:
    """A logged-in page user acts with admin scope."""
    user = session_user()
    if user is None:
        return None
    return keys.Principal("user", user.user_id, user.username, "admin")


def authenticate_api_request() -> None:
    """before_request for API blueprints: sets g.principal or raises 401/403."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "public", False):
        return
    if not auth_enabled():
        g.principal = ANONYMOUS_ADMIN
        return
    raw = presented_key()
    principal = keys.authenticate(raw) if raw else None
    if principal is None:
        raise ApiError(401, "unauthorized", "A valid API key is required (x-access-token header)")
    needed = getattr(view, "required_scope", None)
    if needed is None:
        needed = "read" if request.method in READ_METHODS else "admin"
    if not principal.allows(needed):
        raise ApiError(403, "forbidden", f"This key's scope '{principal.scope}' may not do this")
    g.principal = principal


def current_actor() -> str:
    """The audit label of whoever is acting in this request."""
    principal = getattr(g, "principal", None) or session_principal()
    return principal.label if principal else "anonymous"


def login_required(view: Callable) -> Callable:
    """Pages: redirect to the login page unless logged in (or auth is off), and to the
    password page while the password printed at first start is still the one in use."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if auth_enabled():
            user = session_user()
            if user is None:
                return redirect(url_for("web.login", next=request.full_path))
            if user.must_change_password and request.endpoint != PASSWORD_ENDPOINT:
                return redirect(url_for(PASSWORD_ENDPOINT))
        g.principal = session_principal() or ANONYMOUS_ADMIN
        return view(*args, **kwargs)

    return wrapped
