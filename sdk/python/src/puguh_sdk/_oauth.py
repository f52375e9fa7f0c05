"""OAuth 2.0 helpers for applications registered in Puguh (the enterprise SSO
flow) and service accounts: the authorization URL with PKCE S256 and state,
the callback, the code exchange, refresh, client credentials and revocation.
Endpoints are Puguh's fixed paths under the issuer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, NotRequired, Self, TypedDict
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import httpx

from ._env import read_env
from ._errors import OAuthError, error_from_response
from ._response import response_info
from ._transport import Prepared, connection_error, http_timeout, read_body
from ._version import VERSION

TokenEndpointAuthMethod = Literal["client_secret_post", "client_secret_basic", "none"]


class OAuthTokens(TypedDict):
    """A token endpoint answer (RFC 6749 §5.1), verbatim. Puguh says ``token_type: "bearer"``."""

    access_token: str
    token_type: str
    expires_in: NotRequired[int]
    refresh_token: NotRequired[str]
    id_token: NotRequired[str]
    scope: NotRequired[str]


@dataclass(frozen=True)
class AuthorizationRequest:
    """What to keep in the user's session until the callback arrives."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str
    nonce: str | None = None


def random_token(nbytes: int = 32) -> str:
    """A random base64url string of ``nbytes`` bytes (CSPRNG)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def code_challenge_s256(code_verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def _scope(scope: str | Sequence[str]) -> str:
    return scope if isinstance(scope, str) else " ".join(scope)


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


class _OAuthBase:
    issuer: str
    client_id: str
    redirect_uri: str | None
    token_endpoint_auth_method: TokenEndpointAuthMethod

    def __init__(
        self,
        who: str,
        issuer: str | None,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str | None,
        token_endpoint_auth_method: TokenEndpointAuthMethod | None,
        timeout: float | None,
    ) -> None:
        iss = issuer or read_env("PUGUH_ISSUER") or read_env("PUGUH_BASE_URL")
        if not iss:
            raise ValueError(f"{who}: no issuer: pass issuer= or set PUGUH_ISSUER")
        if not client_id:
            raise ValueError(f"{who}: client_id is required")
        self.issuer = iss.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._secret = client_secret or None
        self.token_endpoint_auth_method = token_endpoint_auth_method or ("client_secret_post" if self._secret else "none")
        if self.token_endpoint_auth_method not in ("client_secret_post", "client_secret_basic", "none"):
            raise ValueError(f"{who}: unknown token_endpoint_auth_method {self.token_endpoint_auth_method!r}")
        if self.token_endpoint_auth_method != "none" and not self._secret:
            raise ValueError(f"{who}: {self.token_endpoint_auth_method} needs client_secret")
        self._timeout = timeout

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/oauth/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/oauth/token"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.issuer}/oauth/revoke"

    def authorization_url(
        self,
        scope: str | Sequence[str],
        *,
        state: str | None = None,
        code_verifier: str | None = None,
        nonce: str | None = None,
        prompt: Literal["none", "login", "consent"] | None = None,
        max_age: int | None = None,
        redirect_uri: str | None = None,
        extra_params: Mapping[str, str] | None = None,
    ) -> AuthorizationRequest:
        """The URL to send the browser to (code flow, PKCE S256, a random state). Keep ``state`` and
        ``code_verifier`` with the user's session: handle_callback needs them."""
        redirect = redirect_uri or self.redirect_uri
        if not redirect:
            raise ValueError("authorization_url: redirect_uri is required (here or in the client)")
        state = state if state is not None else random_token()
        code_verifier = code_verifier if code_verifier is not None else random_token()
        if not _VERIFIER.match(code_verifier):
            raise ValueError("authorization_url: code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect,
            "scope": _scope(scope),
            "state": state,
            "code_challenge": code_challenge_s256(code_verifier),
            "code_challenge_method": "S256",
        }
        if nonce is not None:
            params["nonce"] = nonce
        if prompt is not None:
            params["prompt"] = prompt
        if max_age is not None:
            params["max_age"] = str(max_age)
        params.update(extra_params or {})
        url = f"{self.authorization_endpoint}?{urlencode(params)}"
        return AuthorizationRequest(url=url, state=state, code_verifier=code_verifier, redirect_uri=redirect, nonce=nonce)

    def _expected(
        self, expected: AuthorizationRequest | None, state: str | None, code_verifier: str | None, redirect_uri: str | None
    ) -> tuple[str, str, str | None]:
        if expected is not None:
            state = state or expected.state
            code_verifier = code_verifier or expected.code_verifier
            redirect_uri = redirect_uri or expected.redirect_uri
        if not state or not code_verifier:
            raise ValueError("handle_callback: pass the AuthorizationRequest, or state= and code_verifier=")
        return state, code_verifier, redirect_uri or self.redirect_uri

    def _callback_code(self, callback_url: str, state: str, redirect_uri: str | None) -> str:
        """Checks ``state`` and ``iss`` (RFC 9207), turns ``error=`` into OAuthError; the code."""
        query = parse_qs(urlsplit(urljoin(redirect_uri or "", callback_url)).query, keep_blank_values=True)
        got = _first(query, "state")
        if got is None or not hmac.compare_digest(got.encode("utf-8"), state.encode("utf-8")):
            raise OAuthError(0, "invalid_state", "the callback state does not match the one sent", None)
        iss = _first(query, "iss")
        if iss is not None and iss.rstrip("/") != self.issuer:
            raise OAuthError(0, "invalid_issuer", f"the callback came from {iss}, not {self.issuer}", None)
        error = _first(query, "error")
        if error is not None:
            raise OAuthError(0, error, _first(query, "error_description"), None)
        code = _first(query, "code")
        if not code:
            raise OAuthError(0, "invalid_request", "the callback carries no code", None)
        return code

    def _code_form(self, code: str, code_verifier: str, redirect_uri: str | None) -> dict[str, str]:
        redirect = redirect_uri or self.redirect_uri
        if not redirect:
            raise ValueError("exchange_code: redirect_uri is required (here or in the client)")
        return {"grant_type": "authorization_code", "code": code, "code_verifier": code_verifier, "redirect_uri": redirect}

    @staticmethod
    def _refresh_form(refresh_token: str, scope: str | Sequence[str] | None) -> dict[str, str]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            form["scope"] = _scope(scope)
        return form

    @staticmethod
    def _client_credentials_form(scope: str | Sequence[str] | None, audience: str | None) -> dict[str, str]:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = _scope(scope)
        if audience is not None:
            form["audience"] = audience
        return form

    @staticmethod
    def _revoke_form(token: str, token_type_hint: str | None) -> dict[str, str]:
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        return form

    def _prepare(self, url: str, form: Mapping[str, str]) -> Prepared:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": f"puguh-sdk-python/{VERSION}",
        }
        body = dict(form)
        if self.token_endpoint_auth_method == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-encoded before the Basic encoding.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._secret or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        elif self.token_endpoint_auth_method == "client_secret_post":
            body["client_id"] = self.client_id
            body["client_secret"] = self._secret or ""
        else:
            body["client_id"] = self.client_id
        return Prepared("POST", url, headers, urlencode(body).encode("ascii"), http_timeout(self._timeout))

    @staticmethod
    def _answer(operation_id: str, prepared: Prepared, response: httpx.Response) -> Any:
        body = read_body(response)
        if 200 <= response.status_code < 300:
            return body
        info = response_info(operation_id, "POST", prepared.url, response)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            desc = body.get("error_description")
            raise OAuthError(response.status_code, body["error"], desc if isinstance(desc, str) else None, info)
        raise error_from_response(info, body)


