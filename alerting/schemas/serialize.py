"""Response models as serializers: `serializer(Model)` turns a row (an ORM object or any
object with the model's fields as attributes) into the model's JSON object.

The function is generated once per model from its declared fields and then only reads
attributes: pydantic's `model_validate(row, from_attributes=True).model_dump(mode="json")`
does the same several times slower (BENCHMARKS.md), and these run for every alert in a live
message, a delivery body and an event page. The models still describe every field once;
tests/schemas/test_responses.py validates the output against them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..engine.timeparse import isoformat_z

Getter = Callable[[Any], Any]


def _optional(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without None, whether None was allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) < len(typing.get_args(annotation)):
            return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _iso(value: datetime | None) -> str | None:
    return isoformat_z(value) if value else None


def _expression(name: str, annotation: Any) -> str:
    """How the generated serializer reads attribute `name` as the field's JSON: datetimes
    as isoformat_z, a missing list as [] (unless the field is nullable: then null)."""
    inner, nullable = _optional(annotation)
    if inner is datetime:
        return f"{'_iso' if nullable else 'isoformat_z'}(row.{name})"
    if typing.get_origin(inner) is list and not nullable:
        return f"(row.{name} or [])"
    return f"row.{name}"


def serializer(model: type[BaseModel], **special: Getter) -> Callable[[Any], dict[str, Any]]:
    """`model`'s fields read from a row; `special` gives the fields not read as-is.

    The function is generated as source, one dict display of the model's fields (the way
    dataclasses writes __init__), so it costs what the hand-written dict did."""
    names = {"isoformat_z": isoformat_z, "_iso": _iso}
    items = []
    for name, field in model.model_fields.items():
        if not name.isidentifier():
            raise ValueError(f"{model.__name__}.{name} is not an identifier")
        key = field.alias or name
        if name in special:
            names[f"_{name}"] = special[name]
            items.append(f"{key!r}: _{name}(row)")
        else:
            items.append(f"{key!r}: {_expression(name, field.annotation)}")
    source = "def dump(row):\n    return {" + ", ".join(items) + "}\n"
    exec(compile(source, f"<serializer {model.__name__}>", "exec"), names)  # noqa: S102
    dump = names["dump"]
    dump.__doc__ = f"The API's {model.__name__} object of a row."
    return dump


def listing(name: str, items: Iterable[Any], dump: Callable[[Any], dict[str, Any]],
            total: int, query: dict[str, Any]) -> dict[str, Any]:
    """The listing envelope every page of the API answers: {name: [...], count, limit,
    offset} (count is the total matching, not the page's length)."""
    return {name: [dump(row) for row in items], "count": total,
            "limit": query["limit"], "offset": query["offset"]}
