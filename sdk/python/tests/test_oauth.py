"""The enterprise SSO flow with OAuthClient against a real Puguh: the
authorization URL (PKCE S256, state), a user's browser through sign-in and
consent, the callback, the code exchange, refresh and revocation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

from puguh_sdk import (
    AccessTokenVerifier,
    AsyncOAuthClient,
    OAuthClient,
    OAuthError,
    PuguhClient,
    TokenVerificationError,
    code_challenge_s256,
    random_token,
)
from tests.support.browser import Browser
from tests.support.puguh import Server, User, decode_jwt, new_user, start_puguh

REDIRECT = "http://127.0.0.1:9/callback"


class Env:
    server: Server
    owner: User
    user: User
    app: dict[str, Any]
    oauth: OAuthClient
    tokens: dict[str, Any]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    e.server = start_puguh()
    e.owner = new_user(e.server, prefix="oauth-owner")
    e.user = new_user(e.server, prefix="oauth-user")
    admin = PuguhClient(base_url=e.server.base_url, access_token=e.owner.access_token)
    e.app = dict(
        admin.applications.create(
            {"name": "Intranet", "redirect_uris": [REDIRECT], "scopes": ["openid", "profile", "email", "offline_access", "read:user"]}
        )
    )
    e.oauth = OAuthClient(issuer=e.server.issuer, client_id=e.app["client_id"], client_secret=e.app["client_secret"], redirect_uri=REDIRECT)
    yield e
    e.oauth.close()
    e.server.stop()


def test_rfc_7636_appendix_b() -> None:
    assert code_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert re.match(r"^[A-Za-z0-9_-]{43}$", random_token())
    assert random_token() != random_token()


def test_authorization_url_code_flow_pkce_and_random_state(env: Env) -> None:
    a = env.oauth.authorization_url(["openid", "read:user"])
    b = env.oauth.authorization_url("openid")
    u = urlsplit(a.url)
    assert f"{u.scheme}://{u.netloc}{u.path}" == f"{env.server.issuer}/oauth/authorize"
    assert {k: v[0] for k, v in parse_qs(u.query).items()} == {
        "response_type": "code",
        "client_id": env.app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "openid read:user",
        "state": a.state,
        "code_challenge": code_challenge_s256(a.code_verifier),
        "code_challenge_method": "S256",
    }
    assert re.match(r"^[A-Za-z0-9_-]{43}$", a.state) and re.match(r"^[A-Za-z0-9_-]{43}$", a.code_verifier)
    assert a.state != b.state and a.code_verifier != b.code_verifier
    assert a.redirect_uri == REDIRECT
    with pytest.raises(ValueError, match="43 to 128"):
        env.oauth.authorization_url("openid", code_verifier="short")


def test_browser_signs_in_and_consents_and_handle_callback_exchanges_the_code(env: Env) -> None:
    request = env.oauth.authorization_url(["openid", "profile", "offline_access", "read:user"], nonce="n-0123456789")
    callback = Browser(env.server.base_url).authorize(request.url, env.user.email, env.user.password)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    assert query["state"] == [request.state]
    assert query["iss"] == [env.server.issuer]

    tokens = env.oauth.handle_callback(callback, request)
    assert tokens["token_type"].lower() == "bearer"
    assert tokens.get("refresh_token"), "offline_access gives a refresh token"
    assert tokens.get("id_token")
    _, id_claims = decode_jwt(tokens["id_token"])
    assert (id_claims["nonce"], id_claims["sub"]) == ("n-0123456789", env.user.user_id)
    env.tokens = dict(tokens)

    # The application's resource server verifies the access token: its audience is the client_id.
    v = AccessTokenVerifier(issuer=env.server.issuer, audience=env.app["client_id"])
    claims = v.verify(tokens["access_token"], scopes=["read:user"])
    assert (claims["sub"], claims.get("client_id")) == (env.user.user_id, env.app["client_id"])
    # An ID token is not an access token (typ JWT, not at+jwt).
    with pytest.raises(TokenVerificationError, match="typ") as id_token:
        v.verify(tokens["id_token"])
    assert id_token.value.code == "invalid_token"
    # Nor is the application's token meant for Puguh's REST API.
    with pytest.raises(TokenVerificationError, match="aud"):
        AccessTokenVerifier(issuer=env.server.issuer, audience=f"{env.server.issuer}/api").verify(tokens["access_token"])


def test_refresh_rotates_and_revoke_ends_the_refresh_token(env: Env) -> None:
    nxt = env.oauth.refresh(env.tokens["refresh_token"])
    assert nxt["access_token"] and nxt.get("refresh_token") != env.tokens["refresh_token"]
    env.oauth.revoke(nxt["refresh_token"], token_type_hint="refresh_token")
    with pytest.raises(OAuthError) as caught:
        env.oauth.refresh(nxt["refresh_token"])
    assert (caught.value.status, caught.value.error) == (400, "invalid_grant")
    assert caught.value.response is not None and caught.value.response.operation_id == "oauth.token"


def test_callback_checks_state_issuer_errors_and_the_verifier(env: Env) -> None:
    request = env.oauth.authorization_url("openid")
    callback = Browser(env.server.base_url).authorize(request.url, env.user.email, env.user.password)
    with pytest.raises(OAuthError) as wrong_state:
        env.oauth.handle_callback(callback, state="another-state-value", code_verifier=request.code_verifier)
    assert (wrong_state.value.error, wrong_state.value.status) == ("invalid_state", 0)
    foreign = callback.replace(f"iss={env.server.issuer.replace(':', '%3A').replace('/', '%2F')}", "iss=https%3A%2F%2Fimpostor.example.com")
    assert foreign != callback
    with pytest.raises(OAuthError) as wrong_issuer:
        env.oauth.handle_callback(foreign, request)
    assert wrong_issuer.value.error == "invalid_issuer"
    # The right code with the wrong verifier: Puguh refuses (PKCE).
    code = parse_qs(urlsplit(callback).query)["code"][0]
    with pytest.raises(OAuthError) as wrong_verifier:
        env.oauth.exchange_code(code=code, code_verifier="x" * 43)
    assert wrong_verifier.value.error == "invalid_grant"

    # A user who denies consent: the callback carries error=access_denied.
    other = new_user(env.server, prefix="denier")
    denied = env.oauth.authorization_url("openid")
    back = Browser(env.server.base_url).authorize(denied.url, other.email, other.password, decision="deny")
    with pytest.raises(OAuthError) as access_denied:
        env.oauth.handle_callback(back, denied)
    assert (access_denied.value.error, access_denied.value.status) == ("access_denied", 0)


def test_either_secret_method_is_accepted_and_a_wrong_secret_is_invalid_client_401(env: Env) -> None:
    basic = OAuthClient(
        issuer=env.server.issuer,
        client_id=env.app["client_id"],
        client_secret=env.app["client_secret"],
        redirect_uri=REDIRECT,
        token_endpoint_auth_method="client_secret_basic",
    )
    with pytest.raises(OAuthError) as grant:
        basic.refresh("ory_rt_whatever")
    assert grant.value.error == "invalid_grant"
    methods: list[Literal["client_secret_basic", "client_secret_post"]] = ["client_secret_basic", "client_secret_post"]
    for method in methods:
        wrong = OAuthClient(
            issuer=env.server.issuer,
            client_id=env.app["client_id"],
            client_secret="not-the-secret",
            redirect_uri=REDIRECT,
            token_endpoint_auth_method=method,
        )
        with pytest.raises(OAuthError) as caught:
            wrong.refresh("ory_rt_whatever")
        assert (caught.value.error, caught.value.status) == ("invalid_client", 401)


def test_a_public_client_pkce_without_a_secret_async(env: Env) -> None:
    admin = PuguhClient(base_url=env.server.base_url, access_token=env.owner.access_token)
    spa = admin.applications.create({"name": "SPA", "redirect_uris": [REDIRECT], "public": True})
    assert spa["token_endpoint_auth_method"] == "none"

    async def main() -> None:
        async with AsyncOAuthClient(issuer=env.server.issuer, client_id=spa["client_id"], redirect_uri=REDIRECT) as client:
            assert client.token_endpoint_auth_method == "none"
            request = client.authorization_url("openid profile")
            callback = await asyncio.to_thread(Browser(env.server.base_url).authorize, request.url, env.user.email, env.user.password)
            # A server sees only the path and query of the callback; that is enough.
            parts = urlsplit(callback)
            tokens = await client.handle_callback(f"{parts.path}?{parts.query}", request)
            assert decode_jwt(tokens["access_token"])[1]["client_id"] == spa["client_id"]

    asyncio.run(main())


def test_construction_refusals() -> None:
    with pytest.raises(ValueError, match="client_id is required"):
        OAuthClient(issuer="http://127.0.0.1:1", client_id="")
    with pytest.raises(ValueError, match="client_secret_basic needs client_secret"):
        OAuthClient(issuer="http://127.0.0.1:1", client_id="x", token_endpoint_auth_method="client_secret_basic")
