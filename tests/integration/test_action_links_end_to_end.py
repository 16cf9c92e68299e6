"""A real server emails an alert to a real SMTP server (aiosmtpd); the acknowledge link in
the mail, followed with a real HTTP client, asks first (GET, which does nothing) and then,
posted, acknowledges the alert, once."""

from __future__ import annotations

import email
import email.policy
import re
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.factories import event_body, rule_body
from tests.support.receivers import Collector, start_smtp
from tests.support.server import free_port, running_server, wait_for

KEY = "e2e-admin-key-0123456789"


def test_the_emailed_acknowledge_link_acks_the_alert(tmp_path):
    collector = Collector()
    smtp = start_smtp(collector)
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    headers = {"x-access-token": KEY}
    try:
        with running_server(
                tmp_path, port=port, ALERTING_BOOTSTRAP_API_KEY=KEY, ALERTING_PUBLIC_URL=public,
                ALERTING_SMTP_HOST="127.0.0.1", ALERTING_SMTP_PORT=str(smtp.port),
                ALERTING_SMTP_USE_TLS="false", ALERTING_SMTP_FROM_ADDRESS="alerts@example.com",
                ALERTING_EMAIL_RECIPIENTS="ops@example.com",
                ALERTING_WEBHOOK_ALLOW_CIDRS="127.0.0.0/8",
                GUNICORN_CMD_ARGS="--access-logfile -") as (url, _proc, log_path):
            requests.post(url + "/api/alerts/rules", json=rule_body(channels=["email"]),
                          headers=headers).raise_for_status()
            requests.post(url + "/api/events", json=event_body(),
                          headers=headers).raise_for_status()
            [envelope] = wait_for(lambda: collector.envelopes, timeout=30)
            mail = email.message_from_bytes(envelope.original_content,
                                            policy=email.policy.default)
            text = mail.get_body(("plain",)).get_content()
            html = mail.get_body(("html",)).get_content()
            link = re.search(r"Acknowledge: (\S+)", text).group(1)
            assert link.startswith(public + "/actions/") and f'href="{link}"' in html
            [alert] = requests.get(url + "/api/alerts", headers=headers).json()["alerts"]
            assert f"{public}/alerts/{alert['id']}" in text

            session = requests.Session()  # no login: the link is the credential
            page = session.get(link)  # what a mail scanner does, and the person's click
            assert page.status_code == 200 and "Acknowledge?" in page.text
            assert session.get(link).status_code == 200
            status = requests.get(f"{url}/api/alerts/{alert['id']}", headers=headers).json()
            assert status["status"] != "acknowledged"

            done = session.post(link)  # the page's button: a plain form post, no CSRF token
            assert done.status_code == 200 and "acknowledged" in done.text
            status = requests.get(f"{url}/api/alerts/{alert['id']}", headers=headers).json()
            assert (status["status"], status["acknowledged_by"]) == (
                "acknowledged", "action link")
            again = session.post(link, headers={"Accept": "application/json"})
            assert again.status_code == 409 and again.json()["error"] == "link_used"

            # One link posted by several clients at once (a push service retrying, two
            # taps): it acts once; the others do nothing.
            snooze = re.search(r"Snooze camera 30 min: (\S+)", text).group(1)
            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(lambda _: requests.post(
                    snooze, headers={"Accept": "application/json"}, timeout=30), range(6)))
            codes = sorted(answer.status_code for answer in answers)
            assert codes.count(200) == 1 and set(codes) <= {200, 409, 503}, codes
            silences = requests.get(url + "/api/silences", headers=headers).json()["silences"]
            assert [s["matchers"] for s in silences] == [
                [{"field": "camera_id", "op": "=", "value": "back-door"}]]
            entries = requests.get(url + "/api/audit?action=action_link_use",
                                   headers=headers).json()
        token = link.rpartition("/")[2]
        logged = log_path.read_text()
        assert token not in logged and "/actions/[REDACTED]" in logged  # the access log
    finally:
        smtp.stop()
    rows = entries["entries"]
    assert sorted(row["details"]["action"] for row in rows) == ["acknowledge", "snooze_camera"]
    assert {row["actor"] for row in rows} == {"action link"}
