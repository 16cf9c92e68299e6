"""Response hardening: security headers on every response, and a session cookie that is
Secure whenever the request came over HTTPS (directly or through a trusted proxy)."""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

# No inline script or style anywhere: htmx is configured (base.html's htmx-config) not to
# inject its indicator <style> and not to eval, and every script is a file under static/.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

_PLAIN_HEADERS = (*HEADERS.items(), ("Content-Security-Policy", CONTENT_SECURITY_POLICY))
_SECURE_HEADERS = (*_PLAIN_HEADERS, ("Strict-Transport-Security", "max-age=31536000"))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure on HTTPS requests."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # One proxy in front (see docs/deploy.md): trust its X-Forwarded-For/Proto/Host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.after_request
    def _headers(response: Response) -> Response:
        # Those a view did not set, in one pass: a setdefault each scanned the headers twice,
        # about 100 us of every API answer (bench/ingest_cpu.py --profile).
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        wanted = _SECURE_HEADERS if request.is_secure else _PLAIN_HEADERS
        headers.extend([pair for pair in wanted if pair[0].lower() not in present])
        return response
