"""In-process signals between the parts: ingest wakes the matcher, new alerts wake the
dispatcher and the live hub. Each is sent with the app as sender, after the commit."""

from blinker import Namespace

_signals = Namespace()

events_stored = _signals.signal("events-stored")  # ids: list[int]
alerts_created = _signals.signal("alerts-created")  # alert_ids: list[int]
alert_updated = _signals.signal("alert-updated")  # alert_id: int
rules_changed = _signals.signal("rules-changed")
deliveries_due = _signals.signal("deliveries-due")  # delivery rows were written (or re-queued)
