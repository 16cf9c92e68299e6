"""The Integrations page: the environment's settings shown, saving through the same service
as the API (errors beside the field, secrets never shown), and the Test buttons reporting
what Frigate (a local HTTP server playing its API) and the real Mosquitto answered."""

from __future__ import annotations

import pytest

from alerting.services import integrations
from tests.support.app import make_app
from tests.support.mqtt import FakeFrigate
from tests.support.web import csrf_token, login


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, MQTT_URL="mqtt://ingest:broker-secret@127.0.0.1:1883",
                    FRIGATE_URL="http://frigate.lan:5000")


@pytest.fixture
def page(client):
    login(client)
    return client


@pytest.fixture
def frigate():
    fake = FakeFrigate(cameras=("porch",))
    yield fake
    fake.close()


def _form(page, **fields):
    token = csrf_token(page.get("/integrations").data)
    return {"csrf_token": token, "mqtt_client_id": "alerting", "mqtt_topics": "", **fields}


def test_shows_the_environment_without_secrets(page):
    html = page.get("/integrations").get_data(as_text=True)
    assert "mqtt://ingest:***@127.0.0.1:1883" in html and "broker-secret" not in html
    assert 'value="http://frigate.lan:5000"' in html and "From the environment" in html
    assert 'href="/integrations" aria-current="page"' in html


def test_save_and_errors_beside_the_field(page, app):
    response = page.post("/integrations", headers={"HX-Request": "true"}, data=_form(
        page, **{"frigate-0-topic_prefix": "frigate", "frigate-0-base_url": "ftp://nvr",
                 "frigate-1-topic_prefix": "garage", "frigate-1-base_url": "http://garage.lan:5000"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="frigate-0-base_url-error"' in html and "http or https URL" in html
    response = page.post("/integrations", headers={"HX-Request": "true"}, data=_form(
        page, mqtt_url="mqtt://u:page-secret@broker.lan:1883",
        **{"frigate-0-topic_prefix": "frigate", "frigate-0-base_url": "http://nvr.lan:5000",
           "frigate-0-username": "viewer", "frigate-0-password": "pw-secret",
           "frigate-1-topic_prefix": "garage", "frigate-1-base_url": "http://garage.lan:5000"}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Integration settings saved." in html
    assert "page-secret" not in html and "pw-secret" not in html
    assert "mqtt://u:***@broker.lan:1883 (stored)" in html
    assert 'value="garage"' in html and "A password is stored" in html
    # Remove one; the other keeps its password though the box was blank.
    page.post("/integrations", data=_form(page, **{
        "frigate-0-topic_prefix": "frigate", "frigate-0-base_url": "http://nvr.lan:5000",
        "frigate-0-username": "viewer", "frigate-1-topic_prefix": "garage",
        "frigate-1-base_url": "http://garage.lan:5000", "frigate-1-remove": "y"}))
    with app.app_context():
        body = integrations.settings_json()
    assert [i["prefix"] for i in body["frigate"]] == ["frigate"]
    assert body["frigate"][0]["password_set"] is True


def test_test_buttons_show_what_was_seen(page, frigate):
    page.post("/integrations", data=_form(page, **{
        "frigate-0-topic_prefix": "frigate", "frigate-0-base_url": frigate.url}))
    response = page.post("/integrations/test/frigate/0", headers={"HX-Request": "true"},
                         data=_form(page, **{"frigate-0-topic_prefix": "frigate"}))
    html = response.get_data(as_text=True)
    assert "OK:" in html and FakeFrigate.VERSION in html and "cameras: porch" in html
    response = page.post("/integrations/test/mqtt/0", headers={"HX-Request": "true"},
                         data=_form(page, mqtt_url="mqtt://127.0.0.1:1883",
                                    **{"frigate-0-topic_prefix": "frigate"}))
    html = response.get_data(as_text=True)
    assert "OK:" in html and "connected to mqtt://127.0.0.1:1883" in html
    assert "events:" in html
