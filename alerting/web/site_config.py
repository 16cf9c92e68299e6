"""The configuration page (rules as code): download the site's file, upload one, see the
diff (and the replay of new or changed rules) before confirming it."""

from __future__ import annotations

from flask import Response, flash, make_response, redirect, url_for
from htmx_flask import request

from ..auth import current_actor, login_required
from ..engine.errors import ValidationError
from ..extensions import db
from ..services import site_config
from . import bp
from .forms import render, wants_fragment

MAX_FILE_CHARS = 1_000_000


@bp.get("/config")
@login_required
def config_index():
    """Download the configuration file, or upload one to see what it would change."""
    return render("config/index.html", "config/_preview.html", preview=None)


@bp.get("/config/site.yaml")
@login_required
def config_download():
    """The configuration file (no secret in it)."""
    try:
        text = site_config.export_yaml()
    except ValidationError as exc:
        flash(f"Cannot export: {exc.message}")
        return redirect(url_for("web.config_index"))
    return Response(text, mimetype="application/yaml",
                    headers={"Content-Disposition": 'attachment; filename="site.yaml"'})


def _uploaded() -> tuple[str, str]:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        source = upload.filename
        # Read whole (ALERTING_MAX_CONTENT_LENGTH bounds it): the limit is in characters,
        # and a file cut at a byte count would be taken short, or cut inside a character.
        raw = upload.read()
        upload.close()
        if len(raw) > MAX_FILE_CHARS * 4:  # more characters than that, whatever they are
            raise ValidationError({source: f"is longer than {MAX_FILE_CHARS:,} characters"})
        try:
            return raw.decode("utf-8"), source
        except UnicodeDecodeError:
            raise ValidationError({"file": "must be UTF-8 text"}) from None
    return request.form.get("document", ""), request.form.get("source") or "pasted text"


def _preview(confirm: bool):
    prune = request.form.get("prune") in ("on", "1", "true")
    text, source = "", "pasted text"
    context = {"text": text, "source": source, "prune": prune, "errors": [], "diff": None,
               "replays": [], "changes": []}
    try:
        text, source = _uploaded()
        context.update(text=text, source=source)
        if not text.strip():
            raise ValidationError({"document": "choose a file or paste one"})
        if len(text) > MAX_FILE_CHARS:
            raise ValidationError({source: f"is longer than {MAX_FILE_CHARS:,} characters"})
        data, lines = site_config.read(text, source, remote=True)
        the_plan = site_config.plan(data, source=source, prune=prune, lines=lines)
        if confirm:
            done = site_config.apply(the_plan, current_actor(), lines)
            flash(f"Applied {len(done)} change(s) from {source}." if done
                  else f"{source}: nothing to change.")
            if wants_fragment():
                response = make_response("", 204)
                response.headers["HX-Redirect"] = url_for("web.config_index")
                return response
            return redirect(url_for("web.config_index"), 303)
        replays = site_config.replays(the_plan)
        db.session.rollback()
        site_config.rehearse(the_plan, current_actor(), lines)
        context.update(diff=site_config.render(the_plan, replays), replays=replays,
                       changes=the_plan.effective)
        status = 200
    except site_config.ConfigFileError as exc:
        db.session.rollback()
        context["errors"], status = exc.located, 422
    except ValidationError as exc:
        db.session.rollback()
        context["errors"], status = [f"{k}: {v}" for k, v in exc.fields.items()], 422
    return render("config/index.html", "config/_preview.html", status, preview=context)


@bp.post("/config/preview")
@login_required
def config_preview():
    """What the uploaded file would change (nothing is changed)."""
    return _preview(confirm=False)


@bp.post("/config/apply")
@login_required
def config_apply():
    """Apply the file shown in the preview, in one transaction."""
    return _preview(confirm=True)
