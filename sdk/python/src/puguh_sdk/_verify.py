"""Offline verification of Puguh access tokens for resource servers: RS256
JWTs with typ at+jwt (RFC 9068), checked against the issuer's JWKS, which is
fetched on first use, cached, and fetched again for an unknown ``kid`` only
once a cooldown since the last fetch has passed (so a flood of forged kids
cannot turn into a flood of JWKS requests). PyJWT checks the signature,
issuer, audience and required claims; the times are checked here so that a
caller can pass the time to check against."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import httpx
import jwt

from ._env import read_env
from ._errors import PuguhConnectionError, TokenVerificationError

MAX_TOKEN_BYTES = 16 * 1024
"""Tokens larger than this are refused before any parsing, as Puguh's API does."""


class AccessTokenClaims(TypedDict):
    """The claims of a Puguh access token (docs/identity.md, docs/oauth.md)."""

    iss: str
    sub: str
    aud: str | list[str]
    exp: int
    iat: int
    jti: str
    nbf: NotRequired[int]
    client_id: NotRequired[str]
    scope: NotRequired[str]
    """Space-separated granted scopes."""
    org_id: NotRequired[str]
    """The organization the token acts in (for browser grants: the application's)."""
    sid: NotRequired[str]
    """The refresh family."""
    kind: NotRequired[str]
    """"user" or "service_account" for tokens of Puguh's REST API."""


class JWKSOptions(TypedDict, total=False):
    cooldown_duration: float
    """Seconds after a fetch before an unknown kid may fetch again. Default 30."""
    cache_max_age: float
    """Seconds the fetched keys are trusted without fetching. Default 600."""
    timeout_duration: float
    """Seconds a JWKS fetch may take. Default 5."""


_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)


def bearer_token(authorization: str | Sequence[str] | None) -> str:
    """The token of an ``Authorization: Bearer …`` header value (RFC 6750 §2.1). A list holds every
    Authorization header of the request: more than one is a malformed request."""
    if authorization is not None and not isinstance(authorization, str):
        values = list(authorization)
        if len(values) != 1:
            raise TokenVerificationError("invalid_request", "exactly one Authorization header is required")
        authorization = values[0]
    if authorization is None or authorization.strip() == "":
        raise TokenVerificationError("missing_token", "no access token")
    m = _BEARER.match(authorization)
    if not m:
        raise TokenVerificationError("invalid_request", 'the Authorization header is not "Bearer <token>"')
    return m.group(1)


def _configured_issuer(issuer: str | None) -> str:
    value = issuer or read_env("PUGUH_ISSUER") or read_env("PUGUH_BASE_URL")
    if not value:
        raise ValueError("no issuer: pass issuer= or set PUGUH_ISSUER")
    return value.rstrip("/")


@dataclass
class _Key:
    jwk: dict[str, Any]
    key: Any  # the cryptography public key


class _NoMatchingKey(Exception):
    pass


