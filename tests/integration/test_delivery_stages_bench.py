"""bench/delivery_stages.py: each probe's line goes to the event whose POST it followed, in
stage order, and an event's stages stop at the next event's POST."""

import json

from bench import delivery_stages


def test_stages_are_attributed_in_order_within_each_event(tmp_path):
    stages = tmp_path / "stages.jsonl"
    lines = [
        ("entered", 1.001), ("committed", 1.004), ("due signalled", 1.0041),
        ("dispatcher woken", 1.0035),  # a step before the signal: not this event's wake
        ("dispatcher woken", 1.005), ("claim started", 1.0051), ("build started", 1.0055),
        ("message built", 1.006), ("claim committed", 1.0065), ("send started", 1.007),
        ("http started", 1.0071), ("http answered", 1.009), ("record started", 1.0095),
        ("outcome recorded", 1.010), ("answered", 1.0045),
        ("entered", 2.001), ("committed", 2.004),  # the second event stops here
    ]
    stages.write_text("".join(json.dumps(line) + "\n" for line in lines))
    events = [{"sent": 1.0, "POST returned": 1.008, "receiver got it": 1.008},
              {"sent": 2.0, "POST returned": 2.006, "receiver got it": 2.1}]

    delivery_stages.attribute(events, stages)

    first, second = events
    assert first["dispatcher woken"] == 1.005
    assert first["outcome recorded"] == 1.010
    assert first["answered"] == 1.0045
    assert [s for s in delivery_stages.ORDER if s in first] == list(delivery_stages.ORDER)
    assert second["committed"] == 2.004
    assert "due signalled" not in second and "outcome recorded" not in second
