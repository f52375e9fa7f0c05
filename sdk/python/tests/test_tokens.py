"""The token-expired path against a real Puguh, with PuguhClient (threads) and
AsyncPuguhClient (tasks). A token is made to fail the way an expired one does
(401, "Invalid or expired token", WWW-Authenticate: Bearer … error="invalid_token")
by logging it out."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from puguh_sdk import AsyncPuguhClient, AuthenticationError, PuguhClient
from puguh_sdk.types import TokenPair
from tests.support.puguh import Recorder, Server, User, login, logout, new_user, refresh, start_puguh


class Env:
    server: Server
    user: User
    dead: str  # an access token of user's that the server refuses: logged out
    chain: str  # a live refresh token of user's, rotated by fresh()

    def fresh(self) -> str:
        """A live access token of user's, from the refresh chain (sign-ins are throttled per account)."""
        access, self.chain = refresh(self.server, self.chain)
        return access


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    e.server = start_puguh()
    e.user = new_user(e.server, prefix="tokens")
    e.server.cli("orgs", "set-plan", e.user.organization_id, "business")
    other, _ = login(e.server, e.user.email, e.user.password)
    logout(e.server, other)
    e.dead = other
    e.chain = e.user.refresh_token
    yield e
    e.server.stop()


def wait_for(predicate: Any, what: str) -> None:
    """Bounded wait (5 s) for a condition another thread makes true."""
    for _ in range(500):
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# ---- PuguhClient ----


def test_expired_token_renewed_once_and_retried_once(env: Env) -> None:
    new = env.fresh()
    rec = Recorder()
    calls = []

    def on_token_expired() -> str:
        calls.append(1)
        return new

    client = PuguhClient(base_url=env.server.base_url, http_client=rec.client(), access_token=env.dead, on_token_expired=on_token_expired)
    assert client.iam.users.me()["id"] == env.user.user_id
    assert len(calls) == 1
    assert [c.authorization for c in rec.calls] == [f"Bearer {env.dead}", f"Bearer {new}"]
    assert client.access_token == new
    # The new token stays: the next call sends it first.
    client.iam.users.me()
    assert len(calls) == 1 and len(rec.calls) == 3


def test_threads_that_fail_together_share_one_renewal(env: Env) -> None:
    new = env.fresh()
    rec = Recorder()
    calls = []
    gate = threading.Event()

    def on_token_expired() -> str:
        calls.append(1)
        assert gate.wait(10), "the test never released the renewal"
        return new

    # The five first requests leave together (a thread that started after the renewal began would
    # rightly wait for it instead of sending the old token).
    together = threading.Barrier(5)

    def hold(request: httpx.Request) -> None:
        if request.headers.get("authorization") == f"Bearer {env.dead}":
            together.wait(10)

    http = httpx.Client(event_hooks={"request": [hold, rec.hook]})
    client = PuguhClient(base_url=env.server.base_url, http_client=http, access_token=env.dead, on_token_expired=on_token_expired)
    with ThreadPoolExecutor(6) as pool:
        failing = [pool.submit(client.iam.users.me) for _ in range(5)]
        wait_for(lambda: len(rec.calls) == 5 and len(calls) == 1, "five refused calls and one renewal")
        # A call started while the renewal is pending waits for it instead of sending the old token.
        late = pool.submit(client.organizations.list)
        time.sleep(0.1)
        assert len(rec.calls) == 5
        gate.set()
        results = [f.result(timeout=10) for f in failing]
        assert len(late.result(timeout=10).items) == 1
    assert all(me["id"] == env.user.user_id for me in results)
    assert len(calls) == 1
    assert len(rec.calls) == 11, "each failed call sent twice, the late one once"
    assert [c.authorization for c in rec.calls].count(f"Bearer {new}") == 6


def test_never_loops_a_renewed_token_refused_again_is_raised(env: Env) -> None:
    rec = Recorder()
    calls = []

    def on_token_expired() -> str:
        calls.append(1)
        return "not-a-token"

    client = PuguhClient(base_url=env.server.base_url, http_client=rec.client(), access_token=env.dead, on_token_expired=on_token_expired)
    with pytest.raises(AuthenticationError) as refused:
        client.iam.users.me()
    e = refused.value
    assert (e.status, e.detail) == (401, "Invalid or expired token")
    assert e.www_authenticate == 'Bearer realm="puguh", error="invalid_token"'
    assert e.invalid_token
    assert len(calls) == 1 and len(rec.calls) == 2


def test_none_gives_up_and_the_callbacks_error_reaches_the_caller(env: Env) -> None:
    rec = Recorder()
    give_up = PuguhClient(base_url=env.server.base_url, http_client=rec.client(), access_token=env.dead, on_token_expired=lambda: None)
    with pytest.raises(AuthenticationError):
        give_up.api_keys.list()
    assert len(rec.calls) == 1

    class SignInAgain(Exception):
        pass

    def raising() -> str:
        raise SignInAgain("please sign in again")

    throwing = PuguhClient(base_url=env.server.base_url, access_token=env.dead, on_token_expired=raising)
    with pytest.raises(SignInAgain, match="please sign in again"):
        throwing.api_keys.list()


