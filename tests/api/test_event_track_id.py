"""A detection's track_id: the 255 characters the schema allows are stored, on every database."""

from tests.support.factories import event_body


def test_a_255_character_track_id_is_stored_and_256_is_refused(client, admin_headers):
    track = "t" * 255
    body = event_body(detections=[{"object_type": "person", "track_id": track}])
    response = client.post("/api/events", json=body, headers=admin_headers)
    assert response.status_code == 201, response.json
    stored = client.get(f"/api/events/{response.json['id']}", headers=admin_headers).json
    assert stored["detections"][0]["track_id"] == track
    body["detections"][0]["track_id"] = track + "t"
    refused = client.post("/api/events", json=body, headers=admin_headers)
    assert refused.status_code == 422
    assert "detections.0.track_id" in refused.json["fields"]
