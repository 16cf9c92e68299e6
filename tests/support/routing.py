"""Werkzeug's URL builders, compiled once a test process instead of once an app.

Every rule of every app compiles two URL-building functions from a generated syntax tree:
with about 150 routes that was half of what making a test's app cost. The function depends
only on the rule's parsed parts, its defaults and its converters' types (the converters
themselves are reached through the rule it is bound to), so apps of the same routes can share
it. Tests only: a served app is made once.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing.rules import Rule

_compile_builder = Rule._compile_builder
_builders: dict[tuple[Any, ...], Any] = {}


def _shared_builder(rule: Rule, append_unknown: bool = True) -> Any:
    key = (tuple(rule._trace), repr(sorted((rule.defaults or {}).items())),
           tuple((name, type(converter)) for name, converter in rule._converters.items()),
           append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(rule, append_unknown)
    return _builders[key]


def share_url_builders() -> None:
    Rule._compile_builder = _shared_builder  # type: ignore[method-assign]
