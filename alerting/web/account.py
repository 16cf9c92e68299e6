"""Login, logout, password change, and the home page."""

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from ..auth import SESSION_TOKEN, current_actor, login_required, session_user
from ..engine.errors import ValidationError
from ..extensions import db, limiter
from ..models import User
from ..schemas.common import timezone_names
from ..services import sessions, users, webpush
from . import bp
from .forms import PASSWORD_MAX, PASSWORD_MIN, LoginForm, PasswordForm


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if not target:
        return url_for("web.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("RATE_LIMIT_LOGIN", methods=["POST"])
def login():
    """Show the login form, or log in."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = users.check_login(form.username.data, form.password.data)
        if user is not None:
            session.clear()
            session[SESSION_TOKEN] = sessions.start(user)
            session["user_id"] = user.id
            session["username"] = user.username
            session.permanent = True
            if user.must_change_password:
                flash("You are using the password printed at first start: choose your own now.")
                return redirect(url_for("web.password"))
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong username or password"
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    """Log out: the session ends on the server too, so a copy of the cookie is worth nothing."""
    sessions.end(session.get(SESSION_TOKEN))
    session.clear()
    return redirect(url_for("web.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the logged-in user's password; every other session of the user ends."""
    form = PasswordForm()
    current = session_user()
    user = db.session.get(User, current.user_id) if current else None
    if user is None:
        return redirect(url_for("web.login"))
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash, form.current.data):
            form.current.errors = [*form.current.errors, "Wrong password"]
        else:
            users.set_password(user, form.new.data, actor=current_actor(),
                               keep_token=session.get(SESSION_TOKEN))
            flash("Password changed. Every other session of yours has been logged out.")
            return redirect(url_for("web.index"))
    subscriptions, _total = webpush.list_subscriptions()
    return render_template("password.html", form=form, user=user, password_min=PASSWORD_MIN,
                           password_max=PASSWORD_MAX, timezones=timezone_names(),
                           push_subscriptions=[webpush.subscription_dict(row)
                                               for row in subscriptions], **_people())


@bp.post("/account/timezone")
@login_required
def timezone():
    """Set (or clear: the browser's) the timezone the pages show times in."""
    current = session_user()
    user = db.session.get(User, current.user_id) if current else None
    if user is None:
        return redirect(url_for("web.login"))
    try:
        users.set_timezone(user, request.form.get("timezone"), actor=current_actor())
    except ValidationError as exc:
        flash(f"Time zone {exc.fields.get('timezone', 'is not valid')}.")
        subscriptions, _total = webpush.list_subscriptions()
        return render_template("password.html", form=PasswordForm(), user=user,
                               password_min=PASSWORD_MIN, password_max=PASSWORD_MAX,
                               timezones=timezone_names(),
                               push_subscriptions=[webpush.subscription_dict(row)
                                                   for row in subscriptions], **_people()), 422
    flash(f"Times are now shown in {user.timezone or 'your browser’s time zone'}.")
    return redirect(url_for("web.password"))


def _people() -> dict:
    """The users and their open sessions, for the account page's "log out everywhere"."""
    return {"people": users.list_users(), "open_sessions": sessions.open_counts()}


@bp.post("/account/users/<id:user_id>/sessions/end")
@login_required
def end_sessions(user_id: int):
    """End every session of a user (an admin's action; the current one too if it is theirs)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    ended = sessions.end_all(user.id, current_actor())
    flash(f"Logged out {ended} session(s) of {user.username}.")
    return redirect(url_for("web.password"))


@bp.get("/")
@login_required
def index():
    """The home page: the live alerts."""
    return redirect(url_for("web.live"))
