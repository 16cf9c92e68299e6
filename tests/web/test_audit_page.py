"""The Audit page: the entries with who, from where and before -> after; filters; in the nav."""

from tests.support.app import make_key
from tests.support.factories import create_rule
from tests.support.web import login


def test_the_audit_page_shows_who_changed_what(app, client):
    headers = {"x-access-token": make_key(app, "admin", name="ops")}
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    rule = create_rule(client, headers, severity="high")
    client.put(f"/api/alerts/rules/{rule['id']}", headers=headers, json={"severity": "low"})
    login(client)
    page = client.get("/audit").get_data(as_text=True)
    assert 'href="/audit" aria-current="page"' in page
    assert "rule_update" in page and "key:ops" in page and "192.0.2.10" in page
    assert '<span class="before">"high"</span> → <span class="after">"low"</span>' \
        in page
    only = client.get("/audit?action=rule_update", headers={"HX-Request": "true"})
    text = only.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="audit-list"') and "rule_create</span>" not in text
    assert "HX-Request" in only.headers["Vary"]
    bad = client.get("/audit?since=soon").get_data(as_text=True)
    assert "since:" in bad and "(filter ignored)" in bad


def test_the_audit_page_needs_a_login(client):
    response = client.get("/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_audit_page_filters_by_object_type(app, client):
    headers = {"x-access-token": make_key(app, "admin", name="ops")}
    client.post("/api/mute-timings", headers=headers, json={
        "name": "mornings", "intervals": [{"days": ["mon"], "start_time": "07:00",
                                           "end_time": "09:00"}]})
    create_rule(client, headers)
    login(client)
    page = client.get("/audit?target_type=mute_timing").get_data(as_text=True)
    assert '<option value="mute_timing" selected>' in page
    assert '<option value="silence">' in page and '<option value="videodb_stream">' in page
    assert "mute_timing_create" in page and "rule_create</span>" not in page
