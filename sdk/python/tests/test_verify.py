"""Access-token verification against a real Puguh's tokens and JWKS, a
signing-key rotation included, and the WSGI and ASGI middleware example."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest

from examples.middleware import RequireTokenASGI, RequireTokenWSGI
from puguh_sdk import (
    AccessTokenVerifier,
    AsyncAccessTokenVerifier,
    PuguhConnectionError,
    TokenVerificationError,
    create_access_token_verifier,
    verify_access_token,
)
from tests.support.puguh import Server, User, decode_jwt, free_port, login, new_user, refresh, start_puguh


class Env:
    server: Server
    user: User
    api: str  # the audience of REST API tokens
    chain: str

    def fresh_token(self) -> str:
        """A fresh token from the refresh chain (signed with whatever key is active now)."""
        access, self.chain = refresh(self.server, self.chain)
        return access


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    e.server = start_puguh()
    e.user = new_user(e.server, prefix="verify")
    e.api = f"{e.server.issuer}/api"
    e.chain = e.user.refresh_token
    yield e
    e.server.stop()


class Counting:
    """httpx clients that count the JWKS requests they send."""

    def __init__(self) -> None:
        self.count = 0

    def _hook(self, request: httpx.Request) -> None:
        self.count += 1

    async def _async_hook(self, request: httpx.Request) -> None:
        self.count += 1

    def client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self._hook]})

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(event_hooks={"request": [self._async_hook]})


def invalid(exc: pytest.ExceptionInfo[TokenVerificationError], *words: str) -> None:
    assert (exc.value.code, exc.value.status) == ("invalid_token", 401), exc.value
    for word in words:
        assert word in str(exc.value), f"{word!r} not in {exc.value}"


def test_a_rest_api_token_claims_scopes_and_one_jwks_fetch(env: Env) -> None:
    f = Counting()
    v = AccessTokenVerifier(issuer=env.server.issuer, audience=env.api, http_client=f.client())
    claims = v.verify(env.user.access_token, scopes=["offline_access"])
    assert claims["iss"] == env.server.issuer
    assert claims["sub"] == env.user.user_id
    assert claims["aud"] == [env.api]
    assert (claims.get("kind"), claims.get("org_id"), claims.get("client_id")) == ("user", env.user.organization_id, "puguh")
    for _ in range(5):
        v.verify(env.user.access_token)
    assert f.count == 1

    # verify_access_token keeps one cache per issuer, audience and http_client.
    g = Counting()
    http = g.client()
    for _ in range(3):
        verify_access_token(env.user.access_token, issuer=env.server.issuer, audience=env.api, http_client=http)
    assert g.count == 1


def test_refused_tokens(env: Env) -> None:
    ok: dict[str, Any] = {"issuer": env.server.issuer, "audience": env.api}
    with pytest.raises(TokenVerificationError) as aud:
        verify_access_token(env.user.access_token, issuer=env.server.issuer, audience="some-other-client")
    invalid(aud, "aud")
    with pytest.raises(TokenVerificationError) as iss:
        verify_access_token(
            env.user.access_token,
            issuer="https://impostor.example.com",
            audience=env.api,
            jwks_uri=f"{env.server.issuer}/.well-known/jwks.json",
        )
    invalid(iss, "iss")
    h, p, s = env.user.access_token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**payload, "sub": "someone-else"}).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenVerificationError) as tampered:
        verify_access_token(f"{h}.{forged}.{s}", **ok)
    invalid(tampered, "signature")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    with pytest.raises(TokenVerificationError) as alg_none:
        verify_access_token(f"{none}.{p}.", **ok)
    invalid(alg_none, "alg")
    with pytest.raises(TokenVerificationError) as oversized:
        verify_access_token(f"{h}.{'A' * 17000}.{s}", **ok)
    invalid(oversized, "too large")
    with pytest.raises(TokenVerificationError) as not_a_jwt:
        verify_access_token("pgh_not_a_jwt", **ok)
    invalid(not_a_jwt)
    with pytest.raises(TokenVerificationError) as empty:
        verify_access_token("", **ok)
    assert (empty.value.code, empty.value.www_authenticate()) == ("missing_token", 'Bearer realm="api"')


def test_expiry_with_30_seconds_of_leeway(env: Env) -> None:
    exp = decode_jwt(env.user.access_token)[1]["exp"]
    v = AccessTokenVerifier(issuer=env.server.issuer, audience=env.api)
    v.verify(env.user.access_token, now=datetime.fromtimestamp(exp + 29, tz=timezone.utc))
    with pytest.raises(TokenVerificationError) as expired:
        v.verify(env.user.access_token, now=exp + 31)
    invalid(expired, "exp")
    strict = AccessTokenVerifier(issuer=env.server.issuer, audience=env.api, clock_tolerance=0)
    with pytest.raises(TokenVerificationError):
        strict.verify(env.user.access_token, now=exp + 1)
    iat = decode_jwt(env.user.access_token)[1]["iat"]
    with pytest.raises(TokenVerificationError) as future:
        v.verify(env.user.access_token, now=iat - 31)
    invalid(future, "iat")


def test_insufficient_scope_403_with_the_scopes_in_the_challenge(env: Env) -> None:
    with pytest.raises(TokenVerificationError) as caught:
        verify_access_token(env.user.access_token, issuer=env.server.issuer, audience=env.api, scopes=["offline_access", "read:resources"])
    e = caught.value
    assert (e.code, e.status) == ("insufficient_scope", 403)
    assert e.www_authenticate("reports") == 'Bearer realm="reports", error="insufficient_scope", scope="offline_access read:resources"'


def test_an_unreachable_jwks_is_a_connection_error_not_a_bad_token(env: Env) -> None:
    with pytest.raises(PuguhConnectionError):
        verify_access_token(env.user.access_token, issuer=env.server.issuer, audience=env.api, jwks_uri=f"http://127.0.0.1:{free_port()}/jwks.json")

    async def main() -> None:
        v = AsyncAccessTokenVerifier(issuer=env.server.issuer, audience=env.api, jwks_uri=f"{env.server.issuer}/no-such-jwks.json")
        with pytest.raises(PuguhConnectionError, match="HTTP 404"):
            await v.verify(env.user.access_token)

    asyncio.run(main())


def wait_until_unpublished(env: Env, kid: str) -> None:
    """Bounded wait (15 s) until the served JWKS no longer holds ``kid``."""
    for _ in range(150):
        keys = httpx.get(f"{env.server.issuer}/.well-known/jwks.json", headers={"Cache-Control": "no-cache"}).json()["keys"]
        if all(k["kid"] != kid for k in keys):
            return
        time.sleep(0.1)
    raise AssertionError(f"key {kid} still published after 15 s")


def test_key_rotation_prepublished_key_from_cache_unknown_kid_refetched_after_the_cooldown(env: Env) -> None:
    # One event loop for the whole test: the async verifier's connections belong to it. The
    # blocking calls in it (CLI, plain httpx, the blocking verifiers) have the loop to themselves.
    asyncio.run(rotation(env))


async def rotation(env: Env) -> None:
    env.chain = login(env.server, env.user.email, env.user.password)[1]
    first = env.fresh_token()
    k1 = decode_jwt(first)[0]["kid"]

    fast_f, slow_f, async_f = Counting(), Counting(), Counting()
    opts: dict[str, Any] = {"issuer": env.server.issuer, "audience": env.api}
    fast = create_access_token_verifier(**opts, http_client=fast_f.client(), jwks={"cooldown_duration": 0})
    slow = create_access_token_verifier(**opts, http_client=slow_f.client(), jwks={"cooldown_duration": 60})
    fast_async = AsyncAccessTokenVerifier(**opts, http_client=async_f.async_client(), jwks={"cooldown_duration": 0})
    fast.verify(first)
    slow.verify(first)
    await fast_async.verify(first)
    assert (fast_f.count, slow_f.count, async_f.count) == (1, 1, 1)

    # Rotation 1: the next key (already in every cache) signs; the old one leaves the JWKS.
    env.server.cli("keys", "rotate", "--force")
    wait_until_unpublished(env, k1)
    second = env.fresh_token()
    k2 = decode_jwt(second)[0]["kid"]
    assert k2 != k1
    fast.verify(second)
    slow.verify(second)
    await fast_async.verify(second)
    assert (fast_f.count, slow_f.count, async_f.count) == (1, 1, 1), "a pre-published key needs no fetch"

    # Rotation 2: a key created after the caches were filled signs.
    env.server.cli("keys", "rotate", "--force")
    wait_until_unpublished(env, k2)
    third = env.fresh_token()
    assert decode_jwt(third)[0]["kid"] != k2
    with pytest.raises(TokenVerificationError) as unknown:
        slow.verify(third)
    invalid(unknown, "no key")
    assert slow_f.count == 1, "within the cooldown an unknown kid fetches nothing"
    assert fast.verify(third)["sub"] == env.user.user_id
    assert fast_f.count == 2, "the unknown kid fetched the JWKS once"
    assert (await fast_async.verify(third))["sub"] == env.user.user_id
    assert async_f.count == 2
    # The refetched set no longer holds the first key, so its tokens are refused now.
    with pytest.raises(TokenVerificationError):
        fast.verify(first)
    # The server agrees.
    assert httpx.get(f"{env.server.base_url}/api/v1/iam/users/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def claims_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({"sub": environ["puguh.claims"]["sub"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


async def claims_asgi(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps({"sub": scope["puguh.claims"]["sub"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


EXPECTED = [
    # (path, Authorization, status, WWW-Authenticate, body) — the token is filled in below.
    ("/", "TOKEN", 200, None, {"sub": "SUB"}),
    ("/", None, 401, 'Bearer realm="my-api"', {"detail": "Not authenticated"}),
    ("/", "Bearer not.a.token", 401, 'Bearer realm="my-api", error="invalid_token"', None),
    ("/", "Basic dXNlcjpwYXNz", 400, 'Bearer realm="my-api", error="invalid_request"', None),
    ("/strict", "TOKEN", 403, 'Bearer realm="my-api", error="insufficient_scope", scope="read:reports"', None),
]


def check_answers(env: Env, answers: list[tuple[int, str | None, Any]]) -> None:
    for (path, _, status, www, body), (got_status, got_www, got_body) in zip(EXPECTED, answers, strict=True):
        assert (path, got_status, got_www) == (path, status, www)
        if body is not None:
            want = {"sub": env.user.user_id} if body == {"sub": "SUB"} else body
            assert got_body == want


def test_the_wsgi_middleware_example(env: Env) -> None:
    verifier = AccessTokenVerifier(issuer=env.server.issuer, audience=env.api)
    guard = RequireTokenWSGI(claims_app, verifier, scopes=["offline_access"])
    strict = RequireTokenWSGI(claims_app, verifier, scopes=["read:reports"])

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return (strict if environ["PATH_INFO"] == "/strict" else guard)(environ, start_response)

    httpd = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        token = env.fresh_token()
        answers = []
        for path, authorization, *_ in EXPECTED:
            headers = {} if authorization is None else {"Authorization": authorization.replace("TOKEN", f"Bearer {token}")}
            res = httpx.get(base + path, headers=headers)
            answers.append((res.status_code, res.headers.get("www-authenticate"), res.json()))
        check_answers(env, answers)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_asgi_middleware_example(env: Env) -> None:
    token = env.fresh_token()

    async def main() -> None:
        verifier = AsyncAccessTokenVerifier(issuer=env.server.issuer, audience=env.api)
        guard = RequireTokenASGI(claims_asgi, verifier, scopes=["offline_access"])
        strict = RequireTokenASGI(claims_asgi, verifier, scopes=["read:reports"])

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await (strict if scope["path"] == "/strict" else guard)(scope, receive, send)

        answers = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://my-api.test") as client:
            for path, authorization, *_ in EXPECTED:
                headers = {} if authorization is None else {"Authorization": authorization.replace("TOKEN", f"Bearer {token}")}
                res = await client.get(path, headers=headers)
                answers.append((res.status_code, res.headers.get("www-authenticate"), res.json()))
            # Two Authorization headers: a malformed request.
            res = await client.get("/", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")])
            assert (res.status_code, res.headers.get("www-authenticate")) == (400, 'Bearer realm="my-api", error="invalid_request"')
        check_answers(env, answers)

    asyncio.run(main())
