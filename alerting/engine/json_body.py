"""A request body parsed as JSON, refused whole when it cannot be handled safely.

Every JSON route (the API's and the VideoDB-compatible one) reads its body through
`parse_json_body`, so the limits here hold everywhere at once:

- not JSON at all: `body` is named;
- nested deeper than MAX_DEPTH: `body` is named (the parser and every validator after it
  would otherwise recurse once a level and end in RecursionError, a 500);
- a string or key holding a lone surrogate (`"\\udc80"` is valid JSON syntax but not text any
  UTF-8 encoder or database stores): the field is named by its dotted path.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ValidationError

# Far deeper than any body the routes take (an event's free-form attributes allow 32 levels).
MAX_DEPTH = 64
TOO_DEEP = f"must not nest deeper than {MAX_DEPTH} levels"


def parse_json_body(raw: bytes | str) -> Any:
    """The parsed body; ValidationError naming `body` or the offending field otherwise."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValidationError({"body": TOO_DEEP}) from None
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        raise ValidationError({"body": "must be valid JSON"}) from None
    check_json_value(data)
    return data


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_value(data: Any) -> None:
    """Depth and text checks over parsed JSON, without recursion. Paths are only worked out
    for a body that fails (ingest batches pass through here)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError({"body": TOO_DEEP})
        if isinstance(node, dict):
            items = node.items()
            if not all(_is_text(key) for key in node):
                _raise_at_bad_text(data)
        elif isinstance(node, list):
            items = enumerate(node)  # type: ignore[assignment]
        else:
            if isinstance(node, str) and not _is_text(node):
                _raise_at_bad_text(data)
            continue
        for _, child in items:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif isinstance(child, str) and not _is_text(child):
                _raise_at_bad_text(data)


def _raise_at_bad_text(data: Any) -> None:
    """Raise naming the dotted path of the first string or key that is not valid text."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if not _is_text(key):
                    raise ValidationError({".".join(path) or "body":
                                           "keys must be valid Unicode text"})
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(node))
        elif isinstance(node, str) and not _is_text(node):
            raise ValidationError({".".join(path) or "body": "must be valid Unicode text"})
