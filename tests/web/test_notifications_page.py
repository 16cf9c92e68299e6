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


def test_a_refused_home_address_points_to_the_allow_list_on_the_page(app, client, token):
    html = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="http://192.168.1.10:8123/api/webhook/x")).get_data(
        as_text=True)
    error = re.search(r'<p class="error" id="default_webhook_url-error">([^<]*)</p>',
                      html).group(1)
    assert error.startswith("refused: private address 192.168.1.10 is not allowed; to allow")
    assert "Notifications page (/notifications#allow-list)" in error
    page = client.get("/notifications").get_data(as_text=True)
    assert 'id="allow-list-form"' in page and "What this opens:" in page
    assert "fixed-cidrs" not in page  # nothing from the environment
    response = client.post("/notifications/allow-list", data={
        "csrf_token": token, "webhook_allow_cidrs": "192.168.1.10\n10.0.0.0/8"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/notifications#allow-list")
    page = client.get("/notifications").get_data(as_text=True)
    assert "192.168.1.10/32\n10.0.0.0/8</textarea>" in page
    response = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="http://192.168.1.10:8123/api/webhook/x"))
    assert response.status_code == 200


def test_the_environment_s_networks_are_shown_fixed_beside_the_stored_ones(app, client, token):
    app.config["WEBHOOK_ALLOW_CIDRS"] = ["172.16.5.0/24"]
    page = client.get("/notifications").get_data(as_text=True)
    assert "<li><code>172.16.5.0/24</code> <span class=\"chip\">fixed</span></li>" in page
    # Allowed by the environment alone: the stored list is empty.
    response = client.post("/notifications", headers=HX, data=settings_form(
        token, default_webhook_url="http://172.16.5.9/hook"))
    assert response.status_code == 200


def test_a_bad_network_is_named_beside_the_box_and_nothing_is_saved(app, client, token):
    response = client.post("/notifications/allow-list", data={
        "csrf_token": token, "webhook_allow_cidrs": "10.0.0.0/8, 192.168.1.300/24"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="webhook_allow_cidrs-error">([^<]*)</p>',
                      html).group(1)
    assert error.startswith("“192.168.1.300/24”") and "CIDR" in error
    assert "10.0.0.0/8, 192.168.1.300/24</textarea>" in html  # kept as typed
    assert "10.0.0.0/8" not in client.get("/notifications").get_data(as_text=True)
