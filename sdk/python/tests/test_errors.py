"""Error shapes, rate limits and opt-in retries against a real Puguh; timeouts
and cancellation against a loopback socket that never answers."""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from puguh_sdk import (
    AsyncPuguhClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PuguhAPIError,
    PuguhClient,
    PuguhConnectionError,
    PuguhError,
    PuguhTimeoutError,
    RateLimitError,
    ResponseInfo,
    ServerError,
    ValidationError,
)
from tests.support.puguh import Recorder, Server, User, free_port, new_user, start_puguh
from tests.support.schema import SchemaChecker

REDIS_SERVER = "/usr/bin/redis-server"
checker = SchemaChecker()
checked_http = checker.client()


class Env:
    server: Server
    owner: User
    client: PuguhClient


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    e = Env()
    e.server = start_puguh()
    e.owner = new_user(e.server, prefix="errors")
    e.server.cli("orgs", "set-plan", e.owner.organization_id, "business")
    e.client = PuguhClient(base_url=e.server.base_url, access_token=e.owner.access_token, http_client=checked_http)
    yield e
    e.server.stop()


def test_400_an_invalid_cursor(env: Env) -> None:
    with pytest.raises(BadRequestError) as caught:
        env.client.iam.users.list(cursor="forged")
    e = caught.value
    assert isinstance(e, PuguhAPIError) and isinstance(e, PuguhError)
    assert (e.status, e.detail, e.body) == (400, "Invalid cursor", {"detail": "Invalid cursor"})
    assert e.rate_limit is not None and e.rate_limit.limit == 1000
    assert re.match(r"^[0-9a-f]+$", e.request_id or "")
    assert str(e) == "400 Invalid cursor (GET /api/v1/iam/users)"
    assert e.response.url == f"{env.server.base_url}/api/v1/iam/users", "the URL without its query"


def test_401_the_per_ip_budget_and_the_challenge(env: Env) -> None:
    anonymous = PuguhClient(base_url=env.server.base_url, http_client=checked_http)
    with pytest.raises(AuthenticationError) as caught:
        anonymous.api_keys.list()
    e = caught.value
    assert e.detail == "Invalid or expired token"
    assert e.www_authenticate == 'Bearer realm="puguh"'
    # An unauthenticated request spends the anonymous per-IP budget (600/min by default).
    assert e.rate_limit is not None and e.rate_limit.limit == 600


def test_403_missing_permission(env: Env) -> None:
    viewer_key = env.client.api_keys.create({"name": "viewer", "role": "viewer"})
    viewer = PuguhClient(base_url=env.server.base_url, api_key=viewer_key["key"], organization_id=env.owner.organization_id, http_client=checked_http)
    with pytest.raises(PermissionDeniedError) as caught:
        viewer.api_keys.list()
    assert (caught.value.status, caught.value.detail, caught.value.missing_permission) == (403, "Missing permission: api_keys.read", "api_keys.read")
    # Only users create keys: a 403 that names no permission.
    with pytest.raises(PermissionDeniedError) as only_users:
        viewer.api_keys.create({"name": "x"})
    assert (only_users.value.detail, only_users.value.missing_permission) == ("Only users can create API keys", None)
    # The platform-operator permission no organization role holds.
    with pytest.raises(PermissionDeniedError) as operator:
        env.client.organizations.set_plan(env.owner.organization_id, {"plan": "pro"})
    assert operator.value.missing_permission == "platform.plans.update"


def test_404_an_unknown_organization(env: Env) -> None:
    with pytest.raises(NotFoundError) as caught:
        env.client.organizations.get("00000000-0000-4000-8000-000000000000")
    assert caught.value.detail == "Organization not found"


def test_409_registering_an_email_twice(env: Env) -> None:
    with pytest.raises(ConflictError) as caught:
        env.client.auth.register({"email": env.owner.email.upper(), "password": "another password 1", "full_name": "Twin"})
    assert caught.value.detail == "Email already registered"


