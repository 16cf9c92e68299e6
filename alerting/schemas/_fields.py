"""Field types of the event, notification settings and VideoDB bodies that common.py lacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import core_schema, from_json, to_json

from .common import (
    MAX_KEY_IN_PATH,
    Email,
    PushUrl,
    ValidationError,
    email_address,
    http_url,
    is_number,
    item_list,
    refuse,
    storable,
    text_schema,
    translate,
)


def nullable_choice(options: tuple[str, ...]) -> Any:
    """Null or one of `options`, any case and surrounding space; returned lower-case."""
    message = "must be one of " + ", ".join(options) + " or null"

    def check(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise refuse(message)

    return Annotated[str | None, BeforeValidator(check),
                     WithJsonSchema({"enum": [*options, None]})]


def _scalar(value: Any) -> None:
    kind = type(value)
    if kind is str:
        storable(value)
    elif not (value is None or kind is bool or is_number(value)):
        raise refuse("must hold only JSON values (no NaN or Infinity)")


def _check_tree(value: Mapping[Any, Any], max_depth: int) -> None:
    """Only JSON values, string keys, storable text, at most max_depth levels. Without
    recursion: a deeply nested document must not raise RecursionError."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise refuse(f"must not nest deeper than {max_depth} levels")
        if isinstance(node, Mapping):
            for key in node:
                if type(key) is not str:
                    raise refuse("must have string keys")
                storable(key)
            children = node.values()
        else:
            children = node  # type: ignore[assignment]
        for child in children:
            if isinstance(child, Mapping | list | tuple):
                stack.append((child, depth + 1))
            else:
                _scalar(child)


def JsonObject(max_bytes: int, *, max_depth: int = 64) -> Any:  # noqa: N802 - a type
    """Null or a JSON object of at most max_bytes as JSON (UTF-8) and max_depth levels,
    storable; an independent copy is kept."""

    def check(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise refuse("must be an object or null")
        _check_tree(value, max_depth)
        dumped = to_json(value)
        if len(dumped) > max_bytes:
            raise refuse(f"must be at most {max_bytes // 1024} KB as JSON")
        return from_json(dumped)

    return Annotated[dict[str, Any] | None, BeforeValidator(check),
                     WithJsonSchema({"type": ["object", "null"]})]


def blank_is_none(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Null or a blank string is null; anything else goes through `check`."""
    return lambda v: None if v is None or (isinstance(v, str) and not v.strip()) else check(v)


OptionalHttpUrl = Annotated[str | None, BeforeValidator(blank_is_none(http_url))]
"""Null, blank (null) or an http(s) URL."""
OptionalEmail = Annotated[str | None, BeforeValidator(blank_is_none(email_address))]
"""Null, blank (null) or an email address."""


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


# These take null (as none): the document says so.
_OR_NULL = Field(json_schema_extra=lambda schema: schema.update(type=["array", "null"]))
EmailList = Annotated[item_list(Email, max_items=50, what="a list of email addresses",
                                unique=str.lower), BeforeValidator(_none_is_empty), _OR_NULL]
"""Null (none) or up to 50 email addresses, repeats (any case) dropped."""
PushUrlList = Annotated[item_list(PushUrl, max_items=20, what="a list of notification URLs",
                                  unique=lambda x: x), BeforeValidator(_none_is_empty),
                        _OR_NULL]
"""Null (none) or up to 20 notification URLs, repeats dropped."""


# --- fields pydantic-core validates on its own (the ingest path: no Python call per value) ---


@dataclass(frozen=True, eq=False)
class Says:
    """The API's messages for the errors pydantic-core raises on a field it validates natively,
    by error type (`default` for any other). `whole`: an error anywhere inside the value (an
    item of a list) is reported at the field itself."""

    messages: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    whole: bool = False


NO_NUL = r"^[^\x00]*$"


def _text_says(max_length: int, what: str) -> Says:
    return Says({
        "string_type": f"must be {what}",
        "string_too_short": "must not be empty",
        "string_too_long": f"must be at most {max_length} characters",
        "string_pattern_mismatch": "must not contain NUL characters",
        "string_unicode": "must be valid Unicode text",
    })


@dataclass(frozen=True)
class _LengthFirst:
    # The length is checked before stripping, as the OpenAPI document's maxLength says: a
    # chain of two string validators in pydantic-core, the first one documented.
    max_length: int

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.chain_schema(
            [core_schema.str_schema(strict=True, max_length=self.max_length), handler(source)])


def Text(max_length: int, what: str = "a string") -> Any:  # noqa: N802 - a type
    """A string of at most max_length characters, non-empty once stripped, storable."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            pattern=NO_NUL),
                     _LengthFirst(max_length), _text_says(max_length, what),
                     WithJsonSchema(text_schema(max_length, blank=False))]


def OptionalText(max_length: int) -> Any:  # noqa: N802 - a type
    """Null or a string of at most max_length characters, stripped; blank is null."""
    inner = Annotated[str, StringConstraints(strip_whitespace=True, pattern=NO_NUL),
                      _LengthFirst(max_length), _text_says(max_length, "a string or null"),
                      WithJsonSchema(text_schema(max_length))]
    return Annotated[inner | None, AfterValidator(lambda v: v or None)]


def _unique_or_empty(value: list[Any] | None) -> list[Any]:
    return [] if value is None else list(dict.fromkeys(value))


def TextList(max_items: int, max_length: int) -> Any:  # noqa: N802 - a type
    """Null (none) or a list of at most max_items non-empty strings, stripped, repeats
    dropped."""
    items = Annotated[list[Text(max_length, "a non-empty string")], Field(max_length=max_items),
                      Says({"list_type": "must be a list of strings or null",
                            "too_long": f"must have at most {max_items} items"})]
    return Annotated[items | None, AfterValidator(_unique_or_empty)]


def ModelList(model: type[BaseModel], max_items: int, what: str) -> Any:  # noqa: N802
    """Null (none) or a list of at most max_items `model`s."""
    items = Annotated[list[model], Field(max_length=max_items),  # type: ignore[valid-type]
                      Says({"list_type": f"must be {what}",
                            "too_long": f"must have at most {max_items} items"})]
    return Annotated[items | None, AfterValidator(lambda v: [] if v is None else v)]


FastFraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False),
                         Says(default="must be a number from 0 to 1")]
