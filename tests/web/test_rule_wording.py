"""The rule form's push priority, sound and templates (with their preview), and the site's
default templates on the notification settings page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.engine.vocabulary import DAYS
from alerting.extensions import db
from alerting.models import AlertRule, NotificationSettings
from tests.support.factories import create_rule, post_event, run_matcher
from tests.support.web import csrf_token, login

HX = {"HX-Request": "true"}


def _form(token: str, **fields) -> dict:
    data = {"csrf_token": token, "name": "Back door", "severity": "high", "enabled": "y",
            "object_types_other": "person", "camera_ids_other": "back-door",
            "cooldown_seconds": "0", "schedule_days": list(DAYS), "schedule_start": "00:00",
            "schedule_end": "00:00", "conditions-0-field": "", "conditions-0-op": "eq",
            "conditions-0-value": "", "priority": "urgent", "sound": "chime",
            "templates_email_subject": "{{ camera.id }}: {{ detections[0].object_type }}",
            "templates_email_body": "", "templates_push_title": "{{ rule.name | upper }}",
            "templates_push_body": "", "action": "save"}
    data.update(fields)
    return data


def test_the_form_saves_and_shows_priority_sound_and_templates(app, client):
    login(client)
    page = client.get("/rules/new").get_data(as_text=True)
    for name in ("priority", "sound", "templates_email_subject", "templates_push_body"):
        assert f'name="{name}"' in page
    response = client.post("/rules/new", data=_form(csrf_token(page.encode())))
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    with app.app_context():
        rule = db.session.query(AlertRule).one()
        assert (rule.priority, rule.sound) == ("urgent", "chime")
        assert rule.templates == {
            "email": {"subject": "{{ camera.id }}: {{ detections[0].object_type }}"},
            "push": {"title": "{{ rule.name | upper }}"}}
        rule_id = rule.id
    edit = client.get(f"/rules/{rule_id}/edit").get_data(as_text=True)
    assert 'value="{{ camera.id }}: {{ detections[0].object_type }}"' in edit
    assert '<option selected value="urgent">' in edit or 'value="urgent" selected' in edit


def test_a_bad_template_is_shown_beside_its_box(app, client):
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", headers=HX, data=_form(
        token, templates_push_body="{{ ''.__class__.__mro__ }}",
        templates_email_subject="{{ x "))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="templates_push_body-error"' in html and "names starting with _" in html
    assert 'id="templates_email_subject-error"' in html and "does not compile" in html
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_preview_renders_the_forms_templates_against_a_recent_alert(app, client,
                                                                      admin_headers):
    rule = create_rule(client, admin_headers)
    post_event(client, admin_headers, summary="A person at the door")
    run_matcher(app)
    login(client)
    token = csrf_token(client.get(f"/rules/{rule['id']}/edit").data)
    response = client.post(f"/rules/{rule['id']}/edit", headers=HX, data=_form(
        token, action="preview_templates", templates_push_body="{{ event.summary }} {{ 1/0 }}",
        templates_email_body="Seen: {{ event.summary }}"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="template-preview"' in html and "With alert #1" in html
    assert '<dd class="preview-email-subject">back-door: person</dd>' in html
    assert '<pre class="preview-email-body">Seen: A person at the door</pre>' in html
    assert "template push.body failed (ZeroDivisionError" in html
    with app.app_context():  # nothing saved
        assert db.session.get(AlertRule, rule["id"]).templates is None


def test_preview_of_a_new_rule_renders_the_latest_event_the_form_matches(app, client,
                                                                          admin_headers):
    """No alert at all yet: the form's rule as it stands finds its latest matching event
    (not another camera's later one), and the preview shows that event."""
    now = datetime.now(UTC)
    for camera, hours, summary in (("back-door", 3, "Earlier"), ("back-door", 2, "Latest"),
                                   ("front-door", 1, "Elsewhere")):
        post_event(client, admin_headers, camera_id=camera, summary=summary,
                   started_at=(now - timedelta(hours=hours)).isoformat())
    run_matcher(app)
    login(client)
    token = csrf_token(client.get("/rules/new").data)
    response = client.post("/rules/new", headers=HX, data=_form(
        token, action="preview_templates", templates_email_body="Seen: {{ event.summary }}"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "With event #2, the latest of the last 7 days this rule matches" in html
    assert '<dd class="preview-email-subject">back-door: person</dd>' in html
    assert '<pre class="preview-email-body">Seen: Latest</pre>' in html
    # An unfinished rule still previews its templates (against a sample).
    unfinished = client.post("/rules/new", headers=HX, data=_form(
        token, action="preview_templates", name="", templates_email_body="{{ camera.id }}"))
    assert unfinished.status_code == 200
    assert "With a sample alert" in unfinished.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(AlertRule).count() == 0


def test_the_site_default_templates_on_the_notifications_page(app, client):
    login(client)
    page = client.get("/notifications")
    token = csrf_token(page.data)
    assert 'name="templates_email_subject"' in page.get_data(as_text=True)
    base = {"csrf_token": token, "notification_enabled": "y", "webhook_timeout_seconds": "10"}
    bad = client.post("/notifications", headers=HX, data={
        **base, "templates_push_title": "{{ cycler.__init__.__globals__ }}"})
    assert bad.status_code == 422
    assert 'id="templates_push_title-error"' in bad.get_data(as_text=True)
    saved = client.post("/notifications", data={**base,
                                                "templates_email_subject": "Site {{ rule.name }}"})
    assert saved.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(NotificationSettings, 1).templates == {
            "email": {"subject": "Site {{ rule.name }}"}}
    shown = client.get("/notifications").get_data(as_text=True)
    assert 'value="Site {{ rule.name }}"' in shown
