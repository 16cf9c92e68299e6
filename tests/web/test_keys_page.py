"""The keys page: the new key in monospace with a Copy button, an example request using it,
and revoked keys folded away."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from alerting.services import keys
from tests.support.pages import HX


def create(client, token, name="camera", scope="ingest") -> str:
    return client.post("/keys", data={"csrf_token": token, "name": name, "scope": scope},
                       headers=HX).get_data(as_text=True)


def new_key(page: str) -> str:
    return re.search(r'id="new-key-value" class="mono key-value" readonly value="([^"]+)"',
                     page).group(1)


@pytest.mark.parametrize(("scope", "example"), [
    ("ingest", "curl -X POST http://localhost/api/events"),
    ("admin", "curl -X POST http://localhost/api/events"),
    ("read", "curl http://localhost/api/alerts/rules"),
])
def test_the_new_key_comes_with_copy_buttons_and_an_example(client, token, scope, example):
    page = create(client, token, scope=scope)
    raw = new_key(page)
    assert 'data-copy-target="new-key-value">Copy</button>' in page
    assert 'data-copy-target="new-key-example">Copy</button>' in page
    code = html_lib.unescape(re.search(r'<pre class="example" id="new-key-example"[^>]*><code>'
                                       r"(.*?)</code></pre>", page, re.S).group(1))
    assert code.startswith(example) and f'-H "x-access-token: {raw}"' in code


def test_the_example_uses_the_public_url_when_set(app, client, token):
    app.config["PUBLIC_URL"] = "https://alerts.example.com/"
    assert "curl -X POST https://alerts.example.com/api/events" in create(client, token)


def test_the_example_request_works(app, client, token):
    raw = new_key(create(client, token))
    response = client.post("/api/events", headers={"x-access-token": raw}, json={
        "camera_id": "front-door", "detections": [{"object_type": "person", "confidence": 0.9}]})
    assert response.status_code == 201, response.get_json()


def test_revoked_keys_are_folded_away(app, client, token):
    create(client, token, name="kept")
    create(client, token, name="old")
    with app.app_context():
        old = next(k for k in keys.list_keys() if k.name == "old")
        keys.revoke_key(old.id, actor="test")
    page = client.get("/keys").get_data(as_text=True)
    shown, folded = page.split('<details class="revoked-keys">')
    assert ">kept</td>" in shown and ">old</td>" not in shown
    assert "<summary>Revoked keys (1)</summary>" in folded and ">old</td>" in folded
