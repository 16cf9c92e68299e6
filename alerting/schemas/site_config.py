"""Rules as code: the site configuration file's schema (built from the registered sections'
models), the apply request's query, and the apply answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import create_model
from typing_extensions import TypedDict

from .backtest import DayCount
from .common import Body, Query, QueryFlag, Says, validate
from .responses import CLOSED

FORMAT_VERSION = 1


def document_model(sections: dict[str, Any]) -> type[Body]:
    """The whole file's schema: `version` and one optional key per section (its model)."""
    version = Annotated[Literal[FORMAT_VERSION] | None,
                        Says(default=f"must be {FORMAT_VERSION}, the file format this server "
                                     "reads")]
    fields: dict[str, Any] = {"version": (version, None)}
    for key, model in sections.items():
        fields[key] = (model | None, None)
    return create_model("SiteConfig", __base__=Body,
                        __doc__="The site configuration file (rules as code): every section "
                                "optional; a section left out is left as it is.", **fields)


class ConfigApplyQuery(Query):
    """POST /api/config/apply: `dry_run` shows the changes (and replays new or changed
    rules over the last 7 days) without making them; `prune` deletes the rules the file
    does not list."""

    dry_run: QueryFlag | None = False
    prune: QueryFlag | None = False


def parse_apply_query(args: Any) -> dict[str, bool]:
    options = validate(ConfigApplyQuery, dict(args))
    return {"dry_run": bool(options.dry_run), "prune": bool(options.prune)}


class FieldChange(TypedDict):
    """One field before and after (both null for a secret: never shown)."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    field: str
    before: Any
    after: Any
    secret: bool


class Change(TypedDict):
    """`keep`: stored but not in the file, left as it is (deleted with prune)."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    section: str
    action: Literal["create", "update", "delete", "keep"]
    name: str | None
    fields: list[FieldChange]


class Replay(TypedDict):
    """A new or changed rule replayed over the last 7 days of stored events."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    section: str
    name: str | None
    alerts: int
    silenced: int
    disarmed: int
    per_day: list[DayCount]


class ConfigApplyResult(TypedDict):
    """What applying the file changes (or, in a dry run, would change); `diff` is the same
    as text, as `flask rules apply` prints it."""

    __pydantic_config__ = CLOSED  # type: ignore[misc]
    dry_run: bool
    applied: bool
    changes: list[Change]
    replays: list[Replay]
    diff: str
