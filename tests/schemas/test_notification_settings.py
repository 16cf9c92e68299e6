import pytest

from alerting.engine.errors import ValidationError
from alerting.schemas.notification_settings import (
    NotificationSettingsUpdate,
    parse_notification_test,
    parse_settings,
)


def errors_of(parse, payload):
    with pytest.raises(ValidationError) as exc:
        parse(payload)
    return exc.value.fields


def test_only_the_given_fields_come_back():
    assert parse_settings({"smtp_port": 587.0, "smtp_host": " mail.example.com "}) == {
        "smtp_port": 587, "smtp_host": "mail.example.com"}
    assert parse_settings({}) == {}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"smtp_password": " keep spaces "}, {"smtp_password": " keep spaces "}),
        ({"smtp_password": ""}, {"smtp_password": None}),
        ({"smtp_from_address": "  "}, {"smtp_from_address": None}),
        ({"default_webhook_url": ""}, {"default_webhook_url": None}),
        ({"default_email_recipients": None}, {"default_email_recipients": []}),
        ({"default_email_recipients": ["a@b.co", "A@B.co", "c@d.co"]},
         {"default_email_recipients": ["a@b.co", "c@d.co"]}),
        ({"push_urls": ["ntfy://t", "ntfy://t"]}, {"push_urls": ["ntfy://t"]}),
        ({"smtp_use_tls": True, "smtp_use_ssl": False},
         {"smtp_use_tls": True, "smtp_use_ssl": False}),
    ],
)
def test_good_values(payload, expected):
    assert parse_settings(payload) == expected


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"notification_enabled": 1}, {"notification_enabled": "must be true or false"}),
        ({"notification_enabled": None}, {"notification_enabled": "must be true or false"}),
        ({"smtp_port": "25"}, {"smtp_port": "must be an integer from 1 to 65535"}),
        ({"smtp_port": 0}, {"smtp_port": "must be an integer from 1 to 65535"}),
        ({"webhook_timeout_seconds": 121},
         {"webhook_timeout_seconds": "must be an integer from 1 to 120"}),
        ({"smtp_password": "p" * 513},
         {"smtp_password": "must be a string of at most 512 characters"}),
        ({"smtp_from_address": "nobody"}, {"smtp_from_address": "must be an email address"}),
        ({"default_email_recipients": ["ok@x.io", "bad"]},
         {"default_email_recipients.1": "must be an email address"}),
        # Dots where RFC 5322 has none: Python's email headers cannot write them.
        ({"default_email_recipients": [".lead@x.io", "trail.@x.io", "two..dots@x.io"]},
         {f"default_email_recipients.{i}": "must be an email address" for i in range(3)}),
        ({"default_email_recipients": "a@b.co"},
         {"default_email_recipients": "must be a list of email addresses"}),
        ({"default_webhook_url": "ftp://x"},
         {"default_webhook_url": "must be an http or https URL"}),
        ({"push_urls": ["ntfy"]},
         {"push_urls.0": "must be a notification URL such as ntfy://topic"}),
        ({"smtp_use_tls": True, "smtp_use_ssl": True},
         {"smtp_use_ssl": "choose STARTTLS (smtp_use_tls) or SSL, not both"}),
        ({"colour": "red"}, {"colour": "unknown field"}),
        ([], {"body": "must be a JSON object"}),
    ],
)
def test_bad_values(payload, fields):
    assert errors_of(parse_settings, payload) == fields


def test_the_page_and_the_api_share_the_model():
    # The settings page hands its form to services.notification_settings.update, which
    # parses through this model: one set of rules for both.
    from alerting.services import notification_settings

    assert notification_settings.parse_settings is parse_settings
    assert "smtp_password" in NotificationSettingsUpdate.model_json_schema()["properties"]


def test_notification_test_request():
    assert parse_notification_test({"channel": " Webhook ",
                                    "webhook_url": "https://hooks.example.com/x"}) == {
        "channel": "webhook", "email_recipients": [],
        "webhook_url": "https://hooks.example.com/x", "push_urls": []}
    assert errors_of(parse_notification_test, {}) == {"channel": "is required"}
    assert errors_of(parse_notification_test, {"channel": "fax", "x": 1}) == {
        "channel": "must be one of email, webhook, push", "x": "unknown field"}
