"""docs/webhooks.md shows the body a receiver gets: its example has exactly the fields that
a real delivery to a real receiver carries, at every level."""

import json
import re
from pathlib import Path

from standardwebhooks import Webhook

from tests.support.app import make_app, make_key
from tests.support.factories import configure, create_rule, post_event, run_dispatcher, run_matcher

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_body() -> dict:
    section = DOC.read_text().split("## The body", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))


def shape(value):
    """The field names at every level (lists by their first item), not the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def test_the_documented_body_is_the_one_sent(tmp_path, httpserver):
    app = make_app(tmp_path, WEBHOOK_ALLOW_CIDRS=["127.0.0.0/8"])
    headers = {"x-access-token": make_key(app)}
    client = app.test_client()
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    configure(app, headers, default_webhook_url=httpserver.url_for("/hook"))
    key = client.post("/api/notification/webhook-secret/reveal",
                      headers=headers).json["webhook_secret"]
    create_rule(client, headers, channels=["webhook"])
    post_event(client, headers, external_id="ev-1", source="t")
    run_matcher(app)
    run_dispatcher(app)
    [(request, _)] = httpserver.log
    sent = Webhook(key).verify(request.get_data(), dict(request.headers))
    assert shape(sent) == shape(documented_body())
    assert sent["type"] == documented_body()["type"] == "alert.created"
