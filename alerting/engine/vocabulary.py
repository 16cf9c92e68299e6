"""Names and constants shared by the engine, the validation schemas, the API and the pages."""

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_PRIORITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}

CHANNELS = ("email", "webhook", "push")
# Where deliveries go: a rule's channels, and web push to the browsers subscribed to it.
DELIVERY_CHANNELS = (*CHANNELS, "webpush")
# A rule's push priority (mapped per push service in notify/push.py) and the sound the live
# page and web push play for its alerts (static/sounds/<name>.wav; "none": silent).
PRIORITIES = ("low", "normal", "high", "urgent")
SOUNDS = ("default", "chime", "alarm", "none")

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAY_NAMES = {
    "sunday": "sun", "monday": "mon", "tuesday": "tue", "wednesday": "wed",
    "thursday": "thu", "friday": "fri", "saturday": "sat",
}

# Variables a dedup_key_template may use (DESIGN.md). Time ones are rendered in the
# schedule's timezone: hour "00".."23", date "YYYY-MM-DD", weekday "sun".."sat".
DEDUP_VARIABLES = (
    "camera_id", "rule_id", "object_type", "zone_id", "severity", "hour", "date", "weekday",
)
DEFAULT_DEDUP_TEMPLATE = "{rule_id}:{camera_id}"
DEFAULT_COOLDOWN_SECONDS = 300

# Names reported in matched_conditions / failed_conditions, in evaluation order.
MATCH_CONDITIONS = (
    "risk_threshold", "object_type", "camera", "zone", "min_confidence", "schedule", "mode",
    "conditions", "dwell", "zone_sequence", "stationary", "identity", "min_count",
)

# Event fields a `conditions` clause may test, with the kind of value each holds.
CONDITION_FIELDS = {
    "summary": "text",
    "risk_level": "text",
    "risk_score": "number",
    "duration_seconds": "number",
    "detection_count": "number",
    "max_confidence": "number",
    "labels": "list",
    "object_types": "list",
    "zone_ids": "list",
    "camera_id": "text",
    "source": "text",
    "scene_index_id": "text",
    # Recognised identity (face) and plate, and the review item's severity (`alert`,
    # `detection`) and GenAI threat level (0..2): set by the Frigate adapter, or by any
    # detector through attributes.identity.name / attributes.plate.
    "identity": "text",
    "plate": "text",
    "review_severity": "text",
    "genai_threat_level": "number",
}
CONDITION_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "matches")

# risk_level derived from risk_score when a detector sends only the score:
# the level is the last one whose floor the score reaches.
RISK_LEVEL_FLOORS = (("low", 0), ("medium", 30), ("high", 60), ("critical", 85))
RISK_LEVELS = tuple(name for name, _ in RISK_LEVEL_FLOORS)


def risk_level_for(score: int | None) -> str | None:
    """The risk level a score falls in, or None when there is no score."""
    if score is None:
        return None
    level = RISK_LEVEL_FLOORS[0][0]
    for name, floor in RISK_LEVEL_FLOORS:
        if score >= floor:
            level = name
    return level
