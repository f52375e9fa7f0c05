"""A user's browser for the OAuth code flow, with plain httpx and a cookie jar of
its own: follows Puguh's redirects by hand, signs in on /login and answers the
consent page, until Puguh sends the browser back to the application. (httpx's
jar would keep Puguh's Secure cookies off plain-HTTP loopback requests.)"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def _hidden_fields(page: str) -> dict[str, str]:
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}
    if not form.get("csrf_token"):
        raise AssertionError(f"page has no csrf_token:\n{page[:500]}")
    return form


@dataclass
class Hop:
    status: int
    body: str
    location: str | None


class Browser:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.cookies: dict[str, str] = {}

    def _request(self, method: str, url: str, form: dict[str, str] | None = None) -> Hop:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        content = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            content = urlencode(form).encode()
        res = httpx.request(method, url, headers=headers, content=content, follow_redirects=False, timeout=10)
        for cookie in res.headers.get_list("set-cookie"):
            pair = cookie.split(";", 1)[0]
            name, _, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            if re.search(r"max-age=0|expires=thu, 01 jan 1970", cookie, re.IGNORECASE) or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        loc = res.headers.get("location")
        return Hop(res.status_code, res.text, urljoin(url, loc) if loc else None)

    def authorize(self, authorization_url: str, email: str, password: str, decision: str = "allow") -> str:
        """Open an authorization URL and get through sign-in and consent; the URL Puguh sends the
        browser back to. At most 8 hops."""
        page = self._request("GET", authorization_url)
        for _ in range(8):
            if page.status != 303 or not page.location:
                raise AssertionError(f"authorize: stuck at {page.status}:\n{page.body[:800]}")
            location = page.location
            loc = urlsplit(location)
            if f"{loc.scheme}://{loc.netloc}" != self.origin:
                return location
            if loc.path == "/login":
                fields = _hidden_fields(self._request("GET", location).body)
                fields.update(email=email, password=password)
                page = self._request("POST", urljoin(self.base_url, "/login"), fields)
            elif loc.path == "/consent":
                fields = _hidden_fields(self._request("GET", location).body)
                fields.update(decision=decision, remember="1")
                page = self._request("POST", urljoin(self.base_url, "/consent"), fields)
            else:
                page = self._request("GET", location)
        raise AssertionError("authorize: too many redirects")
