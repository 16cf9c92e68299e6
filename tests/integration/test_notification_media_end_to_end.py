"""A real server (gunicorn) notifies a real SMTP server (aiosmtpd), a real webhook receiver and
a real ntfy-style receiver of an alert whose snapshot a real detector serves. The email shows
the snapshot inline (cid:) and attached. The webhook receiver, holding no session and
no key, fetches the signed media link from the server over HTTP while it handles the webhook;
an altered or expired link gets a 403 and no bytes. The ntfy-style receiver gets the snapshot
as Apprise's attachment and the action buttons, and posts the acknowledge button as ntfy
would: the alert is acknowledged, once."""

from __future__ import annotations

import email
import email.policy
import re
import time
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from werkzeug import Request, Response

from alerting.notify.media import sign_media_path
from tests.support.detector import SNAPSHOT, detector_server
from tests.support.factories import event_body, rule_body
from tests.support.receivers import Collector
from tests.support.server import free_port, running_server, server_env, wait_for

KEY = "e2e-admin-key-0123456789"
SECRET = server_env("unused")["ALERTING_SECRET_KEY"]  # the key running_server signs with


def _fetch(url: str) -> tuple[int, bytes]:
    answer = requests.get(url, timeout=10)  # a client of its own: no session, no key
    return answer.status_code, answer.content


def _altered(link: str) -> list[str]:
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}"
    flip = query["sig"][:-1] + ("A" if query["sig"][-1] != "A" else "B")
    return [
        f"{base}{parts.path}?exp={query['exp']}&sig={flip}",  # another signature
        f"{base}{parts.path}?exp={int(query['exp']) + 60}&sig={query['sig']}",  # longer life
        f"{base}{parts.path.replace('snapshot.jpg', 'thumbnail.jpg')}?{parts.query}",
        f"{base}{parts.path}",  # no signature: a login is needed
    ]


def test_receivers_fetch_the_signed_snapshot_and_act_on_the_buttons(tmp_path, smtp_server):
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    headers = {"x-access-token": KEY}
    fetched: dict[str, object] = {}
    collector = Collector()
    smtp = smtp_server(collector)

    def webhook_receiver(request: Request) -> Response:
        """What a receiver does with the webhook: fetch the snapshot it links to, now."""
        data = request.get_json()["data"]
        link = data["media"]["snapshot"]
        fetched["link"] = link
        fetched["good"] = _fetch(link)
        fetched["altered"] = [_fetch(url) for url in _altered(link)]
        return Response("ok")

    with detector_server() as detector, detector_server() as receiver, \
            detector_server() as ntfy:
        detector.expect_request("/api/events/e1/snapshot.jpg").respond_with_data(
            SNAPSHOT, content_type="image/jpeg")
        detector.expect_request("/api/events/e1/thumbnail.jpg").respond_with_data(
            b"not this one", content_type="image/jpeg")
        receiver.expect_request("/hook", method="POST").respond_with_handler(webhook_receiver)
        ntfy.expect_request("/alerts", method="POST").respond_with_json(
            {"id": "x", "event": "message"})
        media = {"snapshot_url": detector.url_for("/api/events/e1/snapshot.jpg"),
                 "thumbnail_url": detector.url_for("/api/events/e1/thumbnail.jpg")}
        with running_server(
                tmp_path, port=port, ALERTING_BOOTSTRAP_API_KEY=KEY, ALERTING_PUBLIC_URL=public,
                ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8", ALERTING_SMTP_HOST="127.0.0.1",
                ALERTING_SMTP_PORT=str(smtp.port), ALERTING_SMTP_USE_TLS="false",
                ALERTING_SMTP_FROM_ADDRESS="alerts@example.com",
                ALERTING_EMAIL_RECIPIENTS="ops@example.com") as (url, _proc, _log):
            requests.post(url + "/api/alerts/rules", headers=headers, json=rule_body(
                channels=["webhook", "push", "email"], priority="urgent",
                targets={"webhook_url": receiver.url_for("/hook"),
                         "push_urls": [f"ntfy://127.0.0.1:{ntfy.port}/alerts"]},
            )).raise_for_status()
            requests.post(url + "/api/events", headers=headers,
                          json=event_body(media=media)).raise_for_status()
            wait_for(lambda: fetched.get("altered") and ntfy.log and collector.envelopes,
                     timeout=30)
            [alert] = requests.get(url + "/api/alerts", headers=headers).json()["alerts"]

            # The webhook receiver fetched the snapshot's bytes with the signed link alone.
            link = fetched["link"]
            assert link.startswith(f"{public}/media/events/{alert['event_id']}/snapshot.jpg?exp=")
            assert fetched["good"] == (200, SNAPSHOT)
            assert [status for status, _ in fetched["altered"]][:3] == [403, 403, 403]
            assert all(body != SNAPSHOT for _, body in fetched["altered"])
            no_signature = requests.get(_altered(link)[-1], allow_redirects=False, timeout=10)
            assert no_signature.status_code == 302 and "/login" in no_signature.headers[
                "Location"]
            # Signed with the server's key, but expired a minute ago.
            path = urlsplit(link).path
            expired = sign_media_path(SECRET, path, 60, now=time.time() - 120)
            assert _fetch(public + expired)[0] == 403
            assert _fetch(public + sign_media_path(SECRET, path, 60)) == (200, SNAPSHOT)

            # The ntfy-style receiver: the snapshot attached, the priority, the click URL
            # and the action buttons as Apprise sends them to ntfy.
            [(request, _)] = ntfy.log
            assert request.get_data() == SNAPSHOT
            assert request.args["filename"] == f"snapshot-{alert['id']}.jpg"
            assert request.headers["X-Priority"] == "max"
            assert unquote(request.headers["X-Click"]) == f"{public}/alerts/{alert['id']}"
            buttons = [b.strip() for b in unquote(request.headers["X-Actions"]).split(";")]
            assert [b.split(",")[1].strip() for b in buttons] == [
                "Acknowledge", "Snooze camera 30 min", "Snooze rule 1 h"]
            # ntfy's http button: POST to the URL with the headers it names.
            kind, _label, target, *options = (part.strip() for part in buttons[0].split(","))
            assert (kind, options[0]) == ("http", "method=POST")
            assert re.fullmatch(rf"{re.escape(public)}/actions/\S+", target)
            sent = {k.removeprefix("headers."): v for k, v in
                    (option.split("=", 1) for option in options if option.startswith("headers."))}
            done = requests.post(target, headers=sent, timeout=10)
            assert done.status_code == 200 and done.json()["action"] == "acknowledge"
            status = requests.get(f"{url}/api/alerts/{alert['id']}", headers=headers).json()
            assert (status["status"], status["acknowledged_by"]) == (
                "acknowledged", "action link")
            assert requests.post(target, headers=sent, timeout=10).status_code == 409

            # The email: the snapshot's bytes inline, referenced by the HTML, and attached.
            [envelope] = collector.envelopes
            mail = email.message_from_bytes(envelope.original_content,
                                            policy=email.policy.default)
            related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
            [inline] = [p for p in related.iter_parts() if p.get_content_type() == "image/jpeg"]
            assert inline.get_content() == SNAPSHOT
            cid = inline["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in mail.get_body(("html",)).get_content()
            assert [a.get_content() for a in mail.iter_attachments()
                    if a.get_content_type() == "image/jpeg"] == [SNAPSHOT]