"""A number from 0 to 1 (not a bool, not NaN), as a float."""


def _says_of(annotation: Any, prefix: tuple[str, ...], found: dict[tuple[str, ...], Says]) -> None:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        for marker in metadata:
            if isinstance(marker, Says):
                found[prefix] = marker
        _says_of(base, prefix, found)
    elif origin in (Union, UnionType):
        for arg in get_args(annotation):
            _says_of(arg, prefix, found)
    elif origin is list:
        _says_of(get_args(annotation)[0], (*prefix, "*"), found)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        hints = get_type_hints(annotation, include_extras=True)
        for name in annotation.model_fields:
            _says_of(hints[name], (*prefix, name), found)


def explainer(model: type[BaseModel]) -> Callable[[pydantic.ValidationError], ValidationError]:
    """common.translate, plus the `Says` messages of the fields `model` validates natively."""
    found: dict[tuple[str, ...], Says] = {}
    _says_of(model, (), found)

    def explain(exc: pydantic.ValidationError) -> ValidationError:
        fields = translate(exc).fields
        for error in exc.errors(include_url=False, include_input=False):
            if error["type"] == "invalid":  # a check's own message
                continue
            loc = tuple(str(part)[:MAX_KEY_IN_PATH] for part in error["loc"])
            pattern = tuple("*" if isinstance(part, int) else part for part in error["loc"])
            for end in range(len(pattern), 0, -1):
                says = found.get(pattern[:end])
                if says is None or (end < len(pattern) and not says.whole):
                    continue
                message = says.messages.get(error["type"], says.default)
                if message is not None:
                    fields.pop(".".join(loc), None)
                    fields.setdefault(".".join(loc[:end]), message)
                break
            else:
                if error["type"] == "string_unicode":  # a key no text encoder takes
                    fields[".".join(loc) or "body"] = "keys must be valid Unicode text"
        return ValidationError(fields)

    return explain
