"""Query-string filters for the event and alert listings (shared by the API and the pages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .rule_schema import MAX_DB_INT, parse_pagination
from .timeparse import parse_datetime
from .vocabulary import CHANNELS, RISK_LEVELS, SEVERITIES

ALERT_STATUSES = ("pending", "delivered", "failed", "acknowledged", "dismissed")


def _text(args: Mapping[str, Any], name: str, errors: dict[str, str], max_length: int = 255):
    value = args.get(name)
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    if len(value) > max_length:
        errors[name] = f"must be at most {max_length} characters"
        return None
    if "\x00" in value:  # PostgreSQL refuses NUL in a string parameter
        errors[name] = "must not contain NUL characters"
        return None
    return value


def _choice(args, name: str, choices: tuple[str, ...], errors: dict[str, str]):
    value = _text(args, name, errors)
    if value is None:
        return None
    if value.lower() not in choices:
        errors[name] = f"must be one of {', '.join(choices)}"
        return None
    return value.lower()


def _when(args, name: str, errors: dict[str, str]):
    value = _text(args, name, errors)
    if value is None:
        return None
    try:
        return parse_datetime(value, name)
    except ValidationError as exc:
        errors.update(exc.fields)
        return None


def _finish(result: dict[str, Any], args, errors: dict[str, str]) -> dict[str, Any]:
    try:
        result["limit"], result["offset"] = parse_pagination(args)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return result


def parse_event_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """camera_id, object_type, since, until, risk_level, limit, offset."""
    errors: dict[str, str] = {}
    result = {
        "camera_id": _text(args, "camera_id", errors),
        "object_type": _text(args, "object_type", errors, 100),
        "since": _when(args, "since", errors),
        "until": _when(args, "until", errors),
        "risk_level": _choice(args, "risk_level", RISK_LEVELS, errors),
    }
    return _finish(result, args, errors)


def parse_alert_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """status, severity, rule_id, camera_id, since, limit, offset."""
    errors: dict[str, str] = {}
    result = {
        "status": _choice(args, "status", ALERT_STATUSES, errors),
        "severity": _choice(args, "severity", SEVERITIES, errors),
        "rule_id": _text(args, "rule_id", errors, 36),
        "camera_id": _text(args, "camera_id", errors),
        "since": _when(args, "since", errors),
    }
    return _finish(result, args, errors)


DELIVERY_STATUSES = ("pending", "sending", "delivered", "dead")


def parse_delivery_query(args: Mapping[str, Any]) -> dict[str, Any]:
    """status, channel, alert_id, limit, offset."""
    errors: dict[str, str] = {}
    result: dict[str, Any] = {
        "status": _choice(args, "status", DELIVERY_STATUSES, errors),
        "channel": _choice(args, "channel", CHANNELS, errors),
        "alert_id": None,
    }
    alert_id = _text(args, "alert_id", errors, 19)
    if alert_id is not None:
        # ASCII digits only (isdigit() also takes "²", which int() refuses), within BIGINT.
        if alert_id.isascii() and alert_id.isdigit() and int(alert_id) <= MAX_DB_INT:
            result["alert_id"] = int(alert_id)
        else:
            errors["alert_id"] = "must be a positive integer"
    return _finish(result, args, errors)
