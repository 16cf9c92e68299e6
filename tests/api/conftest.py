"""Fixtures of the API tests."""

import pytest

from tests.support.videodb import event, scene_index, stream


@pytest.fixture
def world(client, headers):
    """A stream, one of its scene indexes and an event (the test module gives `headers`)."""
    sid = stream(client, headers)["id"]
    iid = scene_index(client, headers, sid)["rtstream_index_id"]
    return sid, iid, event(client, headers)
