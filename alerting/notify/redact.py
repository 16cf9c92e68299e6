"""Redacting URLs that may carry secrets: the one function the API, the pages, the logs and the
delivery errors use, so a push token or a webhook password is shown nowhere.

Webhook and Apprise URLs put secrets in different places: a password (`json://user:pw@host`),
a lone user that is a token (`ntfys://tk_abc@ntfy.sh/topic`, `pover://userkey@apptoken`), a
host that is a topic (`ntfy://topic`), path segments that are tokens (`gotify://host/token`,
`tgram://bot:token/chat`), query values (`?token=`, `json://host?+X-Api-Key=`). Apprise's own
privacy URLs leave a ntfy topic and header values in clear, so the rule here is stricter: for
plain addresses (http(s) and Apprise's json/xml/form) only the password and query values are
masked; for every other scheme only the scheme, a user next to a password, a host that is a
server address (dotted name, `localhost`, IP literal) and a numeric port stay.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote, urlsplit

MASK = "***"
ADDRESS_SCHEMES = frozenset({"http", "https", "json", "jsons", "xml", "xmls", "form", "forms"})
MIN_SECRET_CHARS = 3  # shorter pieces are not scrubbed out of free text (they would be noise)


def _is_server(host: str) -> bool:
    if host == "localhost" or "." in host or host.startswith("["):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _query(query: str, secrets: list[str]) -> str:
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq:
            secrets.append(value)
            pairs.append(f"{key}={MASK}")
        elif pair:
            pairs.append(pair)
    return "&".join(pairs)


def _split(url: str) -> tuple[str, list[str]]:
    """(the redacted URL, the secret pieces it hides)."""
    text = url.strip()
    scheme, sep, _rest = text.partition("://")
    if not sep or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        return MASK, [text]
    try:
        parts = urlsplit(text)
    except ValueError:
        return f"{scheme}://{MASK}", [text]
    address = parts.scheme.lower() in ADDRESS_SCHEMES
    secrets: list[str] = []
    userinfo, at, hostport = parts.netloc.rpartition("@")
    shown = f"{parts.scheme}://"
    if at:
        user, colon, password = userinfo.partition(":")
        if colon:
            secrets.append(password)
        if not (colon or address):
            secrets.append(user)
            user = MASK
        shown += f"{user}:{MASK}@" if colon else f"{user}@"
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:
        host, _, port = hostport.rpartition(":")
    if port and not port.isdigit():
        secrets.append(hostport)
        shown += MASK
    elif address or _is_server(host):
        shown += hostport
    else:
        secrets.append(host)
        shown += MASK + (f":{port}" if port else "")
    if address:
        shown += parts.path
    else:
        segments = parts.path.split("/")
        secrets.extend(s for s in segments if s)
        shown += "/".join(MASK if s else s for s in segments)
    if parts.query:
        shown += "?" + _query(parts.query, secrets)
    if parts.fragment:
        secrets.append(parts.fragment)
        shown += "#" + MASK
    return shown, secrets


def redact_url(url: str) -> str:
    """`url` with its secrets replaced by ***: `json://pushuser:***@host/push`. A URL with
    nothing secret comes back unchanged."""
    return _split(url)[0]


def scrub(text: str | None, *urls: str) -> str | None:
    """`text` (an error message, a log line) with every secret piece of `urls` masked, as
    written and percent-decoded, and each whole URL replaced by its redacted form."""
    if not text:
        return text
    for url in urls:
        if not url:
            continue
        shown, secrets = _split(url)
        text = text.replace(url.strip(), shown)
        pieces = {p for s in secrets for p in (s, unquote(s)) if len(p) >= MIN_SECRET_CHARS}
        for piece in sorted(pieces, key=len, reverse=True):
            text = text.replace(piece, MASK)
    return text
