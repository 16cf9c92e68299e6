"""The configuration page: download the file, upload one, see the diff and the replay,
confirm it; a broken file shows its lines and changes nothing; CSRF is required."""

from __future__ import annotations

import io

import pytest
import yaml

from alerting.extensions import db
from alerting.models import AlertRule
from tests.support.factories import create_rule
from tests.support.web import csrf_token, login

HX = {"HX-Request": "true"}


def _page(client) -> str:
    login(client)
    page = client.get("/config")
    assert page.status_code == 200
    return csrf_token(page.data)


def test_download_is_the_export(client, admin_headers):
    create_rule(client, admin_headers, name="Back door")
    _page(client)
    response = client.get("/config/site.yaml")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert yaml.safe_load(response.data)["rules"][0]["name"] == "Back door"


def test_upload_shows_the_diff_then_applies_on_confirm(app, client, admin_headers):
    create_rule(client, admin_headers, name="Old")
    token = _page(client)
    text = "rules:\n  - name: New\n    severity: low\n"
    preview = client.post("/config/preview", headers=HX, data={
        "csrf_token": token, "prune": "on",
        "file": (io.BytesIO(text.encode()), "site.yaml")}, content_type="multipart/form-data")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Changes from site.yaml" in html and "<html" not in html  # a fragment for htmx
    assert "+ create &#34;New&#34;" in html and "- delete &#34;Old&#34;" in html
    assert "replay &#34;New&#34; over the last 7 days: 0 alerts" in html
    assert "Apply 2 change(s)" in html
    with app.app_context():
        assert [r.name for r in db.session.query(AlertRule)] == ["Old"]  # not yet
    confirm = client.post("/config/apply", headers=HX, data={
        "csrf_token": token, "prune": "on", "source": "site.yaml", "document": text})
    assert confirm.status_code == 204 and confirm.headers["HX-Redirect"] == "/config"
    with app.app_context():
        assert [r.name for r in db.session.query(AlertRule)] == ["New"]
    assert "Applied 2 change(s) from site.yaml." in client.get("/config").get_data(as_text=True)


def test_a_broken_file_shows_its_lines_and_changes_nothing(app, client):
    token = _page(client)
    response = client.post("/config/preview", data={
        "csrf_token": token, "document": "rules:\n  - name: New\n    severity: loud\n"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "pasted text:3: rules.0.severity: must be one of" in html
    assert "Apply" not in html
    confirm = client.post("/config/apply", data={
        "csrf_token": token, "document": "rules:\n  - name: New\n    severity: loud\n"})
    assert confirm.status_code == 422
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_without_csrf_nothing_is_applied(app, client):
    _page(client)
    response = client.post("/config/apply", data={"document": "rules: []\n"})
    assert response.status_code == 400



def _upload(client, token: str, text: str, name: str = "site.yaml"):
    """POST /config/preview with `text` as an uploaded file, the multipart body built here:
    the test client spools one over 500 KB to a temporary file it never closes."""
    boundary = "h7boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/yaml\r\n\r\n").encode() \
        + text.encode() + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/config/preview", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize("prefix", ["rules: []\n#", "rules: []\n# "])
def test_an_uploaded_file_too_long_says_so_by_its_name(client, prefix):
    """A file over the page's limit (in characters) is refused for its length, named by
    its file name, wherever the limit falls: not read cut short (and then taken, or called
    'not UTF-8' when the cut is inside a character)."""
    from alerting.web.site_config import MAX_FILE_CHARS

    token = _page(client)
    text = prefix + "é" * MAX_FILE_CHARS + "\n"
    response = _upload(client, token, text)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "UTF-8" not in html
    assert f"site.yaml: is longer than {MAX_FILE_CHARS:,} characters" in html


def test_an_uploaded_file_under_the_limit_is_read_whole(client):
    """The limit counts characters: a file of fewer, but more bytes, is read to its end."""
    from alerting.web.site_config import MAX_FILE_CHARS

    token = _page(client)
    text = "#" + "é" * (MAX_FILE_CHARS * 3 // 4) + "\nrules:\n  - name: Last\n    severity: low\n"
    assert len(text.encode()) > MAX_FILE_CHARS > len(text)
    response = _upload(client, token, text)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    assert "create &#34;Last&#34;" in response.get_data(as_text=True)


def test_a_pasted_file_cannot_read_the_server_environment(app, client):
    token = _page(client)
    response = client.post("/config/preview", data={
        "csrf_token": token,
        "document": "rules:\n  - name: Leak\n    severity: low\n"
                    "    description: ${ALERTING_SECRET_KEY}\n"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert app.config["SECRET_KEY"] not in html
    assert "pasted text:4: rules.0.description: ${ALERTING_SECRET_KEY} is read from" in html
