"""Notification templates: a rule's `templates` and the site's defaults, the same shape.

`{"email": {"subject", "body"}, "push": {"title", "body"}}`, every part optional. A part is
checked when it is saved (notify/templates.py: it must compile in the sandbox and use no
underscore names), so a bad one is a 422 naming it, e.g. `templates.email.subject`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, WithJsonSchema

from ..notify import templates as notify_templates
from .common import (
    MAX_DB_INT,
    Body,
    blank_is_none,
    integer,
    optional_text,
    refuse,
    text_check,
    validate,
)


def _template(value: Any) -> str:
    source = text_check(notify_templates.MAX_TEMPLATE, strip=False,
                        what="a Jinja template string or null")(value)
    problem = notify_templates.check(source)
    if problem:
        raise refuse(problem)
    return source


TemplateText = Annotated[str | None, BeforeValidator(blank_is_none(_template)), WithJsonSchema(
    {"anyOf": [{"type": "string", "maxLength": notify_templates.MAX_TEMPLATE},
               {"type": "null"}],
     "description": "Jinja, rendered in a sandbox with the variables "
                    + ", ".join(notify_templates.VARIABLES) + "; blank or null: the default"})]


class _Parts(Body):
    WHAT: ClassVar[str] = "an object or null"

    def stored(self) -> dict[str, str] | None:
        values = {k: v for k, v in self.model_dump().items() if v is not None}
        return values or None


class EmailTemplates(_Parts):
    """The email's subject and its text body."""

    subject: TemplateText = None
    body: TemplateText = None


class PushTemplates(_Parts):
    """The push notification's title and body."""

    title: TemplateText = None
    body: TemplateText = None


class Templates(Body):
    """Per channel templates; a channel or part left out uses the default."""

    WHAT: ClassVar[str] = "an object or null"

    email: EmailTemplates | None = None
    push: PushTemplates | None = None

    def stored(self) -> dict[str, Any] | None:
        """The stored form: only the parts given, or None when none is."""
        values = {name: part.stored() for name in ("email", "push")
                  if (part := getattr(self, name)) is not None and part.stored()}
        return values or None


def compact(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A dumped Templates in its stored form: only the parts given, or None."""
    if not value:
        return None
    return Templates.model_validate(value).stored()


class TemplatePreviewRequest(Body):
    """POST /api/alerts/rules/templates/preview: templates rendered against an alert (the
    latest of `rule_id`, else the latest event of the last 7 days `rule_id` matches, else
    the latest of all, when `alert_id` is left out)."""

    templates: Templates | None = None
    alert_id: integer(1, MAX_DB_INT) | None = None
    rule_id: optional_text(36) = None


def parse_preview(payload: object) -> dict[str, Any]:
    """The preview's templates (stored form), alert_id and rule_id."""
    request = validate(TemplatePreviewRequest, payload)
    return {"templates": request.templates.stored() if request.templates else None,
            "alert_id": request.alert_id, "rule_id": request.rule_id}
