"""redact_url and scrub: the one way a URL with secrets is shown (API, pages, logs, errors)."""

import pytest

from alerting.notify.redact import redact_url, scrub


@pytest.mark.parametrize(("url", "shown"), [
    ("json://pushuser:s3cret@host/push", "json://pushuser:***@host/push"),
    ("https://user:p%40ss@hooks.example:8443/x?token=abc&plain",
     "https://user:***@hooks.example:8443/x?token=***&plain"),
    ("json://h/p?+X-Api-Key=hdrsecret", "json://h/p?+X-Api-Key=***"),
    ("ntfy://my-secret-topic", "ntfy://***"),
    ("ntfys://tk_abcdef@ntfy.sh/topic", "ntfys://***@ntfy.sh/***"),
    ("ntfy://user:pass@ntfy.example/topic", "ntfy://user:***@ntfy.example/***"),
    ("tgram://123456789:AAbbCCdd-ee/12345", "tgram://***/***"),
    ("pover://userkey@apptoken", "pover://***@***"),
    ("gotify://gotify.lan/AbCdEf", "gotify://gotify.lan/***"),
    ("mailto://user:pw@gmail.com", "mailto://user:***@gmail.com"),
    ("https://hooks.example/x#frag", "https://hooks.example/x#***"),
    ("not a url", "***"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", ["https://hooks.example.com/x", "http://127.0.0.1:9/hook",
                                 "json://[::1]:80/push", "json://host.example/push"])
def test_a_url_without_secret_is_unchanged(url):
    assert redact_url(url) == url


def test_scrub_masks_each_secret_as_written_and_decoded():
    url = "https://user:p%40ssw0rd@hooks.example/x?token=tok-123"
    text = f"POST {url} failed: bad password p@ssw0rd (token tok-123), p%40ssw0rd"
    assert scrub(text, url) == ("POST https://user:***@hooks.example/x?token=*** failed: "
                                "bad password *** (token ***), ***")
    assert scrub(None, url) is None
