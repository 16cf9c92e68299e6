"""Starting points for a new rule (the chips at the top of the rule form, and
`/rules/new?preset=<name>`): each is a rule payload as the API takes it, only filled into the
form, never saved until the user saves it."""

from __future__ import annotations

import copy
from typing import Any

from ..engine.vocabulary import DAYS

NIGHT = {"days": list(DAYS), "start_time": "22:00", "end_time": "06:00", "timezone": None}

# name -> (label, payload)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "person-at-night": ("Person at night", {
        "name": "Person at night", "severity": "high", "object_types": ["person"],
        "min_confidence": 0.6, "schedule": NIGHT, "cooldown_seconds": 300,
        "dedup_key_template": "{rule_id}:{camera_id}:{object_type}"}),
    "vehicle-in-driveway": ("Vehicle in driveway", {
        "name": "Vehicle in the driveway", "severity": "medium",
        "object_types": ["car", "truck", "motorcycle"], "zone_ids": ["driveway"],
        "cooldown_seconds": 600, "dedup_key_template": "{rule_id}:{camera_id}:{zone_id}"}),
    "animals": ("Animals", {
        "name": "Animals", "severity": "low", "object_types": ["cat", "dog", "bird", "fox"],
        "cooldown_seconds": 1800, "dedup_key_template": "{rule_id}:{camera_id}:{object_type}"}),
    "package-left": ("Package left", {
        "name": "Package left at the door", "severity": "medium", "object_types": ["package"],
        "cooldown_seconds": 3600}),
    "person-while-away": ("Person while away", {
        "name": "Person while away", "severity": "critical", "object_types": ["person"],
        "modes": ["away", "vacation"], "cooldown_seconds": 120,
        "dedup_key_template": "{rule_id}:{camera_id}"}),
}


def preset_payload(name: str | None) -> dict[str, Any] | None:
    """A copy of the named preset's payload, or None for an unknown name."""
    found = PRESETS.get(name or "")
    return copy.deepcopy(found[1]) if found else None
