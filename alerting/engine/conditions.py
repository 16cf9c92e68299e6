"""The `conditions` clauses of a rule: `{field, op, value}` over event fields, all must hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .regex import RegexError, compile_regex
from .types import Condition, Event
from .vocabulary import CONDITION_FIELDS, risk_level_for

FieldGetter = Callable[[str], Any]
Predicate = Callable[[FieldGetter], bool]
_Test = Callable[[Any], bool]


def _duration(event: Event) -> float | None:
    if event.ended_at is None:
        return None
    return (event.ended_at - event.started_at).total_seconds()


def _max_confidence(event: Event) -> float | None:
    values = [d.confidence for d in event.detections if d.confidence is not None]
    return max(values) if values else None


def _risk_level(event: Event) -> str | None:
    # Detectors may send only a score; the level is then derived the same way ingestion does.
    if event.risk_level is not None:
        return event.risk_level
    return risk_level_for(event.risk_score)


def _zone_ids(event: Event) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for d in event.detections:
        for z in d.zone_ids:
            seen[z] = None
    return tuple(seen)


_FIELDS: dict[str, Callable[[Event], Any]] = {
    "summary": lambda e: e.summary,
    "risk_level": _risk_level,
    "risk_score": lambda e: e.risk_score,
    "duration_seconds": _duration,
    "detection_count": lambda e: len(e.detections),
    "max_confidence": _max_confidence,
    "labels": lambda e: tuple(e.labels),
    "object_types": lambda e: tuple(dict.fromkeys(d.object_type for d in e.detections)),
    "zone_ids": _zone_ids,
    "camera_id": lambda e: e.camera_id,
    "source": lambda e: e.source,
    "scene_index_id": lambda e: e.scene_index_id,
    "identity": lambda e: e.identity,
    "plate": lambda e: e.plate,
    "review_severity": lambda e: e.review_severity,
    "genai_threat_level": lambda e: e.genai_threat_level,
}


def event_field(event: Event, name: str) -> Any:
    """The value of a condition field for an event; None when the event does not have it."""
    try:
        getter = _FIELDS[name]
    except KeyError:
        raise ValueError(f"unknown condition field: {name!r}") from None
    return getter(event)


def _number(value: Any) -> float | int | None:
    # bool is an int subclass, but `true` is not a number a user meant to compare with.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else str(value).casefold()


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def _never(_: Any) -> bool:
    return False


def _eq(kind: str, value: Any) -> _Test:
    if value is None:
        return _never
    if kind == "number":
        n = _number(value)
        return _never if n is None else (lambda v: v == n)
    if kind == "text":
        s = _text(value)
        return lambda v: v.casefold() == s
    if isinstance(value, list | tuple | set | frozenset):
        # A list value on a list field: the same elements, order and case aside.
        target = frozenset(_text(x) for x in value)
        return lambda v: {x.casefold() for x in v} == target
    s = _text(value)
    return lambda v: any(x.casefold() == s for x in v)


def _compare(op: str) -> Callable[[str, Any], _Test]:
    def build(kind: str, value: Any) -> _Test:
        n = _number(value)
        if kind != "number" or n is None:
            return _never
        if op == "gt":
            return lambda v: v > n
        if op == "gte":
            return lambda v: v >= n
        if op == "lt":
            return lambda v: v < n
        return lambda v: v <= n

    return build


def _in(kind: str, value: Any) -> _Test:
    items = _items(value)
    if kind == "number":
        numbers = frozenset(n for n in map(_number, items) if n is not None)
        return lambda v: v in numbers
    texts = frozenset(_text(x) for x in items if x is not None)
    if kind == "text":
        return lambda v: v.casefold() in texts
    return lambda v: any(x.casefold() in texts for x in v)


def _contains(kind: str, value: Any) -> _Test:
    if kind == "number" or value is None:
        return _never
    # A list value means "contains every one of them".
    wanted = [_text(x) for x in _items(value)]
    if kind == "text":
        return lambda v: all(w in v.casefold() for w in wanted)

    def test(v: Any) -> bool:
        have = {x.casefold() for x in v}
        return all(w in have for w in wanted)

    return test


def _matches(kind: str, value: Any) -> _Test:
    if kind == "number" or value is None:
        return _never
    try:
        search = compile_regex(str(value))
    except RegexError:
        # Patterns are validated when a rule is saved; a bad one that slips through never matches
        # rather than taking the matcher down.
        return _never
    if kind == "text":
        return search
    return lambda v: any(search(x) for x in v)


def _negate(build: Callable[[str, Any], _Test]) -> Callable[[str, Any], _Test]:
    def negated(kind: str, value: Any) -> _Test:
        test = build(kind, value)
        return lambda v: not test(v)

    return negated


_BUILDERS: dict[str, Callable[[str, Any], _Test]] = {
    "eq": _eq,
    "ne": _negate(_eq),
    "gt": _compare("gt"),
    "gte": _compare("gte"),
    "lt": _compare("lt"),
    "lte": _compare("lte"),
    "in": _in,
    "not_in": _negate(_in),
    "contains": _contains,
    "matches": _matches,
}
# A missing field satisfies only the negative operators.
_TRUE_WHEN_MISSING = frozenset({"ne", "not_in"})


def _compile(condition: Condition) -> Predicate:
    kind = CONDITION_FIELDS.get(condition.field)
    if kind is None:
        raise ValueError(f"unknown condition field: {condition.field!r}")
    build = _BUILDERS.get(condition.op)
    if build is None:
        raise ValueError(f"unknown condition operator: {condition.op!r}")
    test = build(kind, condition.value)
    name = condition.field
    when_missing = condition.op in _TRUE_WHEN_MISSING

    def predicate(get: FieldGetter) -> bool:
        v = get(name)
        return when_missing if v is None else test(v)

    return predicate


# Keyed by identity because a Condition's value may be a list, which cannot be hashed; the entry
# keeps the Condition alive so its id cannot be reused while cached.
_compiled: dict[int, tuple[Condition, Predicate]] = {}
_CACHE_LIMIT = 20_000


def compile_condition(condition: Condition) -> Predicate:
    """A predicate over a field getter for one clause; cached per Condition object."""
    entry = _compiled.get(id(condition))
    if entry is not None and entry[0] is condition:
        return entry[1]
    predicate = _compile(condition)
    if len(_compiled) >= _CACHE_LIMIT:
        _compiled.clear()
    _compiled[id(condition)] = (condition, predicate)
    return predicate


def clause_holds(condition: Condition, event: Event) -> bool:
    """Whether one clause holds for the event."""
    return compile_condition(condition)(lambda name: event_field(event, name))


def conditions_hold(conditions: Iterable[Condition] | None, event: Event) -> bool:
    """Whether every clause holds (an empty or missing list holds)."""
    if not conditions:
        return True
    memo: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in memo:
            memo[name] = event_field(event, name)
        return memo[name]

    return all(compile_condition(c)(get) for c in conditions)
