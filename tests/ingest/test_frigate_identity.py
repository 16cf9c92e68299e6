"""Frigate's sub_label becomes the detection's identity (as over the HTTP API), and stays in
`attributes.identity`; a name too long for a detection stays in the attributes only."""

from __future__ import annotations

import pytest

from alerting.ingest import frigate
from alerting.schemas.events import MAX_IDENTITY
from alerting.services import ingest

AFTER = {"id": "1765000000.1-abc", "camera": "front", "label": "person", "start_time": 1765000000}


@pytest.mark.parametrize(("sub_label", "identity", "score"), [
    (["Bob", 0.93], "Bob", 0.93),
    ("Bob", "Bob", None),
    (["Bob", 7], "Bob", None),  # not a score: none
    (None, None, None),
    ("  ", None, None),
])
def test_the_sub_label_is_the_detections_identity(sub_label, identity, score):
    [det] = frigate.event_of("frigate", {**AFTER, "sub_label": sub_label})["detections"]
    assert (det.get("identity"), det.get("identity_score")) == (identity, score)


def test_a_frigate_event_with_a_sub_label_is_stored_with_it(app):
    long_name = "x" * (MAX_IDENTITY + 1)
    with app.app_context():
        for name, expected in (("Bob", "Bob"), (long_name, None)):
            event = frigate.event_of("frigate", {**AFTER, "id": name[:20],
                                                 "sub_label": [name, 0.8]})
            status, body = ingest.ingest(event)
            assert status == 201, body
            assert body["detections"][0]["identity"] == expected
            assert body["attributes"]["identity"] == {"name": name, "score": 0.8}
