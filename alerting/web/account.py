"""Login, logout, password change, and the home page."""

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from ..auth import login_required
from ..extensions import db, limiter
from ..models import User
from ..services import users
from . import bp
from .forms import LoginForm, PasswordForm


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
    """Log out."""
    session.clear()
    return redirect(url_for("web.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the logged-in user's password."""
    form = PasswordForm()
    user = db.session.get(User, session.get("user_id")) if session.get("user_id") else None
    if user is None:
        return redirect(url_for("web.login"))
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash, form.current.data):
            form.current.errors = [*form.current.errors, "Wrong password"]
        else:
            users.set_password(user, form.new.data)
            flash("Password changed.")
            return redirect(url_for("web.index"))
    return render_template("password.html", form=form, user=user)


@bp.get("/")
@login_required
def index():
    """The home page: the live alerts."""
    return redirect(url_for("web.live"))
