"""Werkzeug's compiled routes, made once a test process instead of once an app.

Binding a rule to an app's URL map parses the rule (its parts' regular expressions, its
converters) and compiles two URL-building functions from a generated syntax tree. With about
150 routes that was most of what making a test's app cost. What it makes depends only on the
rule's text, its domain part, its defaults and the map's converter classes, so apps of the
same routes can share it: the parts and the trace are kept, the converters too (Werkzeug's
and ours read their map only when they are made), and the builders are bound to each rule.
Tests only: a served app is made once.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing.rules import Rule

_compile = Rule.compile
_compiled: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _key(rule: Rule) -> tuple[Any, ...]:
    assert rule.map is not None
    domain = rule.host if rule.map.host_matching else rule.subdomain
    return (type(rule), rule.rule, domain or "", rule.merge_slashes,
            repr(sorted((rule.defaults or {}).items())),
            tuple(sorted(rule.map.converters.items())))


def _shared_compile(rule: Rule) -> None:
    key = _key(rule)
    found = _compiled.get(key)
    if found is None:
        _compile(rule)
        _compiled[key] = (rule._parts, rule._trace, rule._converters, set(rule.arguments),
                          rule._build.__func__, rule._build_unknown.__func__)  # type: ignore[attr-defined]
        return
    parts, trace, converters, arguments, build, build_unknown = found
    rule._parts, rule._trace, rule._converters = list(parts), list(trace), dict(converters)
    rule.arguments |= arguments
    rule._build = build.__get__(rule, None)
    rule._build_unknown = build_unknown.__get__(rule, None)


def share_compiled_routes() -> None:
    Rule.compile = _shared_compile  # type: ignore[method-assign]
