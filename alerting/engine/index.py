"""Candidate rules for an event, bucketed by camera and object type: most rules are never seen."""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from datetime import datetime
from operator import attrgetter

from .rule_eval import CompiledRule, EventView, Verdict, compile_rule, scan
from .types import Event, Rule

_BY_ID = attrgetter("id")
_MERGED_LIMIT = 20_000


class _Bucket:
    __slots__ = ("by_type", "any_type")

    def __init__(self) -> None:
        # Every list is kept sorted by rule id, so a merge of them sorts in near-linear time.
        self.by_type: dict[str, list[CompiledRule]] = {}
        self.any_type: list[CompiledRule] = []

    def __bool__(self) -> bool:
        return bool(self.by_type or self.any_type)


class RuleIndex:
    """Enabled rules bucketed by camera (None: any camera), then by casefolded object type.

    A rule sits in one bucket per camera it lists and, within, one list per type it lists; a
    rule without cameras or without types sits in the wildcard bucket or list. Not safe to
    mutate while another thread matches: build a new index and swap it in instead.
    """

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, CompiledRule] = {}
        self._buckets: dict[str | None, _Bucket] = {}
        # A camera sends much the same objects again and again, so the merged candidate list
        # for (camera, set of types) is worth keeping until the rules change.
        self._merged: dict[tuple[str, frozenset[str]], list[CompiledRule]] = {}
        for rule in rules:
            self.add(rule)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def add(self, rule: Rule) -> None:
        """Index a rule, replacing one with the same id; a disabled rule is only removed."""
        self.remove(rule.id)
        if not rule.enabled:
            return
        self._merged.clear()
        c = compile_rule(rule)
        self._rules[rule.id] = c
        for camera in c.cameras or (None,):
            bucket = self._buckets.get(camera)
            if bucket is None:
                bucket = self._buckets[camera] = _Bucket()
            if c.types is None:
                insort(bucket.any_type, c, key=_BY_ID)
            else:
                for t in c.types:
                    insort(bucket.by_type.setdefault(t, []), c, key=_BY_ID)

    def remove(self, rule_id: str) -> bool:
        """Drop a rule by id; False when it was not indexed."""
        c = self._rules.pop(rule_id, None)
        if c is None:
            return False
        self._merged.clear()
        for camera in c.cameras or (None,):
            bucket = self._buckets[camera]
            if c.types is None:
                bucket.any_type.remove(c)
            else:
                for t in c.types:
                    bucket.by_type[t].remove(c)
                    if not bucket.by_type[t]:
                        del bucket.by_type[t]
            if not bucket:
                del self._buckets[camera]
        return True

    def replace(self, rule: Rule) -> None:
        """Re-index an edited rule (same as add)."""
        self.add(rule)

    def _candidates(self, view: EventView) -> list[CompiledRule]:
        """Candidates for the event's camera and types by id, repeats adjacent; do not mutate."""
        key = (view.event.camera_id, view.types)
        merged = self._merged.get(key)
        if merged is not None:
            return merged
        out: list[CompiledRule] = []
        runs = 0
        types = view.types
        buckets = self._buckets
        for bucket in (buckets.get(view.event.camera_id), buckets.get(None)):
            if bucket is None:
                continue
            if bucket.any_type:
                out += bucket.any_type
                runs += 1
            if types:
                by_type = bucket.by_type
                for t in types:
                    found = by_type.get(t)
                    if found:
                        out += found
                        runs += 1
        if runs > 1:
            # A rule listing two of the event's types is gathered twice; sorted, the copies sit
            # side by side, and scan() skips a repeat more cheaply than removing it here.
            out.sort(key=_BY_ID)
        if len(self._merged) >= _MERGED_LIMIT:
            self._merged.clear()
        self._merged[key] = out
        return out

    def candidates(self, event: Event) -> list[Rule]:
        """Rules that could match the event, each once, ordered by rule id."""
        return [c.rule for c in dict.fromkeys(self._candidates(EventView(event)))]

    def match_all(
        self, event: Event, *, at: datetime | None = None, default_timezone: str = "UTC",
        mode: str | None = None,
    ) -> list[Verdict]:
        """Verdicts of the rules that match the event (in arming `mode`), ordered by rule id."""
        view = EventView(event, at, mode)
        return scan(self._candidates(view), view, default_timezone, check_camera=False)


def match_linear(
    rules: Iterable[Rule],
    event: Event,
    *,
    at: datetime | None = None,
    default_timezone: str = "UTC",
) -> list[Verdict]:
    """Baseline without an index: every enabled rule is checked, in the order given."""
    compiled = (compile_rule(rule) for rule in rules if rule.enabled)
    return scan(compiled, EventView(event, at), default_timezone)
