"""Arming modes: the bodies of PUT /api/mode, PUT /api/modes and PUT /api/mode/schedule, and
the history's query (the pages' forms validate through the same models)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from ..engine.vocabulary import DAYS
from .common import Body, TimeOfDay, Timezone, item_list, query_integer, validate
from .queries import MAX_LIMIT, Page
from .rules import MAX_MODES, Days, ModeName, week_order

MAX_WINDOWS = 50
class ModeSet(Body):
    """PUT /api/mode: make this mode the current one."""

    mode: ModeName


class ModeList(Body):
    """PUT /api/modes: the whole list of modes, in the order to show them."""

    modes: item_list(ModeName, max_items=MAX_MODES, min_items=1, what="a list of mode names",
                     unique=lambda x: x)


class ModeWindowBody(Body):
    """One window of the mode schedule: `mode` from `start_time` to `end_time` on `days`
    (start > end runs overnight; start == end is the whole day)."""

    WHAT: ClassVar[str] = "an object with mode, days, start_time and end_time"

    mode: ModeName
    days: Days | None = Field(default_factory=lambda: list(DAYS))
    start_time: TimeOfDay
    end_time: TimeOfDay

    @field_validator("days", mode="after")
    @classmethod
    def _week_order(cls, days: list[str] | None) -> list[str]:
        return week_order(days)


class ModeScheduleBody(Body):
    """PUT /api/mode/schedule: the weekly windows and their timezone (default
    ALERTING_TIMEZONE). An empty list turns the schedule off."""

    timezone: Timezone | None = None
    windows: item_list(ModeWindowBody, max_items=MAX_WINDOWS, what="a list of windows")


class ModeHistoryQuery(Page):
    """GET /api/mode/history: newest first, paged."""


class ModeHistoryPage(Page):
    """The Modes page's history: 25 changes a page."""

    limit: query_integer(1, MAX_LIMIT) = 25


def parse_history_page(args: object) -> tuple[int, int]:
    """(limit, offset) of the Modes page's history."""
    page = validate(ModeHistoryPage, args)
    return page.limit, page.offset
