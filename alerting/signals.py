"""In-process signals between the parts: ingest wakes the matcher, a matched batch feeds the
live hub, new delivery rows wake the dispatcher. Each is sent with the app as sender, after
the commit."""

from blinker import Namespace

_signals = Namespace()

events_stored = _signals.signal("events-stored")  # ids: list[int]
events_matched = _signals.signal("events-matched")  # event_ids, alert_ids: list[int]
alert_updated = _signals.signal("alert-updated")  # alert_id: int
groups_due = _signals.signal("groups-due")  # grouped alerts were written, or one acknowledged
deliveries_due = _signals.signal("deliveries-due")  # delivery rows were written (or re-queued)
escalations_due = _signals.signal("escalations-due")  # an alert to escalate was written
tracks_due = _signals.signal("tracks-due")  # a track's due time was set (workers/track_timer)
