"""Digests (PUT /api/notification/digests and the Notifications page): a channel target
that gets one summary at its time instead of each alert (engine/digest.py)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import model_validator

from ..engine.vocabulary import CHANNELS, SEVERITIES, SEVERITY_PRIORITY
from .common import (
    MAX_URL,
    Body,
    Flag,
    ModelList,
    TimeOfDay,
    Timezone,
    check_at,
    checked,
    choice,
    email_address,
    http_url,
    id_list,
    integer,
    nullable_choice,
    parser,
    push_url,
    refuse,
    text,
    text_check,
)
from .rules import MUTE_TIMING_NAME, Days, ModeNames, week_order

MAX_DIGESTS = 50
MIN_EVERY_SECONDS = 1
MAX_EVERY_SECONDS = 31 * 24 * 3600
DIGEST_NAME = MUTE_TIMING_NAME  # letters, digits, spaces, _ . -; at most 100

_name_check = text_check(100)


def _digest_name(value: Any) -> str:
    value = _name_check(value)
    if not re.fullmatch(DIGEST_NAME, value):
        raise refuse("must be letters, digits, spaces, _ . - (at most 100, starting with a "
                     "letter or digit)")
    return value


class DigestSchedule(Body):
    """Every `every_seconds`, or at `at` (HH:MM) on `days` in `timezone` (default
    ALERTING_TIMEZONE): one of the two."""

    WHAT: ClassVar[str] = "an object"

    at: TimeOfDay | None = None
    days: Days | None = None
    timezone: Timezone | None = None
    every_seconds: integer(MIN_EVERY_SECONDS, MAX_EVERY_SECONDS) | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DigestSchedule:
        if (self.at is None) == (self.every_seconds is None):
            raise refuse("give either at (HH:MM, with days and timezone) or every_seconds",
                         at="at" if self.at is None else "every_seconds")
        if self.every_seconds is not None and (self.days or self.timezone):
            raise refuse("days go with at, not with every_seconds", at="days"
                         if self.days else "timezone")
        if self.at is not None:
            self.days = week_order(self.days)
        return self


class DigestFilter(Body):
    """Which alerts the digest takes (all of these that are given must hold)."""

    WHAT: ClassVar[str] = "an object or null"

    min_severity: nullable_choice(SEVERITIES) = None
    max_severity: nullable_choice(SEVERITIES) = None
    modes: ModeNames = None
    cameras: id_list() = None
    rules: id_list() = None  # rule ids or names

    @model_validator(mode="after")
    def _range(self) -> DigestFilter:
        if self.min_severity and self.max_severity and \
                SEVERITY_PRIORITY[self.max_severity] < SEVERITY_PRIORITY[self.min_severity]:
            raise refuse("max_severity is worse than min_severity: no alert would match",
                         at="max_severity")
        return self


_TARGET_CHECKS = {"email": email_address, "webhook": http_url, "push": push_url}
DigestName = checked(_digest_name, {"type": "string", "pattern": DIGEST_NAME})


class Digest(Body):
    """One digest: where it goes (an email address, a webhook URL or a push URL, as the
    channel takes), when, and which alerts it takes. `send_empty`: send a summary of
    "0 alerts" too (off: nothing is sent for a period without alerts)."""

    name: DigestName
    channel: choice(CHANNELS)
    target: text(MAX_URL)
    schedule: DigestSchedule
    filter: DigestFilter | None = None
    send_empty: Flag = False

    @model_validator(mode="after")
    def _target_suits_channel(self) -> Digest:
        self.target = check_at(_TARGET_CHECKS[self.channel], self.target, "target")
        return self


class DigestList(Body):
    """PUT /api/notification/digests: every digest (those left out are deleted)."""

    digests: ModelList(Digest, MAX_DIGESTS, "a list of digests")

    @model_validator(mode="after")
    def _unique_names(self) -> DigestList:
        seen: set[str] = set()
        for index, digest in enumerate(self.digests or ()):
            if digest.name.casefold() in seen:
                raise refuse("another digest has this name", at=f"digests.{index}.name")
            seen.add(digest.name.casefold())
        return self


parse_digests = parser(DigestList)