class OAuthClient(_OAuthBase):
    """OAuth 2.0 client of one application (or service account) registered in Puguh, blocking.

    issuer: Puguh's issuer URL (default: PUGUH_ISSUER, else PUGUH_BASE_URL).
    client_id, client_secret: the application's (a public client has no secret).
    redirect_uri: the registered redirect URI the callback arrives at (exact match).
    token_endpoint_auth_method: the application's; default client_secret_post with a secret (what
        applications created through the REST API use), none without. Service accounts use client_secret_basic.
    """

    def __init__(
        self,
        *,
        client_id: str,
        issuer: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_endpoint_auth_method: TokenEndpointAuthMethod | None = None,
        http_client: httpx.Client | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        super().__init__("OAuthClient", issuer, client_id, client_secret, redirect_uri, token_endpoint_auth_method, timeout)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()

    def handle_callback(
        self,
        callback_url: str,
        expected: AuthorizationRequest | None = None,
        *,
        state: str | None = None,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
    ) -> OAuthTokens:
        """The redirect back from Puguh (the full URL, or its path and query): checks ``state`` and
        ``iss``, raises OAuthError for an ``error=`` answer (access_denied, …), and exchanges the code."""
        state, code_verifier, redirect_uri = self._expected(expected, state, code_verifier, redirect_uri)
        code = self._callback_code(callback_url, state, redirect_uri)
        return self.exchange_code(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str | None = None) -> OAuthTokens:
        """grant_type=authorization_code (RFC 6749 §4.1.3) with the PKCE verifier."""
        result: OAuthTokens = self._post("oauth.token", self.token_endpoint, self._code_form(code, code_verifier, redirect_uri))
        return result

    def refresh(self, refresh_token: str, *, scope: str | Sequence[str] | None = None) -> OAuthTokens:
        """grant_type=refresh_token. Store the new refresh token: the old one is used up."""
        result: OAuthTokens = self._post("oauth.token", self.token_endpoint, self._refresh_form(refresh_token, scope))
        return result

    def client_credentials(self, *, scope: str | Sequence[str] | None = None, audience: str | None = None) -> OAuthTokens:
        """grant_type=client_credentials (RFC 6749 §4.4): a service account's (or application's) own token."""
        result: OAuthTokens = self._post("oauth.token", self.token_endpoint, self._client_credentials_form(scope, audience))
        return result

    def revoke(self, token: str, *, token_type_hint: Literal["access_token", "refresh_token"] | None = None) -> None:
        """RFC 7009 revocation of a refresh or access token this client holds."""
        self._post("oauth.revoke", self.revocation_endpoint, self._revoke_form(token, token_type_hint))

    def _post(self, operation_id: str, url: str, form: Mapping[str, str]) -> Any:
        prepared = self._prepare(url, form)
        try:
            response = self._http.post(url, headers=prepared.headers, content=prepared.content, timeout=prepared.timeout)
        except httpx.RequestError as exc:
            raise connection_error(exc, prepared, self._timeout) from exc
        return self._answer(operation_id, prepared, response)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class AsyncOAuthClient(_OAuthBase):
    """OAuthClient for asyncio: the same options and methods, the network ones coroutines."""

    def __init__(
        self,
        *,
        client_id: str,
        issuer: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_endpoint_auth_method: TokenEndpointAuthMethod | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | None = 30.0,
    ) -> None:
        super().__init__("AsyncOAuthClient", issuer, client_id, client_secret, redirect_uri, token_endpoint_auth_method, timeout)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()

    async def handle_callback(
        self,
        callback_url: str,
        expected: AuthorizationRequest | None = None,
        *,
        state: str | None = None,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
    ) -> OAuthTokens:
        state, code_verifier, redirect_uri = self._expected(expected, state, code_verifier, redirect_uri)
        code = self._callback_code(callback_url, state, redirect_uri)
        return await self.exchange_code(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)

    async def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str | None = None) -> OAuthTokens:
        result: OAuthTokens = await self._post("oauth.token", self.token_endpoint, self._code_form(code, code_verifier, redirect_uri))
        return result

    async def refresh(self, refresh_token: str, *, scope: str | Sequence[str] | None = None) -> OAuthTokens:
        result: OAuthTokens = await self._post("oauth.token", self.token_endpoint, self._refresh_form(refresh_token, scope))
        return result

    async def client_credentials(self, *, scope: str | Sequence[str] | None = None, audience: str | None = None) -> OAuthTokens:
        result: OAuthTokens = await self._post("oauth.token", self.token_endpoint, self._client_credentials_form(scope, audience))
        return result

    async def revoke(self, token: str, *, token_type_hint: Literal["access_token", "refresh_token"] | None = None) -> None:
        await self._post("oauth.revoke", self.revocation_endpoint, self._revoke_form(token, token_type_hint))

    async def _post(self, operation_id: str, url: str, form: Mapping[str, str]) -> Any:
        prepared = self._prepare(url, form)
        try:
            response = await self._http.post(url, headers=prepared.headers, content=prepared.content, timeout=prepared.timeout)
        except httpx.RequestError as exc:
            raise connection_error(exc, prepared, self._timeout) from exc
        return self._answer(operation_id, prepared, response)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()
