"""Push through Apprise URLs (ntfy, Pushover, Telegram, Gotify, json://, ...)."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from contextvars import ContextVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

with warnings.catch_warnings():
    # Apprise's email plugin, loaded on the first URL it parses, imports the stdlib `imghdr`,
    # whose import warns DeprecationWarning on 3.11/3.12. Importing it here, with only that
    # warning silenced, keeps `-W error` runs (pytest's filterwarnings = error) working.
    warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
    try:
        import imghdr  # noqa: F401
    except ImportError:  # Python 3.13+: gone, and Apprise installs its own stand-in
        pass

import apprise
from apprise.attachment.memory import AttachMemory

from alerting.notify.base import (
    ACTION_LABELS,
    ChannelSettings,
    Message,
    Outcome,
    unreadable_secret,
    with_notes,
)
from alerting.notify.media import fetch_snapshots
from alerting.notify.redact import redact_url, scrub
from alerting.notify.ssrf import outgoing_policy

APPRISE_LOGGER = "apprise"

_NOTIFY_TYPES = {
    "critical": apprise.NotifyType.FAILURE,
    "high": apprise.NotifyType.WARNING,
    "medium": apprise.NotifyType.WARNING,
    "low": apprise.NotifyType.INFO,
}
_DEFAULT_TYPE = apprise.NotifyType.INFO
NTFY_SCHEMES = ("ntfy", "ntfys")
NTFY_MAX_ACTIONS = 3  # ntfy refuses a message with more action buttons

# A rule's priority as each service's URL arguments (Apprise reads them from the URL): ntfy
# 1..5 (normal is its default, 3), Pushover -2..2 (2, emergency, repeats every `interval`
# seconds until acknowledged or `expire` ends). Services without priorities get only the
# severity's NotifyType. An argument already in the user's URL wins.
PRIORITY_ARGUMENTS: dict[tuple[str, ...], dict[str, dict[str, str]]] = {
    ("ntfy", "ntfys"): {"low": {"priority": "2"}, "normal": {}, "high": {"priority": "4"},
                        "urgent": {"priority": "5"}},
    ("pover",): {"low": {"priority": "-1"}, "normal": {}, "high": {"priority": "1"},
                 "urgent": {"priority": "2", "interval": "60", "expire": "3600"}},
}
# The argument that makes tapping the notification open a page.
CLICK_ARGUMENT = {"ntfy": "click", "ntfys": "click", "pover": "url"}


def with_options(url: str, priority: str, click_url: str | None) -> str:
    """`url` with the priority and click arguments its service understands added."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    added = next((table.get(priority, {}) for schemes, table in PRIORITY_ARGUMENTS.items()
                  if scheme in schemes), {})
    if click_url and scheme in CLICK_ARGUMENT:
        added = {**added, CLICK_ARGUMENT[scheme]: click_url}
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = {key: value for key, value in added.items() if key not in present}
    if not extra:
        return url
    query = "&".join(filter(None, (parts.query, urlencode(extra))))
    return urlunsplit(parts._replace(query=query))


def _attachments(fetched: list) -> apprise.AppriseAttachment | None:
    if not fetched:
        return None
    attach = apprise.AppriseAttachment()
    for snapshot, body in fetched:
        attach.add(AttachMemory(content=body, name=snapshot.filename, mimetype="image/jpeg"))
    return attach


_active_capture: ContextVar[_Capture | None] = ContextVar("alerting_push_capture", default=None)


