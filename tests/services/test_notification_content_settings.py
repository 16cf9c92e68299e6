"""notification_content.content_settings: read once per batch of messages, the settings rows
themselves only again when one of them changed (the site templates, the media allow-list,
the Frigate instances), the arming mode every time."""

from alerting.extensions import db
from alerting.services import notification_content
from tests.support.factories import configure
from tests.support.statements import executed


def read(app):
    """The content settings and the statements reading them took."""
    with executed(app) as statements, app.app_context():
        try:
            return notification_content.content_settings(), statements
        finally:
            db.session.remove()


def test_unchanged_settings_are_not_read_again(app):
    first, _ = read(app)
    again, statements = read(app)
    assert again == first
    assert len(statements) == 1  # the versions and the mode, in one query


def test_changed_site_templates_are_read_again(app, admin_headers):
    read(app)
    configure(app, admin_headers, templates={"email": {"subject": "Site: {{ rule.name }}"}})
    settings, _ = read(app)
    assert settings.site_templates == {"email": {"subject": "Site: {{ rule.name }}"}}


def test_a_changed_allow_list_and_frigate_instance_change_the_media_policy(app, admin_headers):
    before, _ = read(app)
    configure(app, admin_headers, webhook_allow_cidrs=["192.168.7.0/24"])
    allowed, _ = read(app)
    assert "192.168.7.0/24" in allowed.policy.allow_cidrs
    assert "192.168.7.0/24" not in before.policy.allow_cidrs
    response = app.test_client().put("/api/integrations", headers=admin_headers, json={
        "frigate": [{"prefix": "frigate", "base_url": "http://nvr.lan:5000"}]})
    assert response.status_code == 200, response.json
    trusted, _ = read(app)
    assert ("http", "nvr.lan", 5000) in trusted.policy.trusted
    assert ("http", "nvr.lan", 5000) not in allowed.policy.trusted


def test_the_mode_is_the_current_one_at_every_read(app, admin_headers):
    home, _ = read(app)
    response = app.test_client().put("/api/mode", json={"mode": "away"}, headers=admin_headers)
    assert response.status_code == 200, response.json
    away, statements = read(app)
    assert (home.mode, away.mode) == ("home", "away")
    assert len(statements) == 1
