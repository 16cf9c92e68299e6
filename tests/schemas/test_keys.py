"""POST /api/keys's body: one model for the API, the keys page and the CLI."""

import pytest

from alerting.schemas.common import ValidationError, validate
from alerting.schemas.keys import KeyCreate


def test_defaults_and_cleaning():
    key = validate(KeyCreate, {"name": "  camera box  "})
    assert (key.name, key.scope) == ("camera box", "read")


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": 5, "scope": 1}, {"name": "must be a string", "scope": "must be a string"}),
    ({"name": " "}, {"name": "must be 1 to 100 characters"}),
    ({"name": "n" * 101}, {"name": "must be 1 to 100 characters"}),
    ({"name": "a\x00"}, {"name": "must not contain NUL characters"}),
    ({"name": "k", "scope": "root"}, {"scope": "must be one of admin, ingest, read, metrics"}),
    ({"name": "k", "expires": 1}, {"expires": "unknown field"}),
    ({}, {"name": "is required"}),
])
def test_refusals(body, fields):
    with pytest.raises(ValidationError) as exc:
        validate(KeyCreate, body)
    assert exc.value.fields == fields


def test_api_answers_with_the_model(client, admin_headers):
    response = client.post("/api/keys", json={"name": "", "scope": "root", "x": 1},
                           headers=admin_headers)
    assert response.status_code == 422
    assert response.json["fields"] == {"name": "must be 1 to 100 characters",
                                       "scope": "must be one of admin, ingest, read, metrics",
                                       "x": "unknown field"}
