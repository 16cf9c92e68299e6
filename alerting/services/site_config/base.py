"""What every section of the site configuration is made of: the Section interface and the
changes it reports (see the package's docstring)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Literal

from ...engine.errors import ValidationError
from ...models import utcnow

REPLAY_DAYS = 7
Action = Literal["create", "update", "delete", "keep"]


@dataclass
class FieldChange:
    """One field's value before and after; a secret's values are never shown."""

    field: str
    before: Any
    after: Any
    secret: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.secret:
            return {"field": self.field, "before": None, "after": None, "secret": True}
        return {"field": self.field, "before": self.before, "after": self.after,
                "secret": False}


@dataclass
class Change:
    """What applying the file does to one object of a section. `keep`: stored but not in
    the file (deleted only with prune). `desired` and `target` are the section's own."""

    section: str
    action: Action
    name: str | None
    fields: list[FieldChange] = field(default_factory=list)
    desired: Any = None
    target: Any = None
    path: str = ""  # where in the file (dotted), for errors found while applying
    note: str = ""  # why a `keep` is kept, when not "not in the file"

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "action": self.action, "name": self.name,
                "fields": [f.as_dict() for f in self.fields]}


def named(items: list[Any], path: str) -> Iterator[tuple[str, Any]]:
    """(dotted path, item) of each item of a section known by name, refusing (at the second
    one) a name the file gives twice."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        where = f"{path}.{index}"
        if item.name in seen:
            raise ValidationError({f"{where}.name": f"is the name of {path}.{seen[item.name]}"
                                                    " too; each needs its own"})
        seen[item.name] = index
        yield where, item


class Section(ABC):
    """One part of the site configuration. Subclasses set `key` (the file's top-level key),
    `model` (the schema type that validates that part) and implement the three steps."""

    key: ClassVar[str]
    model: ClassVar[Any]
    # Fields the export writes as `${VAR}` (field -> VAR): given back with VAR unset, the
    # field reads as yaml_lines.KEEP_STORED, for `prepare` to keep the stored secret.
    references: ClassVar[Mapping[str, str]] = {}

    @abstractmethod
    def export(self) -> Any:
        """This section's part of the file, from what is stored (secrets as references)."""

    def check(self, document: Any, changes: list[Change], prune: bool) -> None:
        """After every section's diff: refuse (ValidationError naming the file's path) what
        only the whole file shows, e.g. a rule naming a mute timing neither stored nor in
        the file (default: nothing to check)."""
        return None

    def begin(self, changes: list[Change]) -> None:
        """Before the transaction that applies `changes` (this section's) starts: work
        that commits on its own (default: none)."""
        return None

    def prepare(self, raw: Any, lines: Mapping[tuple[str, ...], int]) -> Any:
        """The file's part as read, before validation (default: as is)."""
        return raw

    @abstractmethod
    def diff(self, desired: Any, path: str) -> list[Change]:
        """The changes from what is stored to `desired` (validated); none when equal."""

    @abstractmethod
    def apply(self, change: Change, actor: str) -> None:
        """Make one change in the open transaction (no commit)."""

    def replay(self, change: Change) -> Any:
        """What a dry run shows of a change beyond its fields (default: nothing)."""
        return None


def replay_window() -> tuple[Any, Any]:
    """The dry run's replay range: the last REPLAY_DAYS days."""
    until = utcnow()
    return until - timedelta(days=REPLAY_DAYS), until
