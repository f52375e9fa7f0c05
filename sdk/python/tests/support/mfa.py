"""Second factors for the tests: an RFC 6238 code generator and the
authenticator-app enrolment of /account/security, driven like a browser."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import struct
import time

from tests.support.browser import Browser

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def totp(secret: str, at: float | None = None) -> str:
    """The TOTP code (SHA-1, 6 digits, 30 s) of a base32 secret at ``at`` (seconds)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    msg = struct.pack(">Q", int((time.time() if at is None else at) // 30))
    digest = hmac.new(key, msg, hashlib.sha1).digest()
    off = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _csrf(page: str) -> str:
    m = _CSRF.search(page)
    assert m, page[:500]
    return html.unescape(m.group(1))


def enrol_totp(base_url: str, email: str, password: str) -> tuple[str, list[str]]:
    """Sign in and turn an authenticator app on; returns the secret and the recovery codes."""
    b = Browser(base_url)
    login = b._request("GET", base_url + "/login")
    hop = b._request("POST", base_url + "/login", {"csrf_token": _csrf(login.body), "email": email, "password": password})
    assert hop.status == 303, hop.body[:500]
    page = b._request("GET", base_url + "/account/security")
    hop = b._request("POST", base_url + "/account/security/totp", {"csrf_token": _csrf(page.body)})
    m = re.search(r'id="totp-secret" type="text" readonly value="([A-Z2-7]+)"', hop.body)
    assert m, hop.body[:500]
    secret = m.group(1)
    hop = b._request("POST", base_url + "/account/security/totp/confirm", {"csrf_token": _csrf(hop.body), "code": totp(secret)})
    area = re.search(r'<textarea id="recovery-codes"[^>]*>(.*?)</textarea>', hop.body, re.S)
    assert area, hop.body[:500]
    return secret, html.unescape(area.group(1)).split()
