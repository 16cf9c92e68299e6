"""Grouping settings (engine/grouping.py): a rule's fields and the site-wide default.

Each field null (or left out) on a rule means the site-wide default's value;
repeat_interval 0 means no repeats."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from ..engine.grouping import (
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_MAX_ALERTS,
    EACH_ALERT,
    GROUP_LABELS,
)
from .common import Body, choice, integer, item_list, refuse

MAX_GROUP_SECONDS = 7 * 24 * 3600
MAX_GROUP_ALERTS = 500


def _alone(value: list[str]) -> list[str]:
    if EACH_ALERT in value and len(value) > 1:
        raise refuse(f'"{EACH_ALERT}" (each alert its own group) must be alone')
    return value


GroupBy = Annotated[
    item_list(choice((*GROUP_LABELS, EACH_ALERT)), max_items=len(GROUP_LABELS),
              what="a list of group labels or null", unique=True),
    AfterValidator(_alone)]
GroupWait = integer(0, MAX_GROUP_SECONDS)
GroupInterval = integer(1, MAX_GROUP_SECONDS)
RepeatInterval = integer(0, MAX_GROUP_SECONDS)  # 0: no repeats
GroupMaxAlerts = integer(1, MAX_GROUP_ALERTS)

GROUP_STATUSES = ("firing", "resolved")
GROUPING_FIELDS = ("group_by", "group_wait", "group_interval", "repeat_interval",
                   "group_max_alerts")


class GroupingDefaults(Body):
    """The site-wide grouping defaults (in the notification settings), used for each field a
    rule leaves null. With no group_by, group_wait 0 and no repeat, alerts are not grouped."""

    group_by: GroupBy = []
    group_wait: GroupWait = DEFAULT_GROUP_WAIT
    group_interval: GroupInterval = DEFAULT_GROUP_INTERVAL
    repeat_interval: RepeatInterval = 0
    group_max_alerts: GroupMaxAlerts = DEFAULT_MAX_ALERTS


def effective_timing(rule: dict[str, Any], defaults: dict[str, Any] | None) -> dict[str, Any]:
    """The grouping settings in force for a rule (its stored fields, `rule`, over the site
    defaults, `defaults`: a stored GroupingDefaults or None)."""
    base = GroupingDefaults().model_dump() | (defaults or {})
    return {name: base[name] if rule.get(name) is None else rule[name]
            for name in GROUPING_FIELDS}
