"""Regular expressions people write (rule conditions; silence matchers later), run by RE2.

RE2 matches in time linear in the text, whatever the pattern: `^(a+)+$` cannot hold the
matcher, the rule test or a request for seconds the way a backtracking engine can. The price
is the syntax RE2 does not have (backreferences, lookahead and lookbehind): such a pattern is
refused when it is saved, with RE2's reason. Matching is case-insensitive.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import re2

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.log_errors = False  # a refused pattern is a 422, not a line on stderr
_OPTIONS.never_capture = True  # only "is there a match" is ever asked

TextTest = Callable[[str], bool]


class RegexError(ValueError):
    """A pattern RE2 will not compile; the message says why."""


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> TextTest:
    """A test "does the pattern occur anywhere in this text" (a search, not a full match).

    Raises RegexError for a pattern RE2 cannot compile."""
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise RegexError(str(reason)) from None
    except UnicodeEncodeError:
        raise RegexError("not valid Unicode text") from None
    search = compiled.search

    def test(text: str) -> bool:
        try:
            return search(text) is not None
        except UnicodeEncodeError:  # text no store would hold: nothing to match
            return False

    return test


def regex_problem(pattern: str) -> str | None:
    """Why RE2 refuses the pattern, or None when it compiles."""
    try:
        compile_regex(pattern)
    except RegexError as exc:
        return str(exc)
    return None