def test_no_renewal_for_401s_that_are_not_a_refused_bearer_token(env: Env) -> None:
    calls = []

    def on_token_expired() -> str:
        calls.append(1)
        return "x"

    # A bad API key: WWW-Authenticate is APIKey, not invalid_token.
    key_client = PuguhClient(base_url=env.server.base_url, api_key="pgh_nope", organization_id=env.user.organization_id, on_token_expired=on_token_expired)
    with pytest.raises(AuthenticationError) as bad_key:
        key_client.iam.users.me()
    assert bad_key.value.detail == "Invalid API key" and not bad_key.value.invalid_token
    # No credential at all: `Bearer realm="puguh"` without an error.
    anonymous = PuguhClient(base_url=env.server.base_url, on_token_expired=on_token_expired)
    with pytest.raises(AuthenticationError) as missing:
        anonymous.iam.users.me()
    assert missing.value.www_authenticate == 'Bearer realm="puguh"' and not missing.value.invalid_token
    # A failed sign-in.
    with pytest.raises(AuthenticationError) as failed:
        anonymous.auth.login({"email": env.user.email, "password": "wrong password!"})
    assert failed.value.detail == "Invalid email or password"
    assert calls == []


def test_the_session_refreshes_by_itself_and_keeps_the_rotated_refresh_token(env: Env) -> None:
    _, live_refresh = login(env.server, env.user.email, env.user.password)
    stored: list[TokenPair] = []
    rec = Recorder()
    client = PuguhClient(
        base_url=env.server.base_url, http_client=rec.client(), access_token=env.dead, refresh_token=live_refresh, on_tokens=stored.append
    )
    assert client.iam.users.me()["id"] == env.user.user_id
    assert [f"{c.method} {c.path}" for c in rec.calls] == ["GET /api/v1/iam/users/me", "POST /api/v1/auth/refresh", "GET /api/v1/iam/users/me"]
    assert len(stored) == 1
    assert client.refresh_token != live_refresh, "the rotated refresh token replaced the used one"
    assert (client.access_token, client.refresh_token) == (stored[0]["access_token"], stored[0]["refresh_token"])
    assert rec.calls[2].authorization == f"Bearer {stored[0]['access_token']}"


def test_a_refused_session_refresh_token_is_raised(env: Env) -> None:
    client = PuguhClient(base_url=env.server.base_url, access_token=env.dead, refresh_token="ory_rt_not.valid")
    with pytest.raises(AuthenticationError) as refused:
        client.iam.users.me()
    assert refused.value.detail == "Invalid or expired refresh token"


def test_login_then_logout_later_calls_send_no_token(env: Env) -> None:
    rec = Recorder()
    client = PuguhClient(base_url=env.server.base_url, http_client=rec.client())
    client.auth.login({"email": env.user.email, "password": env.user.password})
    assert client.iam.users.me()["email"] == env.user.email
    client.auth.logout()
    with pytest.raises(AuthenticationError) as refused:
        client.iam.users.me()
    assert not refused.value.invalid_token
    assert rec.calls[-1].authorization is None, "after logout no token is sent"
    with pytest.raises(ValueError, match="no refresh token"):
        client.auth.refresh()

    # Logging out a token the server already refuses: the 401 is raised and the client forgets it all the same.
    dead = PuguhClient(base_url=env.server.base_url, access_token=env.dead, refresh_token="ory_rt_stale.value")
    with pytest.raises(AuthenticationError):
        dead.auth.logout()
    assert (dead.access_token, dead.refresh_token) == (None, None)


def test_a_session_resumed_from_a_refresh_token_alone_refreshes_once_before_its_first_calls(env: Env) -> None:
    _, live_refresh = login(env.server, env.user.email, env.user.password)
    rec = Recorder()
    client = PuguhClient(base_url=env.server.base_url, http_client=rec.client(), refresh_token=live_refresh)
    with ThreadPoolExecutor(2) as pool:
        me = pool.submit(client.iam.users.me)
        orgs = pool.submit(client.organizations.list)
        assert me.result(timeout=10)["id"] == env.user.user_id
        assert len(orgs.result(timeout=10).items) == 1
    assert sorted(f"{c.method} {c.path}" for c in rec.calls) == ["GET /api/v1/iam/users/me", "GET /api/v1/organizations", "POST /api/v1/auth/refresh"]
    assert all(c.authorization == f"Bearer {client.access_token}" for c in rec.calls if c.method == "GET")


def test_a_coroutine_callback_on_the_blocking_client_is_refused(env: Env) -> None:
    async def on_token_expired() -> str:
        return "x"

    client = PuguhClient(base_url=env.server.base_url, access_token=env.dead, on_token_expired=on_token_expired)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AsyncPuguhClient"):
        client.iam.users.me()


