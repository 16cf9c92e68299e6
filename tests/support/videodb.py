"""Calls to the VideoDB-compatible API as the SDK makes them, and the envelopes they answer."""

from __future__ import annotations

JSON = {"Content-Type": "application/json"}  # the SDK sends it on every request, GETs too


def ok(response, status=200):
    assert response.status_code == status, response.json
    body = response.json
    assert body["success"] is True and isinstance(body["data"], dict), body
    assert "status" not in body  # the SDK would start polling
    return body["data"]


def fails(response, status):
    assert response.status_code == status, response.json
    assert set(response.json) == {"success", "message"}, response.json
    assert response.json["success"] is False and response.json["message"]
    return response.json["message"]


def stream(client, headers, **body):
    body = {"collection_id": "default", "url": "rtsp://cam.local/1", "name": "Front door",
            "media_types": ["video"], **body}
    return ok(client.post("/rtstream", json=body, headers=headers))


def scene_index(client, headers, stream_id, **body):
    body = {"extraction_type": "time", "extraction_config": {"time": 2, "frame_count": 5},
            "prompt": "Describe the scene", "model_name": None, "model_config": {},
            "name": "visuals", **body}
    return ok(client.post(f"/rtstream/{stream_id}/index/scene", json=body, headers=headers))


def event(client, headers, label="intrusion", prompt="Someone climbs the fence"):
    return ok(client.post("/rtstream/event", json={"event_prompt": prompt, "label": label},
                          headers=headers))["event_id"]
