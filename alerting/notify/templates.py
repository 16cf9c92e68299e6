"""A rule's own wording: Jinja templates per channel, rendered in a sandbox.

A rule's `templates` is `{"email": {"subject", "body"}, "push": {"title", "body"}}`, every
part optional; a part the rule leaves out comes from the site's defaults (the notification
settings' `templates`), else from the built-in message. Templates are written by users, so
they run in Jinja's ImmutableSandboxedEnvironment, with no globals, and any attempt to reach
an underscore attribute (`''.__class__`, `cycler.__init__.__globals__`) raises instead of
rendering blank. `check` refuses such a template when it is saved; `render_parts` falls back
to the default part, and says why, when one fails at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# The parts each channel has, in the order the form shows them.
PARTS: dict[str, tuple[str, ...]] = {"email": ("subject", "body"), "push": ("title", "body")}
MAX_TEMPLATE = 10_000  # characters of one part's source
MAX_OUTPUT = 20_000  # characters of one rendered part; more is cut
VARIABLES = ("alert", "rule", "event", "detections", "camera", "mode", "links")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, raising on an unsafe attribute instead of rendering it as blank."""

    def unsafe_undefined(self, obj: Any, attribute: Any) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of a "
                            f"{type(obj).__name__} is not allowed")


@lru_cache(maxsize=1)
def _env() -> _Sandbox:
    # ChainableUndefined: a field an event lacks renders blank, as in the built-in email.
    env = _Sandbox(autoescape=False, keep_trailing_newline=False, undefined=ChainableUndefined)
    env.globals.clear()  # no range, cycler, joiner, namespace, lipsum, dict
    return env


def _private_names(source: str) -> list[str]:
    """Underscore names a template reaches for: attributes, items and variables."""
    found = []
    kinds = (nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const)
    for node in _env().parse(source).find_all(kinds):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        elif isinstance(node, nodes.Name):
            name = node.name
        else:  # a string such as |attr('__class__')'s: dunder strings have no use here
            name = node.value if isinstance(node.value, str) and \
                node.value.startswith("__") else None
        if isinstance(name, str) and name.startswith("_"):
            found.append(name)
    return found


def check(source: str) -> str | None:
    """Why `source` is not a usable template (a syntax error, a private name), or None."""
    try:
        private = _private_names(source)
        _compiled(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"does not compile: {exc.message or exc}" + (f" (line {line})" if line else "")
    if private:
        return f"may not use {private[0]!r}: names starting with _ are not available"
    return None


@lru_cache(maxsize=512)
def _compiled(source: str):
    return _env().from_string(source)


def render(source: str, variables: Mapping[str, Any]) -> str:
    """`source` rendered with `variables`; raises TemplateError (SecurityError included)."""
    if _private_names(source):
        raise SecurityError("names starting with _ are not available")
    return _compiled(source).render(dict(variables))[:MAX_OUTPUT]


def merged(rule_templates: Mapping[str, Any] | None,
           site_templates: Mapping[str, Any] | None, channel: str) -> dict[str, str]:
    """The parts of `channel` to use, each the rule's, else the site's; missing: default."""
    out: dict[str, str] = {}
    for part in PARTS.get(channel, ()):
        for source in (rule_templates, site_templates):
            value = ((source or {}).get(channel) or {}).get(part)
            if isinstance(value, str) and value.strip():
                out[part] = value
                break
    return out


@dataclass
class Rendered:
    """The parts of one channel: rendered, or the default where a template failed (`notes`
    says which and why)."""

    parts: dict[str, str]
    notes: list[str] = field(default_factory=list)


def render_parts(channel: str, templates: Mapping[str, str], variables: Mapping[str, Any],
                 defaults: Mapping[str, str]) -> Rendered:
    """Each part of `channel`: its template rendered, else (no template, or it failed) the
    default; a failure is named in the notes, e.g. "template push.title failed (...)"."""
    result = Rendered(parts=dict(defaults))
    for part, source in templates.items():
        try:
            text = render(source, variables)
        except Exception as exc:  # noqa: BLE001 - a user's template must never stop a send
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            result.notes.append(f"template {channel}.{part} failed ({type(exc).__name__}: "
                                f"{reason}); the default was used")
            continue
        if part in ("subject", "title"):
            text = " ".join(text.split())  # one line
        if text.strip():
            result.parts[part] = text
        else:
            result.notes.append(f"template {channel}.{part} rendered empty; the default was used")
    return result
