"""The notifications page: the channel chips follow a save without a reload (an out-of-band
swap), and a failed test says what failed once."""

from __future__ import annotations

import re

from tests.support.pages import HX, settings_form


def chips(html: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="chip (?:on|off)">(\w+): ([\w ]+)</span>', html))


def test_status_chips_follow_a_save_out_of_band(client, token):
    assert chips(client.get("/notifications").get_data(as_text=True))["webhook"] == "not set"
    html = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="https://93.184.215.14/x")).get_data(as_text=True)
    status = re.search(r'<p class="status-line" id="channel-status" hx-swap-oob="true">.*?</p>',
                       html, re.S)
    assert status, "no out-of-band status in the saved form's answer"
    assert chips(status.group(0))["webhook"] == "configured"
    # A full page has the chips once, in place, not out of band.
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('id="channel-status"') == 1 and "hx-swap-oob" not in page
    assert chips(page)["webhook"] == "configured"


def test_a_failed_test_email_says_so_once(client, token):
    html = client.post("/notifications/test/email", data=settings_form(token),
                       headers=HX).get_data(as_text=True)
    outcome = re.search(r'<p class="test-outcome failed">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", outcome).split())
    assert text == "Failed: Email is not configured (missing SMTP settings)"


def test_a_refused_home_address_points_to_the_allow_list_shown_on_the_page(app, client, token):
    html = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="http://192.168.1.10:8123/api/webhook/x")).get_data(
        as_text=True)
    error = re.search(r'<p class="error" id="default_webhook_url-error">([^<]*)</p>',
                      html).group(1)
    assert error.startswith("refused: private address 192.168.1.10 is not allowed; to allow")
    assert "ALERTING_WEBHOOK_ALLOW_CIDRS" in error
    page = client.get("/notifications").get_data(as_text=True)
    assert "None: only public addresses." in page
    app.config["WEBHOOK_ALLOW_CIDRS"] = ["192.168.1.10/32"]
    page = client.get("/notifications").get_data(as_text=True)
    assert "<li><code>192.168.1.10/32</code></li>" in page
    response = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="http://192.168.1.10:8123/api/webhook/x"))
    assert response.status_code == 200