class _KeyCache:
    """The cached key set and its clock: shared by the blocking and the asyncio fetchers."""

    def __init__(self, jwks_uri: str, options: JWKSOptions | None) -> None:
        o = options or {}
        self.jwks_uri = jwks_uri
        self.cooldown_duration = float(o.get("cooldown_duration", 30.0))
        self.cache_max_age = float(o.get("cache_max_age", 600.0))
        self.timeout_duration = float(o.get("timeout_duration", 5.0))
        self._keys: list[_Key] | None = None
        self._fetched_at: float | None = None

    @property
    def fresh(self) -> bool:
        """The keys were fetched less than cache_max_age ago."""
        return self._fetched_at is not None and time.monotonic() < self._fetched_at + self.cache_max_age

    @property
    def cooling_down(self) -> bool:
        """The last fetch was less than cooldown_duration ago: an unknown kid fetches nothing."""
        return self._fetched_at is not None and time.monotonic() < self._fetched_at + self.cooldown_duration

    def _select(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        candidates = [
            k
            for k in self._keys or []
            if (kid is None or k.jwk.get("kid") == kid)
            and k.jwk.get("use") in (None, "sig")
            and k.jwk.get("alg") in (None, "RS256")
        ]
        if len(candidates) != 1:
            raise _NoMatchingKey("no key of the JWKS matches the token" if not candidates else "more than one key of the JWKS matches the token")
        return candidates[0].key

    def _store(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise PuguhConnectionError(f"could not load the signing keys from {self.jwks_uri}: HTTP {response.status_code}")
        try:
            document = response.json()
            entries = document["keys"]
            if not isinstance(entries, list):
                raise TypeError("keys is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise PuguhConnectionError(f"could not load the signing keys from {self.jwks_uri}: not a JWK Set") from exc
        keys: list[_Key] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA":
                continue
            try:
                keys.append(_Key(entry, jwt.PyJWK(entry, "RS256").key))  # type: ignore[no-untyped-call]  # untyped in PyJWT 2.6
            except jwt.PyJWTError:
                continue  # unusable keys are skipped, as PyJWKSet does
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _unreachable(self, exc: Exception) -> PuguhConnectionError:
        return PuguhConnectionError(f"could not load the signing keys from {self.jwks_uri}")


class JWKSKeySet(_KeyCache):
    """A remote JWKS for blocking code (thread-safe)."""

    def __init__(self, jwks_uri: str, options: JWKSOptions | None = None, http_client: httpx.Client | None = None) -> None:
        super().__init__(jwks_uri, options)
        self._http = http_client
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Fetch the keys now (concurrent callers share one fetch)."""
        before = self._fetched_at
        with self._lock:
            if self._fetched_at != before:
                return  # another thread fetched while this one waited
            try:
                if self._http is not None:
                    response = self._http.get(self.jwks_uri, headers={"Accept": "application/json"}, timeout=self.timeout_duration)
                else:
                    with httpx.Client() as http:
                        response = http.get(self.jwks_uri, headers={"Accept": "application/json"}, timeout=self.timeout_duration)
            except httpx.RequestError as exc:
                raise self._unreachable(exc) from exc
            self._store(response)

    def get_key(self, header: dict[str, Any]) -> Any:
        if not self.fresh:
            self.reload()
        try:
            return self._select(header)
        except _NoMatchingKey:
            if self.cooling_down:
                raise
            self.reload()
            return self._select(header)


class AsyncJWKSKeySet(_KeyCache):
    """A remote JWKS for asyncio (concurrent verifications share one fetch)."""

    def __init__(self, jwks_uri: str, options: JWKSOptions | None = None, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(jwks_uri, options)
        self._http = http_client
        self._pending: asyncio.Future[None] | None = None

    async def reload(self) -> None:
        if self._pending is None:
            pending = asyncio.ensure_future(self._fetch())
            self._pending = pending

            def settled(task: asyncio.Future[None]) -> None:
                if self._pending is task:
                    self._pending = None
                if not task.cancelled():
                    task.exception()

            pending.add_done_callback(settled)
        await asyncio.shield(self._pending)

    async def _fetch(self) -> None:
        try:
            if self._http is not None:
                response = await self._http.get(self.jwks_uri, headers={"Accept": "application/json"}, timeout=self.timeout_duration)
            else:
                async with httpx.AsyncClient() as http:
                    response = await http.get(self.jwks_uri, headers={"Accept": "application/json"}, timeout=self.timeout_duration)
        except httpx.RequestError as exc:
            raise self._unreachable(exc) from exc
        self._store(response)

    async def get_key(self, header: dict[str, Any]) -> Any:
        if not self.fresh:
            await self.reload()
        try:
            return self._select(header)
        except _NoMatchingKey:
            if self.cooling_down:
                raise
            await self.reload()
            return self._select(header)


def _normalized_typ(typ: Any) -> str | None:
    if not isinstance(typ, str):
        return None
    t = typ.lower()
    return t[len("application/") :] if t.startswith("application/") else t


_PYJWT_MESSAGES: list[tuple[type[Exception], str]] = [
    (jwt.InvalidAudienceError, 'unexpected "aud" claim value'),
    (jwt.InvalidIssuerError, 'unexpected "iss" claim value'),
    (jwt.InvalidSignatureError, "signature verification failed"),
    (jwt.InvalidAlgorithmError, '"alg" (Algorithm) Header Parameter value not allowed'),
]


def _seconds(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)


class _Checks:
    """What one verifier checks; the parts before and after the key lookup."""

    def __init__(self, issuer: str, audience: str | Sequence[str], clock_tolerance: float) -> None:
        self.issuer = issuer
        self.audience = [audience] if isinstance(audience, str) else list(audience)
        if not self.audience or not all(self.audience):
            raise ValueError("audience is required")
        self.clock_tolerance = clock_tolerance

    @staticmethod
    def header(token: str) -> dict[str, Any]:
        if not isinstance(token, str) or token == "":
            raise TokenVerificationError("missing_token", "no access token")
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenVerificationError("invalid_token", "the token is too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenVerificationError("invalid_token", f"not a JWT: {exc}") from exc
        if header.get("alg") != "RS256":
            raise TokenVerificationError("invalid_token", '"alg" (Algorithm) Header Parameter value not allowed')
        if _normalized_typ(header.get("typ")) != "at+jwt":
            raise TokenVerificationError("invalid_token", 'unexpected "typ" JWT header value (an access token is at+jwt)')
        return header

    def claims(self, token: str, key: Any, scopes: Sequence[str] | None, now: datetime | float | None) -> AccessTokenClaims:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iat", "sub", "jti"],
                },
            )
        except jwt.MissingRequiredClaimError as exc:
            raise TokenVerificationError("invalid_token", f'missing required "{exc.claim}" claim') from exc
        except jwt.PyJWTError as exc:
            message = next((m for cls, m in _PYJWT_MESSAGES if isinstance(exc, cls)), str(exc))
            raise TokenVerificationError("invalid_token", message) from exc
        self._times(payload, _seconds(now))
        granted = set(payload["scope"].split()) if isinstance(payload.get("scope"), str) else set()
        required = list(scopes or [])
        missing = [s for s in required if s not in granted]
        if missing:
            raise TokenVerificationError("insufficient_scope", f"the token lacks the scope {' '.join(missing)}", scopes=required)
        return payload  # type: ignore[return-value]  # checked above: iss, sub, aud, exp, iat, jti

    def _times(self, payload: dict[str, Any], now: float) -> None:
        tolerance = self.clock_tolerance
        for name in ("exp", "iat", "nbf"):
            value = payload.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TokenVerificationError("invalid_token", f'"{name}" claim must be a number')
        if payload["exp"] <= now - tolerance:
            raise TokenVerificationError("invalid_token", '"exp" claim timestamp check failed (the token has expired)')
        if "nbf" in payload and payload["nbf"] > now + tolerance:
            raise TokenVerificationError("invalid_token", '"nbf" claim timestamp check failed (the token is not valid yet)')
        if payload["iat"] > now + tolerance:
            raise TokenVerificationError("invalid_token", '"iat" claim timestamp check failed (issued in the future)')


def _no_matching_key(exc: _NoMatchingKey) -> TokenVerificationError:
    err = TokenVerificationError("invalid_token", str(exc))
    err.__cause__ = exc
    return err


class AccessTokenVerifier:
    """A verifier with its own JWKS cache (blocking; thread-safe): make one per issuer and audience
    at start-up and share it.

    audience: the audiences the token must name (any one): ``<issuer>/api`` for tokens of Puguh's REST
        API, the application's client_id for tokens an application got through the code flow.
    issuer: ``iss`` exactly (default: PUGUH_ISSUER, else PUGUH_BASE_URL).
    jwks_uri: default ``<issuer>/.well-known/jwks.json``.
    clock_tolerance: seconds of leeway for exp, nbf and iat (default 30, as Puguh's own API).
    jwks: cache settings (cooldown_duration, cache_max_age, timeout_duration).
    http_client: the httpx.Client for the JWKS.
    """

    def __init__(
        self,
        *,
        audience: str | Sequence[str],
        issuer: str | None = None,
        jwks_uri: str | None = None,
        clock_tolerance: float = 30,
        jwks: JWKSOptions | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        issuer = _configured_issuer(issuer)
        self._checks = _Checks(issuer, audience, clock_tolerance)
        self.key_set = JWKSKeySet(jwks_uri or f"{issuer}/.well-known/jwks.json", jwks, http_client)

    def verify(self, token: str, *, scopes: Sequence[str] | None = None, now: datetime | float | None = None) -> AccessTokenClaims:
        """The claims of a valid token holding every scope asked for; TokenVerificationError otherwise,
        PuguhConnectionError when the keys cannot be fetched."""
        header = self._checks.header(token)
        try:
            key = self.key_set.get_key(header)
        except _NoMatchingKey as exc:
            raise _no_matching_key(exc) from exc
        return self._checks.claims(token, key, scopes, now)

    def authenticate(
        self, authorization: str | Sequence[str] | None, *, scopes: Sequence[str] | None = None, now: datetime | float | None = None
    ) -> AccessTokenClaims:
        """For middleware: the token of an Authorization header value (``Bearer …``), verified. A
        missing header raises TokenVerificationError with code ``missing_token``."""
        return self.verify(bearer_token(authorization), scopes=scopes, now=now)


class AsyncAccessTokenVerifier:
    """AccessTokenVerifier for asyncio: the same options; ``verify`` and ``authenticate`` are
    coroutines, and the JWKS is fetched with an httpx.AsyncClient."""

    def __init__(
        self,
        *,
        audience: str | Sequence[str],
        issuer: str | None = None,
        jwks_uri: str | None = None,
        clock_tolerance: float = 30,
        jwks: JWKSOptions | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        issuer = _configured_issuer(issuer)
        self._checks = _Checks(issuer, audience, clock_tolerance)
        self.key_set = AsyncJWKSKeySet(jwks_uri or f"{issuer}/.well-known/jwks.json", jwks, http_client)

    async def verify(self, token: str, *, scopes: Sequence[str] | None = None, now: datetime | float | None = None) -> AccessTokenClaims:
        header = self._checks.header(token)
        try:
            key = await self.key_set.get_key(header)
        except _NoMatchingKey as exc:
            raise _no_matching_key(exc) from exc
        return self._checks.claims(token, key, scopes, now)

    async def authenticate(
        self, authorization: str | Sequence[str] | None, *, scopes: Sequence[str] | None = None, now: datetime | float | None = None
    ) -> AccessTokenClaims:
        return await self.verify(bearer_token(authorization), scopes=scopes, now=now)


def create_access_token_verifier(
    *,
    audience: str | Sequence[str],
    issuer: str | None = None,
    jwks_uri: str | None = None,
    clock_tolerance: float = 30,
    jwks: JWKSOptions | None = None,
    http_client: httpx.Client | None = None,
) -> AccessTokenVerifier:
    """An AccessTokenVerifier (see there)."""
    return AccessTokenVerifier(
        audience=audience, issuer=issuer, jwks_uri=jwks_uri, clock_tolerance=clock_tolerance, jwks=jwks, http_client=http_client
    )


_MAX_SHARED = 100
_shared_lock = threading.Lock()
_shared: OrderedDict[tuple[Any, ...], AccessTokenVerifier] = OrderedDict()
_shared_by_client: weakref.WeakKeyDictionary[httpx.Client, OrderedDict[tuple[Any, ...], AccessTokenVerifier]] = weakref.WeakKeyDictionary()


def verify_access_token(
    token: str,
    *,
    audience: str | Sequence[str],
    issuer: str | None = None,
    scopes: Sequence[str] | None = None,
    jwks_uri: str | None = None,
    clock_tolerance: float = 30,
    jwks: JWKSOptions | None = None,
    http_client: httpx.Client | None = None,
    now: datetime | float | None = None,
) -> AccessTokenClaims:
    """Verify a Puguh access token: RS256, ``typ: at+jwt``, issuer, audience, expiry (30 s leeway)
    and scopes. The JWKS is cached per issuer, audience, options and http_client for the life of the
    process (at most 100 such caches). Raises TokenVerificationError (``code``, ``status``,
    ``www_authenticate()``) for a bad token, PuguhConnectionError when the keys cannot be fetched."""
    iss = _configured_issuer(issuer)
    aud = (audience,) if isinstance(audience, str) else tuple(audience)
    key = (iss, aud, jwks_uri, clock_tolerance, tuple(sorted((jwks or {}).items())))
    with _shared_lock:
        if http_client is None:
            cache = _shared
        else:
            cache = _shared_by_client.setdefault(http_client, OrderedDict())
        verifier = cache.get(key)
        if verifier is None:
            verifier = AccessTokenVerifier(
                audience=list(aud), issuer=iss, jwks_uri=jwks_uri, clock_tolerance=clock_tolerance, jwks=jwks, http_client=http_client
            )
            if len(cache) >= _MAX_SHARED:
                cache.popitem(last=False)
            cache[key] = verifier
    return verifier.verify(token, scopes=scopes, now=now)
