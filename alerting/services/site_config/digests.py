"""The `digests` section: the notification digests, as PUT /api/notification/digests takes
them. Given, the list replaces the stored one whole (a digest left out is deleted); left out
of the file, the digests are kept. A target holding a secret is written as shown (`***`),
which keeps the stored one; for another instance write the whole URL.
"""

from __future__ import annotations

from typing import Any

from ...notify.redact import redact_url
from ...schemas.digests import Digest
from .. import digests
from .base import Change, FieldChange, Section
from .yaml_lines import escape_all  # a literal ${ in a string, kept literal in the file

KEYS = ("name", "channel", "target", "schedule", "filter", "send_empty")


def _stored() -> dict[str, dict[str, Any]]:
    return {entry["name"]: {key: entry.get(key) for key in KEYS}
            for entry in digests.configured()}


def _shown(digest: dict[str, Any] | None) -> dict[str, Any] | None:
    """A digest as the diff and the audit show it: a webhook or push target redacted, as
    stored ones are shown (the digest applied stays whole)."""
    if not digest or digest["channel"] == "email":
        return digest
    return {**digest, "target": redact_url(digest["target"])}


class DigestsSection(Section):
    """Notification digests by name: the whole list."""

    key = "digests"
    model = list[Digest]

    def export(self) -> list[dict[str, Any]]:
        return [escape_all(entry) for entry in _stored().values()]

    def diff(self, desired: list[Digest], path: str) -> list[Change]:
        before = _stored()
        after = {digest.name: digest.model_dump() for digest in desired}
        fields = [FieldChange(name, before.get(name), _shown(after.get(name)))
                  for name in [*before, *(n for n in after if n not in before)]
                  if before.get(name) != after.get(name)]
        if not fields:
            return []
        return [Change(self.key, "update", None, fields, {"digests": list(after.values())},
                       None, path)]

    def apply(self, change: Change, actor: str) -> None:
        digests.replace_all(change.desired, actor, commit=False)