# ---- AsyncPuguhClient ----


def test_async_expired_token_renewed_once_with_a_coroutine_callback(env: Env) -> None:
    new = env.fresh()

    async def main() -> None:
        rec = Recorder()
        calls = []

        async def on_token_expired() -> str:
            calls.append(1)
            return new

        async with AsyncPuguhClient(
            base_url=env.server.base_url, http_client=rec.async_client(), access_token=env.dead, on_token_expired=on_token_expired
        ) as client:
            assert (await client.iam.users.me())["id"] == env.user.user_id
            assert [c.authorization for c in rec.calls] == [f"Bearer {env.dead}", f"Bearer {new}"]
            await client.iam.users.me()
        assert len(calls) == 1 and len(rec.calls) == 3

    asyncio.run(main())


def test_async_tasks_share_one_renewal_and_a_cancelled_waiter_does_not_cancel_it(env: Env) -> None:
    new = env.fresh()

    async def main() -> None:
        rec = Recorder()
        calls = []
        gate = asyncio.Event()

        async def on_token_expired() -> str:
            calls.append(1)
            await gate.wait()  # hold the renewal until every call has failed
            return new

        client = AsyncPuguhClient(base_url=env.server.base_url, http_client=rec.async_client(), access_token=env.dead, on_token_expired=on_token_expired)
        tasks = [asyncio.create_task(client.iam.users.me()) for _ in range(5)]
        for _ in range(500):
            if len(rec.calls) == 5 and calls:
                break
            await asyncio.sleep(0.01)
        assert len(rec.calls) == 5 and len(calls) == 1
        # One waiter gives up: only its wait ends.
        tasks[0].cancel()
        # A call started while the renewal is pending waits for it before sending.
        late = asyncio.create_task(client.organizations.list())
        await asyncio.sleep(0.1)
        assert len(rec.calls) == 5
        gate.set()
        results = await asyncio.gather(*tasks[1:])
        assert all(me["id"] == env.user.user_id for me in results)
        assert len((await late).items) == 1
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]
        assert len(calls) == 1
        assert len(rec.calls) == 10, "four retried calls and the late one with the new token"
        assert [c.authorization for c in rec.calls].count(f"Bearer {new}") == 5
        assert client.access_token == new
        await client.aclose()

    asyncio.run(main())


def test_async_sync_callback_none_and_raising(env: Env) -> None:
    async def main() -> None:
        rec = Recorder()
        give_up = AsyncPuguhClient(base_url=env.server.base_url, http_client=rec.async_client(), access_token=env.dead, on_token_expired=lambda: None)
        with pytest.raises(AuthenticationError):
            await give_up.api_keys.list()
        assert len(rec.calls) == 1

        class SignInAgain(Exception):
            pass

        async def raising() -> str:
            raise SignInAgain("please sign in again")

        throwing = AsyncPuguhClient(base_url=env.server.base_url, access_token=env.dead, on_token_expired=raising)
        results = await asyncio.gather(throwing.iam.users.me(), throwing.api_keys.list(), return_exceptions=True)
        assert [type(r) for r in results] == [SignInAgain, SignInAgain], "the callback's error reaches every waiting caller"

    asyncio.run(main())


def test_async_session_resumed_from_a_refresh_token_alone_with_an_async_on_tokens(env: Env) -> None:
    _, live_refresh = login(env.server, env.user.email, env.user.password)

    async def main() -> None:
        rec = Recorder()
        stored: list[TokenPair] = []

        async def on_tokens(pair: TokenPair) -> None:
            await asyncio.sleep(0)
            stored.append(pair)

        client = AsyncPuguhClient(base_url=env.server.base_url, http_client=rec.async_client(), refresh_token=live_refresh, on_tokens=on_tokens)
        me, orgs = await asyncio.gather(client.iam.users.me(), client.organizations.list())
        assert me["id"] == env.user.user_id and len(orgs.items) == 1
        assert sorted(f"{c.method} {c.path}" for c in rec.calls) == ["GET /api/v1/iam/users/me", "GET /api/v1/organizations", "POST /api/v1/auth/refresh"]
        assert len(stored) == 1 and client.refresh_token == stored[0]["refresh_token"] != live_refresh

        # The session's own refresh when the stored access token dies: one refresh, then the retry.
        logout(env.server, stored[0]["access_token"])
        rec.calls.clear()
        # Logging out ended the whole refresh family; the session cannot renew and says so.
        with pytest.raises(AuthenticationError) as refused:
            await client.iam.users.me()
        assert refused.value.detail == "Invalid or expired refresh token"
        assert [f"{c.method} {c.path}" for c in rec.calls] == ["GET /api/v1/iam/users/me", "POST /api/v1/auth/refresh"]

    asyncio.run(main())