def test_422_the_detail_list_with_loc_in_body_query_and_header(env: Env) -> None:
    with pytest.raises(ValidationError) as caught:
        env.client.auth.register({"email": "not an email", "password": "short", "full_name": ""})
    e = caught.value
    assert e.status == 422
    assert e.issues == [
        {"loc": ["body", "email"], "msg": "value is not a valid email address", "type": "value_error.email"},
        {"loc": ["body", "password"], "msg": "ensure this value has at least 8 characters", "type": "value_error.any_str.min_length"},
        {"loc": ["body", "full_name"], "msg": "ensure this value has at least 1 characters", "type": "value_error.any_str.min_length"},
    ]
    issue = e.issue_at("body", "password")
    assert issue is not None and issue["type"] == "value_error.any_str.min_length"
    assert e.issue_at("body", "nothing") is None
    assert str(e).startswith("422 body.email: value is not a valid email address; ")

    with pytest.raises(ValidationError) as limit:
        env.client.iam.users.list(limit=101)
    assert limit.value.issues == [
        {"loc": ["query", "limit"], "msg": "ensure this value is less than or equal to 100", "type": "value_error.number.not_le"}
    ]
    with pytest.raises(ValidationError) as header:
        env.client.iam.users.me(organization_id="not-a-uuid")
    assert [(i["loc"], i["type"]) for i in header.value.issues] == [(["header", "X-Organization-ID"], "type_error.uuid")]
    with pytest.raises(ValidationError) as uri:
        env.client.applications.create({"name": "x", "redirect_uris": ["https://ok.example.com/cb", "http://evil.example.com/cb"]})
    assert (uri.value.issues[0]["loc"], uri.value.issues[0]["type"]) == (["body", "redirect_uris", 1], "value_error.url.scheme")


def first_refused_call(c: PuguhClient, rec: Recorder) -> tuple[RateLimitError, int]:
    """Call until a call raises RateLimitError (bounded: a free plan's 60 and some); that error and
    the number of HTTP requests that call sent. The budget refills continuously (one a second), so
    the client under test spends it itself: a call made right after another client spent it could
    find a fresh token."""
    for _ in range(70):
        before = len(rec.calls)
        try:
            c.iam.users.me()
        except RateLimitError as e:
            return e, len(rec.calls) - before
    raise AssertionError("no call was refused")


def test_429_its_fields_and_opt_in_retries(env: Env) -> None:
    free = new_user(env.server, prefix="free")  # a new organization: free plan, 60 a minute
    rec = Recorder()
    c = PuguhClient(base_url=env.server.base_url, access_token=free.access_token, http_client=rec.client(event_hooks={"response": [checker.hook]}))
    refused: RateLimitError | None = None
    # The bucket holds 60; the 61st request inside a second is refused. Bounded: 80 requests.
    started = time.monotonic()
    for _ in range(80):
        try:
            c.iam.users.me()
        except RateLimitError as e:
            refused = e
            break
    assert refused is not None
    assert refused.status == 429
    assert refused.retry_after is not None and refused.retry_after >= 1
    assert refused.detail == f"Rate limit exceeded. Retry after {refused.retry_after} seconds."
    assert (refused.limit, refused.remaining) == (60, 0)
    assert refused.reset is not None and refused.reset >= int(time.time())
    # 60 pass at once, plus the one a second refilled meanwhile on a slow machine.
    refilled = math.ceil(time.monotonic() - started)
    assert 61 <= len(rec.calls) <= 61 + refilled, f"refused after {len(rec.calls)} requests in {refilled} s"

    # Opt-in retry: a refused call waits Retry-After and succeeds, one request per attempt.
    infos: list[ResponseInfo] = []
    patient = PuguhClient(base_url=env.server.base_url, access_token=free.access_token, max_retries=3, on_response=infos.append)
    for _ in range(70):
        infos.clear()
        started = time.monotonic()
        assert patient.iam.users.me()["id"] == free.user_id
        if len(infos) > 1:
            break
    statuses = [i.status for i in infos]
    assert statuses[-1] == 200 and len(statuses) >= 2 and set(statuses[:-1]) == {429}, statuses
    waited = sum(i.retry_after or 0 for i in infos[:-1])
    assert waited >= 1
    assert time.monotonic() - started >= waited - 0.05, "it waited the Retry-After it was told"

    # Retries are off by default: a refused call sent one request.
    once = Recorder()
    plain = PuguhClient(base_url=env.server.base_url, access_token=free.access_token, http_client=once.client())
    assert first_refused_call(plain, once)[1] == 1

    # Per call, max_retries wins over the client's.
    per_call = Recorder()
    retrying = PuguhClient(base_url=env.server.base_url, access_token=free.access_token, http_client=per_call.client(), max_retries=3)
    for _ in range(70):
        before = len(per_call.calls)
        try:
            retrying.iam.users.me(max_retries=0)
        except RateLimitError:
            break
    else:
        raise AssertionError("no call was refused")
    assert len(per_call.calls) - before == 1

    # A Retry-After longer than max_retry_delay is raised at once.
    hurried = Recorder()
    impatient = PuguhClient(
        base_url=env.server.base_url, access_token=free.access_token, http_client=hurried.client(), max_retries=3, max_retry_delay=0.01
    )
    assert first_refused_call(impatient, hurried)[1] == 1

    # Cancelling the task while it waits to retry ends the call with CancelledError, unwrapped.
    async def cancelled_during_the_wait() -> None:
        statuses: list[int] = []
        waiting = AsyncPuguhClient(
            base_url=env.server.base_url, access_token=free.access_token, max_retries=5, on_response=lambda i: statuses.append(i.status)
        )
        for _ in range(70):
            statuses.clear()
            task = asyncio.create_task(waiting.iam.users.me())
            while not task.done() and 429 not in statuses:
                await asyncio.sleep(0.005)
            if 429 in statuses:
                break
            await task  # it passed: the budget is not spent yet
        else:
            raise AssertionError("no call was refused")
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert statuses == [429], "cancelled while waiting to retry"
        await waiting.aclose()

    asyncio.run(cancelled_during_the_wait())


