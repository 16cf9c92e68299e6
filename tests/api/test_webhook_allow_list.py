"""webhook_allow_cidrs of PUT /api/notification/config: checked CIDRs (422 naming the entry),
merged with ALERTING_WEBHOOK_ALLOW_CIDRS, audited, and used by a running dispatcher from
its next claim on (no restart)."""

import pytest
from sqlalchemy import select

from alerting.extensions import db
from alerting.models import AuditLog, Delivery
from alerting.notify.dispatcher import Dispatcher
from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_matcher


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["172.16.5.0/24"], SMTP_USE_TLS=False)


@pytest.fixture
def headers(app):
    return {"x-access-token": make_key(app)}


def put(app, headers, **body):
    return app.test_client().put("/api/notification/config", json=body, headers=headers)


@pytest.mark.parametrize(("entries", "field", "says"), [
    (["10.0.0.0/8", "192.168.1.300/24"], "webhook_allow_cidrs.1", "not a network in CIDR"),
    (["0.0.0.0/0"], "webhook_allow_cidrs.0", "every address"),
    (["::/0"], "webhook_allow_cidrs.0", "every address"),
    ([""], "webhook_allow_cidrs.0", "CIDR form"),
    ([7], "webhook_allow_cidrs.0", "CIDR form"),
    ("10.0.0.0/8", "webhook_allow_cidrs", "list"),
])
def test_a_bad_entry_is_a_422_naming_it(app, headers, entries, field, says):
    response = put(app, headers, webhook_allow_cidrs=entries)
    assert response.status_code == 422, response.json
    assert list(response.json["fields"]) == [field]
    assert says in response.json["fields"][field]


def test_stored_normalised_shown_beside_the_environment_s_and_audited(app, headers):
    response = put(app, headers, webhook_allow_cidrs=["192.168.1.7/24", "fd00::1",
                                                      "192.168.1.0/24"])
    assert response.status_code == 200, response.json
    config = app.test_client().get("/api/notification/config", headers=headers).json
    assert config["webhook_allow_cidrs"] == ["192.168.1.0/24", "fd00::1/128"]
    assert config["webhook_allow_cidrs_fixed"] == ["172.16.5.0/24"]
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "notification_config_update")).all()[-1]
        assert entry.details["changes"]["webhook_allow_cidrs"] == {
            "before": None, "after": ["192.168.1.0/24", "fd00::1/128"]}
    assert put(app, headers, webhook_allow_cidrs=None).status_code == 200
    config = app.test_client().get("/api/notification/config", headers=headers).json
    assert config["webhook_allow_cidrs"] == [] and config["webhook_allow_cidrs_fixed"]


def refused_with_the_way_to_allow(response, field: str, address: str) -> None:
    assert response.status_code == 422
    message = response.json["fields"][field]
    assert message.startswith(f"refused: private address {address} is not allowed")
    assert "/notifications#allow-list" in message and "webhook_allow_cidrs" in message


def test_a_home_address_is_refused_with_the_way_to_allow_it(app, headers):
    response = put(app, headers, default_webhook_url="http://192.168.1.10:8123/api/webhook/x")
    refused_with_the_way_to_allow(response, "default_webhook_url", "192.168.1.10")
    # Allowed in the same request: the URL is judged by the new list.
    assert put(app, headers, webhook_allow_cidrs=["192.168.1.10/32"],
               default_webhook_url="http://192.168.1.10:8123/api/webhook/x").status_code == 200
    # The environment's networks count without being stored.
    assert put(app, headers, default_webhook_url="http://172.16.5.9/x").status_code == 200


def test_a_home_smtp_relay_is_refused_with_the_way_to_allow_it(app, headers):
    """An SMTP server on the home network (or this machine) is refused as a webhook is, and
    the message says where to allow it, as it does for webhooks and push."""
    refused_with_the_way_to_allow(put(app, headers, smtp_host="192.168.1.20"), "smtp_host",
                                  "192.168.1.20")
    assert put(app, headers, webhook_allow_cidrs=["192.168.1.20"],
               smtp_host="192.168.1.20").status_code == 200


def _outcomes(app):
    with app.app_context():
        return [(d.status, d.last_error) for d in
                db.session.scalars(select(Delivery).order_by(Delivery.id))]


def test_a_running_dispatcher_follows_the_stored_list(app, headers, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, webhook_allow_cidrs=["127.0.0.0/8"],
              default_webhook_url=httpserver.url_for("/hook"))
    client = app.test_client()
    create_rule(client, headers, channels=["webhook"])
    dispatcher = Dispatcher(app)
    try:
        post_event(client, headers, external_id="ev-1", source="t")
        run_matcher(app)
        dispatcher.drain(30)
        assert len(httpserver.log) == 1
        configure(app, headers, webhook_allow_cidrs=[])  # taken back: loopback is refused
        post_event(client, headers, external_id="ev-2", source="t")
        run_matcher(app)
        dispatcher.drain(30)
    finally:
        dispatcher.stop()
    assert len(httpserver.log) == 1
    (first, _), (second, error) = _outcomes(app)
    assert first == "delivered" and second == "dead"
    assert "loopback address 127.0.0.1 is not allowed" in error