class _Capture(logging.Handler):
    """Collects the warnings Apprise logs for one send: its only account of why a send failed.

    Records are matched by context, not thread: Apprise 2 runs a service in a pool thread (to
    enforce its service timeout) but copies the caller's contextvars into it, and concurrent
    sends from other dispatcher threads each see only their own records.
    """

    def __init__(self, urls: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.urls = urls
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if _active_capture.get() is not self:
            return
        try:
            text = " ".join(record.getMessage().split())
        except Exception:  # a malformed log call must not break delivery
            return
        if text and text not in self.messages:
            self.messages.append(text)


class _Scrub(logging.Filter):
    """Masks the send's URL secrets in every record Apprise logs during it, before any handler
    (this app's logs included) sees the record: Apprise's messages may quote a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        capture = _active_capture.get()
        if capture is not None:
            try:
                text = record.getMessage()
            except Exception:
                return True
            record.msg, record.args = scrub(text, *capture.urls), None
        return True


logging.getLogger(APPRISE_LOGGER).addFilter(_Scrub())


def _asset() -> apprise.AppriseAsset:
    # async_mode off: one URL gains nothing from Apprise's parallel dispatch.
    return apprise.AppriseAsset(async_mode=False)


class PushNotifier:
    """Send the alert's title and text to one or more Apprise URLs."""

    name = "push"

    def send(self, message: Message, target: str, settings: ChannelSettings) -> Outcome:
        """Deliver once. Apprise reports only success or failure, so failures are retryable,
        except a URL Apprise cannot parse at all and a connection the policy refused."""
        started = time.perf_counter()
        urls = _urls(target, settings)
        outcome = self._send(message, urls, settings)
        outcome.error = scrub(outcome.error, *urls)
        outcome.duration_ms = (time.perf_counter() - started) * 1000.0
        return outcome

    def _send(self, message: Message, urls: list[str], settings: ChannelSettings) -> Outcome:
        failed = not urls and unreadable_secret(settings, "push_urls")
        if failed:
            return failed
        if not urls:
            return Outcome(ok=False, retryable=False, error="no push URL configured")
        # From parsing on, what Apprise logs is scrubbed of these URLs' secrets (it logs
        # each URL it loads) and its warnings are kept as the failure's reason.
        capture = _Capture(urls)
        token = _active_capture.set(capture)
        logger = logging.getLogger(APPRISE_LOGGER)
        logger.addHandler(capture)
        try:
            # The snapshot first: what Apprise cannot fetch (an attachment by URL) it drops.
            snapshots = fetch_snapshots(message.snapshots[:1])
            return with_notes(self._notify(message, urls, settings, capture, snapshots.fetched,
                                           snapshots.note), snapshots.note)
        finally:
            logger.removeHandler(capture)
            _active_capture.reset(token)

    def _notify(self, message: Message, urls: list[str], settings: ChannelSettings,
                capture: _Capture, fetched: list, note: str | None = None) -> Outcome:
        """Send to every URL; `note` (why the snapshot is missing) ends the body."""
        notifier = apprise.Apprise(asset=_asset())
        for url in urls:
            url = with_options(url, message.priority, message.click_url)
            if not notifier.add(with_ntfy_actions(url, message.context.get("actions"))):
                return Outcome(
                    ok=False, retryable=False, error=f"not a usable Apprise URL ({redact_url(url)})"
                )
        try:
            with outgoing_policy(tuple(settings.webhook_allow_cidrs)) as policy:
                result = notifier.notify(
                    body="\n\n".join(filter(None, (message.text or message.title, note))),
                    title=message.title,
                    notify_type=_NOTIFY_TYPES.get(str(message.severity).lower(), _DEFAULT_TYPE),
                    attach=_attachments(fetched),
                )
        except ValueError as exc:  # a malformed allow-list entry
            return Outcome(ok=False, retryable=False, error=f"bad webhook_allow_cidrs: {exc}")
        sent = bool(result)  # a bool before Apprise 2, an AppriseResult since
        close = getattr(result, "close", None)
        if callable(close):
            close()
        if policy.refused and not sent:
            # Permanent for this URL: the same address (or redirect) is refused next time.
            return Outcome(ok=False, retryable=False,
                           error="refused by the outgoing connection policy: "
                                 + "; ".join(policy.refused))
        if sent:
            return Outcome(ok=True)
        reason = "; ".join(capture.messages)[:500] or "Apprise reported a failure, no reason logged"
        return Outcome(ok=False, retryable=True, error=reason)


def with_ntfy_actions(url: str, actions: Mapping[str, str] | None) -> str:
    """An ntfy URL given the alert's action links (services/action_links.py): Apprise passes
    its `click` and `actions` parameters on as ntfy's X-Click and X-Actions headers. Tapping
    the notification opens the alert; the buttons POST the acknowledge and snooze links
    (answered in JSON), and `view` opens the alert when there is room (ntfy shows three
    buttons at most and refuses a message with more). Other URLs, parameters the URL sets
    itself, and no links: unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:  # Apprise refuses it, and says so
        return url
    if not actions or parts.scheme.lower() not in NTFY_SCHEMES:
        return url
    own = {key.lower() for key, _value in parse_qsl(parts.query, keep_blank_values=True)}
    buttons = [f"http, {ACTION_LABELS[name]}, {actions[name]}, method=POST, "
               "headers.Accept=application/json, clear=true"
               for name in ACTION_LABELS if actions.get(name)]
    if actions.get("open"):
        buttons.append(f"view, Open, {actions['open']}")
    added = {}
    if "click" not in own and actions.get("open"):
        added["click"] = actions["open"]
    if "actions" not in own and buttons:
        added["actions"] = "; ".join(buttons[:NTFY_MAX_ACTIONS])
    if not added:
        return url
    extra = "&".join(f"{key}={quote(value, safe='')}" for key, value in added.items())
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _urls(target: str, settings: ChannelSettings) -> list[str]:
    # A delivery's target is one URL; an empty one means the settings' URLs (the test send).
    return [target.strip()] if target and target.strip() else list(settings.push_urls)
