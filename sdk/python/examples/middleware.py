"""Protecting your own API with Puguh access tokens: one WSGI middleware (Flask,
Django, any WSGI app) and one ASGI middleware (Starlette, FastAPI, any ASGI
app), each a thin adapter around the SDK's verifier. tests/test_verify.py runs
both against a real Puguh.

    from puguh_sdk import AccessTokenVerifier, AsyncAccessTokenVerifier

    # issuer: your Puguh (PUGUH_ISSUER); audience: your application's client_id for tokens it got
    # through the code flow, or f"{issuer}/api" for tokens of Puguh's own REST API.
    app.wsgi_app = RequireTokenWSGI(app.wsgi_app, AccessTokenVerifier(audience=CLIENT_ID), scopes=["read:resources"])
    app = RequireTokenASGI(app, AsyncAccessTokenVerifier(audience=CLIENT_ID), scopes=["read:resources"])

The handler finds the token's claims in ``environ["puguh.claims"]`` (WSGI) or
``scope["puguh.claims"]`` (ASGI). A refused token is answered here: 401 (400 for
a malformed Authorization header, 403 for a missing scope) with the RFC 6750
WWW-Authenticate header. A JWKS that cannot be fetched raises
PuguhConnectionError, which the framework answers with a 5xx: not the caller's fault.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

from puguh_sdk import AccessTokenVerifier, AsyncAccessTokenVerifier, TokenVerificationError

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def refusal(err: TokenVerificationError, realm: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a refused token: status, headers, FastAPI-style body."""
    detail = "Not authenticated" if err.code == "missing_token" else str(err)
    body = json.dumps({"detail": detail}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("WWW-Authenticate", err.www_authenticate(realm)),
        ("Content-Length", str(len(body))),
    ]
    return err.status, headers, body


class RequireTokenWSGI:
    def __init__(self, app: WSGIApp, verifier: AccessTokenVerifier, scopes: Sequence[str] = (), realm: str = "my-api") -> None:
        self.app = app
        self.verifier = verifier  # one per process: it caches the JWKS and refetches on an unknown kid
        self.scopes = list(scopes)
        self.realm = realm

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            claims = self.verifier.authenticate(environ.get("HTTP_AUTHORIZATION"), scopes=self.scopes)
        except TokenVerificationError as err:
            status, headers, body = refusal(err, self.realm)
            start_response(f"{status} {HTTPStatus(status).phrase}", headers)
            return [body]
        environ["puguh.claims"] = claims
        return self.app(environ, start_response)


class RequireTokenASGI:
    def __init__(self, app: ASGIApp, verifier: AsyncAccessTokenVerifier, scopes: Sequence[str] = (), realm: str = "my-api") -> None:
        self.app = app
        self.verifier = verifier
        self.scopes = list(scopes)
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Every Authorization header: more than one is a malformed request.
        authorization = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
        try:
            claims = await self.verifier.authenticate(authorization or None, scopes=self.scopes)
        except TokenVerificationError as err:
            status, headers, body = refusal(err, self.realm)
            await send({"type": "http.response.start", "status": status, "headers": [(k.lower().encode(), v.encode()) for k, v in headers]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app({**scope, "puguh.claims": claims}, receive, send)
