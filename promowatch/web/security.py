"""The dashboard's guards: who may connect, forged forms, and what a browser may run.

Loopback is trusted as the operator's own machine; any other address needs a token (sent as a Bearer header by
API clients, or typed once into the login form, which sets an HttpOnly cookie). Every form carries a CSRF token
that must equal the one in its cookie (double submit), and every response forbids inline and foreign scripts.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from starlette.datastructures import Headers

CSRF_COOKIE = "pw_csrf"
AUTH_COOKIE = "pw_auth"
CSRF_FIELD = "csrf"

# the dashboard's own pages: scripts, styles, images and frames from the dashboard only, never inline
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# a shop's captured page: a sandbox (no scripts, no forms, an opaque origin), inline styles kept for legibility,
# nothing fetched from anywhere
CAPTURED_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)


class NotAllowed(Exception):
    """The dashboard must not start: the reason is one line for the operator."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Raise NotAllowed when ``host`` is reachable from other machines and no token protects it."""
    if not is_loopback(host) and not token:
        raise NotAllowed(
            f"serve --host {host}: other machines could reach the dashboard; set PROMOWATCH_WEB_TOKEN "
            "(or --token-file) to a secret of at least 16 characters, or serve on 127.0.0.1"
        )
    if token is not None and len(token) < 16:
        raise NotAllowed("the dashboard token is shorter than 16 characters")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def auth_cookie_value(token: str) -> str:
    """What the login cookie holds: a digest of the token, so the cookie alone never reveals it."""
    return hmac.new(token.encode(), b"promowatch-dashboard-session", hashlib.sha256).hexdigest()


def authorised(headers: Headers, cookies: dict[str, str], token: str | None) -> bool:
    if token is None:
        return True
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and same(bearer[7:].strip(), token):
        return True
    return same(cookies.get(AUTH_COOKIE), auth_cookie_value(token))


def csrf_ok(cookies: dict[str, str], submitted: str | None) -> bool:
    return same(cookies.get(CSRF_COOKIE), submitted)