def _wait_for_port(port: int) -> None:
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("redis did not start")


@pytest.mark.skipif(not os.path.exists(REDIS_SERVER), reason="redis-server is not installed")
def test_503_when_redis_is_down_and_retried_after_its_retry_after() -> None:
    port = free_port()

    def start_redis() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    redis = start_redis()
    with_redis: Server | None = None
    try:
        _wait_for_port(port)
        with_redis = start_puguh({"PUGUH_REDIS_URL": f"redis://127.0.0.1:{port}/8"})
        c = PuguhClient(base_url=with_redis.base_url, http_client=checked_http)
        assert c.health.check()["redis"] == "ok"

        redis.kill()
        redis.wait(5)
        # The health status is cached for a second: bounded wait for the outage to show.
        down: ServerError | None = None
        for _ in range(40):
            try:
                c.health.check()
                time.sleep(0.1)
            except ServerError as e:
                down = e
                break
        assert down is not None
        assert (down.status, down.retry_after) == (503, 5)
        assert down.body == {"status": "unavailable", "database": "ok", "redis": "unavailable"}

        # max_retries: the client waits the 5 s; Redis is back meanwhile.
        statuses: list[int] = []
        patient = PuguhClient(base_url=with_redis.base_url, max_retries=1, on_response=lambda i: statuses.append(i.status), http_client=checked_http)
        result: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: result.update(health=patient.health.check()))
        worker.start()
        time.sleep(0.2)
        redis = start_redis()
        _wait_for_port(port)
        worker.join(15)
        assert result["health"]["status"] == "ok"
        assert statuses == [503, 200]
    finally:
        redis.kill()
        redis.wait(5)
        if with_redis is not None:
            with_redis.stop()


class Silent:
    """A loopback listener that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    s = Silent()
    yield s
    s.close()


def test_timeout_cancellation_and_no_server(silent: Silent) -> None:
    c = PuguhClient(base_url=silent.url, timeout=0.15)
    with pytest.raises(PuguhTimeoutError) as caught:
        c.health.check()
    assert isinstance(caught.value, PuguhConnectionError)
    assert str(caught.value) == "timed out after 0.15 s: GET /api/v1/health"
    # Per call, the timeout option wins over the client's.
    slow = PuguhClient(base_url=silent.url, timeout=60)
    with pytest.raises(PuguhTimeoutError):
        slow.health.check(timeout=0.1)

    async def cancelled() -> None:
        a = AsyncPuguhClient(base_url=silent.url, timeout=60)
        task = asyncio.create_task(a.health.check())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(PuguhTimeoutError):
            await a.health.check(timeout=0.1)
        await a.aclose()

    asyncio.run(cancelled())

    nobody = PuguhClient(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PuguhConnectionError) as refused:
        nobody.health.check()
    assert not isinstance(refused.value, PuguhTimeoutError)
    assert isinstance(refused.value.__cause__, Exception)


def test_every_answer_above_matched_its_schema() -> None:
    assert checker.problems == []
    wanted = ["listUsers 400", "listAPIKeys 401", "listAPIKeys 403", "getOrganization 404", "register 409", "register 422", "getMe 429"]
    if os.path.exists(REDIS_SERVER):
        wanted.append("getHealth 503")
    assert [w for w in wanted if w not in checker.checked] == []


