"""Escalation: when an alert nobody acknowledged goes to a rule's escalation targets.

Pure decisions, no database: the pipeline asks `due_at` when it writes an alert (the answer
is stored on it as `escalate_at`), the escalation worker asks `still_escalates` of what it
claims, and both render the reason with `reason`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .vocabulary import SEVERITY_PRIORITY

# A person has seen it (or it was never to be sent): nothing to escalate.
SETTLED_STATUSES = frozenset({"acknowledged", "dismissed", "silenced"})


@dataclass(frozen=True, slots=True)
class Policy:
    """A rule's escalation: after how long, from which severity (None: any)."""

    after_seconds: int
    min_severity: str | None = None


def policy_from_record(after_seconds: int | None, targets: dict | None,
                       min_severity: str | None) -> Policy | None:
    """The rule's policy, or None when it does not escalate (no delay or no target)."""
    if not after_seconds or not targets or not any(targets.values()):
        return None
    return Policy(after_seconds, min_severity)


def applies(policy: Policy | None, severity: str) -> bool:
    """Whether alerts of `severity` escalate under `policy` (at least its min_severity)."""
    if policy is None:
        return False
    if policy.min_severity is None:
        return True
    return SEVERITY_PRIORITY[severity] <= SEVERITY_PRIORITY[policy.min_severity]


def due_at(policy: Policy | None, severity: str, status: str,
           created_at: datetime) -> datetime | None:
    """When an alert just created escalates unless acknowledged first; None: never."""
    if status in SETTLED_STATUSES or not applies(policy, severity):
        return None
    return created_at + timedelta(seconds=policy.after_seconds)


def still_escalates(status: str) -> bool:
    """Whether an alert whose escalation is due is sent on (not acknowledged meanwhile)."""
    return status not in SETTLED_STATUSES


def duration_text(seconds: int) -> str:
    """"5 min", "90 s", "2 h", "1 h 30 min": how long, as people say it."""
    if seconds < 60 or seconds % 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


def reason(after_seconds: int) -> str:
    """The line every escalated message starts with."""
    return f"Escalated: not acknowledged within {duration_text(after_seconds)}"


def wait_seconds(earliest_due: datetime | None, now: datetime, cap: float) -> float:
    """How long the worker sleeps: until the earliest due time, at most `cap` seconds."""
    if earliest_due is None:
        return cap
    return max(0.0, min(cap, (earliest_due - now).total_seconds()))
