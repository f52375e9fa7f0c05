"""AsyncPuguhClient against a real Puguh: every operation of the OpenAPI
document through the asyncio client (its answers validated against the
document), async pagination, with_response, and tasks."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from puguh_sdk import (
    MFAEnrollmentRequiredError,
    MFARequiredError,
    ROUTES,
    AsyncOAuthClient,
    AsyncPage,
    AsyncPaginator,
    AsyncPuguhClient,
    NotFoundError,
    PuguhClient,
    ResponseInfo,
)
from tests.support.browser import Browser
from tests.support.mfa import enrol_totp, totp
from tests.support.mail import mail_link
from tests.support.puguh import Server, new_user, start_puguh, unique_email
from tests.support.schema import SchemaChecker

OPERATOR = "async-operator@example.com"
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_puguh({"PUGUH_PLATFORM_OPERATORS": OPERATOR})
    yield s
    s.stop()


def test_every_operation_through_the_async_client(server: Server) -> None:
    reached: set[str] = set()
    checker = SchemaChecker()

    def on_response(info: ResponseInfo) -> None:
        if 200 <= info.status < 300:
            reached.add(info.operation_id)

    async def main() -> None:
        http = checker.async_client()

        def client(**options: Any) -> AsyncPuguhClient:
            return AsyncPuguhClient(base_url=server.base_url, http_client=http, on_response=on_response, **options)

        c = client()
        assert (await c.health.check())["status"] == "ok"
        email, password = unique_email("async-owner"), "owner password 123"
        reg = await c.auth.register({"email": email, "password": password, "full_name": "Ann Async"})
        await c.auth.resend_verification({"email": email})
        link = mail_link(server, email, "/verify-email?token=", 1)
        assert (await c.auth.verify_email({"token": link.split("token=", 1)[1]}))["email_verified"] is True
        await c.auth.request_password_reset({"email": email})
        link = mail_link(server, email, "/password-reset/confirm?token=")
        password = "owner password 456"
        await c.auth.confirm_password_reset({"token": link.split("token=", 1)[1], "password": password})
        pair = await c.auth.login({"email": email, "password": password})
        assert c.access_token == pair["access_token"]
        server.cli("orgs", "set-plan", reg["organization_id"], "business")
        # A second factor: MFARequiredError, then complete_login.
        mfa_email = unique_email("async-mfa")
        await client().auth.register({"email": mfa_email, "password": password, "full_name": "Mo Async"})
        secret, _ = enrol_totp(server.base_url, mfa_email, password)
        mfa_client = client()
        with pytest.raises(MFARequiredError) as required:
            await mfa_client.auth.login({"email": mfa_email, "password": password})
        await mfa_client.auth.complete_login(required.value.challenge, totp(secret, time.time() + 30))
        assert mfa_client.access_token is not None
        me, info = await c.with_response.iam.users.me()
        assert me["id"] == reg["user_id"] and info.rate_limit is not None and info.rate_limit.limit == 1000

        # Organizations, the plan, members (paginated, walked with async for).
        acme = await c.organizations.create({"name": "Acme"})
        assert (await c.organizations.get(acme["id"]))["name"] == "Acme"
        orgs = await c.organizations.list()
        assert isinstance(orgs, AsyncPage) and orgs.next_cursor is None
        assert sorted([o["name"] async for o in c.organizations.list()]) == ["Acme", "Ann Async"]
        op = client()
        await op.auth.register({"email": OPERATOR, "password": "operator password 1", "full_name": "Op"})
        await op.auth.login({"email": OPERATOR, "password": "operator password 1"})
        plan = await op.organizations.set_plan(acme["id"], {"plan": "pro"})
        assert plan["requests_per_minute"] == 300

        members = [new_user(server, prefix=f"async-member{i}") for i in range(2)]
        for m in members:
            await c.organizations.members.add(acme["id"], {"email": m.email, "role": "member"})
        first = await c.organizations.members.list(acme["id"], limit=2)
        assert len(first.items) == 2 and first.has_next_page()
        second = await first.next_page()
        assert second is not None and len(second.items) == 1 and await second.next_page() is None
        assert [len(p.items) async for p in first.pages()] == [2, 1]
        walked = [m["email"] async for m in c.organizations.members.list(acme["id"], limit=1)]
        assert sorted(walked) == sorted([email, *(m.email for m in members)])
        page, page_info = await c.with_response.organizations.members.list(acme["id"], limit=1)
        assert isinstance(page, AsyncPage) and page_info is page.response and page_info.operation_id == "listMembers"
        assert (await c.organizations.members.update(acme["id"], members[0].user_id, {"role": "admin"}))["role"] == "admin"
        assert await c.organizations.members.remove(acme["id"], members[1].user_id) is None  # type: ignore[func-returns-value]  # 204: None

        # IAM users, in another organization per call.
        users = [u["email"] async for u in c.iam.users.list(organization_id=acme["id"])]
        assert sorted(users) == sorted([email, members[0].email])
        assert (await c.iam.users.disable(members[0].user_id, organization_id=acme["id"]))["disabled"] is True
        assert (await c.iam.users.enable(members[0].user_id, organization_id=acme["id"]))["disabled"] is False
        events = [e["type"] async for e in c.audit.list(type=["member.removed", "user.enabled"], organization_id=acme["id"], limit=1)]
        assert events == ["user.enabled", "member.removed"]

        # API keys.
        key = await c.api_keys.create({"name": "async key", "role": "viewer"})
        assert any(k["id"] == key["id"] for k in (await c.api_keys.list()).items)
        key_client = client(api_key=key["key"], organization_id=reg["organization_id"])
        assert (await key_client.iam.users.me())["type"] == "api_key"
        rotated_key = await c.api_keys.rotate(key["id"], {"overlap": "0s"})
        assert rotated_key["replaces"] == key["id"] and rotated_key["name"] == "async key"
        key = rotated_key
        assert await c.api_keys.revoke(key["id"]) is None  # type: ignore[func-returns-value]  # 204: None

        # Service accounts, and their client-credentials token.
        sa = await c.service_accounts.create({"name": "async deployer", "role": "member"})
        assert sa["id"] in [s["id"] async for s in c.service_accounts.list()]
        assert (await c.service_accounts.get(sa["id"]))["client_id"] == sa["client_id"]
        assert (await c.service_accounts.create_api_key(sa["id"], {"name": "sa key"}))["service_account_id"] == sa["id"]
        assert (await c.service_accounts.rotate_secret(sa["id"], {"overlap": "1h"}))["client_id"] == sa["client_id"]
        async with AsyncOAuthClient(
            issuer=server.issuer, client_id=sa["client_id"], client_secret=sa["client_secret"], token_endpoint_auth_method="client_secret_basic"
        ) as sa_oauth:
            sa_token = await sa_oauth.client_credentials()
        assert (await client(access_token=sa_token["access_token"]).iam.users.me())["id"] == sa["id"]
        assert await c.service_accounts.delete(sa["id"]) is None  # type: ignore[func-returns-value]  # 204: None

        # Applications and grants (a user consents through the code flow).
        app = await c.applications.create({"name": "Async app", "redirect_uris": [REDIRECT], "scopes": ["openid", "read:user"]})
        assert any(a["id"] == app["id"] for a in (await c.applications.list()).items)
        assert (await c.applications.get(app["id"]))["name"] == "Async app"
        assert (await c.applications.update(app["id"], {"trusted": False}))["trusted"] is False
        rotated = await c.applications.rotate_secret(app["id"])
        oauth = AsyncOAuthClient(issuer=server.issuer, client_id=app["id"], client_secret=rotated["client_secret"], redirect_uri=REDIRECT)
        request = oauth.authorization_url("openid read:user")
        callback = await asyncio.to_thread(Browser(server.base_url).authorize, request.url, members[0].email, members[0].password)
        tokens = await oauth.handle_callback(callback, request)
        assert tokens["token_type"].lower() == "bearer"
        await oauth.aclose()
        grants = await c.applications.grants.list(application_id=app["id"])
        assert [g["user_id"] for g in grants.items] == [members[0].user_id]
        with pytest.raises(ValueError, match="application_id is required"):
            await c.applications.grants.list()
        assert await c.applications.grants.revoke(members[0].user_id, application_id=app["id"]) is None  # type: ignore[func-returns-value]  # 204: None
        # Connected apps: the user consents again, sees the application and removes its access.
        consent_again = AsyncOAuthClient(issuer=server.issuer, client_id=app["id"], client_secret=rotated["client_secret"], redirect_uri=REDIRECT)
        request = consent_again.authorization_url("openid read:user")
        callback = await asyncio.to_thread(Browser(server.base_url).authorize, request.url, members[0].email, members[0].password)
        await consent_again.handle_callback(callback, request)
        await consent_again.aclose()
        mine = client()
        await mine.auth.login({"email": members[0].email, "password": members[0].password})
        assert [x["application_id"] for x in (await mine.iam.users.consents.list()).items] == [app["id"]]
        assert await mine.iam.users.consents.revoke(app["id"]) is None  # type: ignore[func-returns-value]  # 204: None
        assert (await mine.iam.users.consents.list()).items == []
        # Deleting accounts: a user their own, the operator someone else's.
        leaver = new_user(server, prefix="async-leaver")
        leaving = client(access_token=leaver.access_token)
        assert await leaving.iam.users.delete_me({"password": leaver.password}) is None  # type: ignore[func-returns-value]  # 204: None
        gone = new_user(server, prefix="async-gone")
        assert await op.iam.users.delete(gone.user_id) is None  # type: ignore[func-returns-value]  # 204: None
        assert await c.applications.delete(app["id"]) is None  # type: ignore[func-returns-value]  # 204: None
        with pytest.raises(NotFoundError):
            await c.applications.get(app["id"])

        # The organization's own identity providers.
        conns = c.organizations.connections
        conn = await conns.create(
            acme["id"],
            {"name": "Acme IdP", "issuer": "https://idp.acme.example", "client_id": "puguh",
             "client_secret": "sdk-async-secret", "domains": ["sdk-async.acme.example"]},
        )
        assert "sdk-async-secret" not in str(conn)
        assert [x["id"] for x in (await conns.list(acme["id"])).items] == [conn["id"]]
        assert (await conns.get(acme["id"], conn["id"]))["name"] == "Acme IdP"
        assert (await conns.update(acme["id"], conn["id"], {"name": "Renamed"}))["name"] == "Renamed"
        assert await conns.delete(acme["id"], conn["id"]) is None  # type: ignore[func-returns-value]  # 204: None

        # An organization's second-factor policy, the caller's factors, enrolment at login.
        member_email = unique_email("async-policy")
        await client().auth.register({"email": member_email, "password": password, "full_name": "Pol Async"})
        await c.organizations.members.add(acme["id"], {"email": member_email, "role": "member"})
        assert (await c.organizations.get_mfa_policy(acme["id"]))["required"] is False
        await c.organizations.set_mfa_policy(acme["id"], {"required": True, "grace_period": "168h"})
        member = client()
        assert "mfa_enrollment" in await member.auth.login({"email": member_email, "password": password})
        assert (await member.mfa.status())["enabled"] is False
        en = await member.mfa.begin_totp()
        codes = (await member.mfa.confirm_totp(totp(en["secret"])))["recovery_codes"]
        assert await member.mfa.remove_totp({"password": password, "code": codes[0]}) is None  # type: ignore[func-returns-value]  # 204: None
        await c.organizations.set_mfa_policy(acme["id"], {"required": True, "grace_period": "0s"})
        late = client()
        with pytest.raises(MFAEnrollmentRequiredError) as enrol:
            await late.auth.login({"email": member_email, "password": password})
        again = await late.auth.begin_login_enrollment(enrol.value.challenge)
        await late.auth.complete_login_enrollment(enrol.value.challenge, totp(again["secret"]))
        assert late.access_token is not None
        await c.organizations.set_mfa_policy(acme["id"], {"required": False})

        # Invitations, accepted with the mailed link; the invitee's own changes.
        inv = c.organizations.invitations
        invited_email = unique_email("async-invitee")
        invitation = await inv.create(acme["id"], {"email": invited_email, "role": "viewer"})
        extra = await inv.create(acme["id"], {"email": unique_email("async-extra"), "role": "viewer"})
        assert [i["id"] async for i in inv.list(acme["id"], limit=1)] == [invitation["id"], extra["id"]]
        assert await inv.revoke(acme["id"], extra["id"]) is None  # type: ignore[func-returns-value]  # 204: None
        token = mail_link(server, invited_email, "/invitations/accept?token=").split("token=", 1)[1]
        invitee = client()
        await invitee.auth.register({"email": invited_email, "password": "invitee password 123", "full_name": "Ivo"})
        await invitee.auth.login({"email": invited_email, "password": "invitee password 123"})
        assert (await invitee.invitations.accept({"token": token}))["id"] == acme["id"]
        moved = unique_email("async-moved")
        assert (await invitee.iam.users.change_email({"password": "invitee password 123", "new_email": moved}))["new_email"] == moved
        pair = await invitee.iam.users.change_password({"current_password": "invitee password 123", "new_password": "a fresh password 1"})
        assert invitee.access_token == pair["access_token"]

        # The session: refresh rotates, logout forgets.
        before = c.refresh_token
        assert (await c.auth.refresh())["refresh_token"] == c.refresh_token != before
        await c.auth.logout()
        assert (c.access_token, c.refresh_token) == (None, None)  # type: ignore[comparison-overlap]  # mypy kept the login's narrowing
        await http.aclose()

    asyncio.run(main())
    assert sorted(set(ROUTES) - reached) == []
    assert checker.problems == []
    validated = {k.split(" ")[0] for k in checker.checked if re.search(r" 2\d\d$", k)}
    assert sorted(set(ROUTES) - validated) == []


def test_list_is_a_coroutine_for_create_task_and_sends_nothing_until_used(server: Server) -> None:
    user = new_user(server, prefix="async-tasks")

    async def main() -> None:
        seen: list[str] = []
        c = AsyncPuguhClient(base_url=server.base_url, access_token=user.access_token, on_response=lambda i: seen.append(i.operation_id))
        unused = c.organizations.list()
        assert isinstance(unused, AsyncPaginator)
        unused.close()  # never sent: no request, no "never awaited" warning
        orgs, users = await asyncio.gather(asyncio.create_task(c.organizations.list()), c.iam.users.list())
        assert (len(orgs.items), len(users.items)) == (1, 1)
        assert sorted(seen) == ["listOrganizations", "listUsers"]
        await c.aclose()

    asyncio.run(main())


def test_async_and_blocking_clients_offer_the_same_surface() -> None:
    """Every resource and method of one client exists on the other and on both with_response views."""

    def tree(obj: Any, prefix: str = "") -> set[str]:
        names: set[str] = set()
        for name in dir(obj):
            if name.startswith("_") or name in ("with_response", "base_url", "access_token", "refresh_token"):
                continue
            value = getattr(obj, name)
            if callable(value) and hasattr(type(obj), name) and not isinstance(value, type):
                names.add(prefix + name)
            elif hasattr(value, "_runner"):
                names |= tree(value, f"{prefix}{name}.")
        return names

    sync = PuguhClient(base_url="http://127.0.0.1:1")
    async_ = AsyncPuguhClient(base_url="http://127.0.0.1:1")
    methods = tree(sync) - {"close"}
    assert len(methods) == len(ROUTES)
    assert tree(async_) - {"aclose"} == methods
    assert tree(sync.with_response) == methods
    assert tree(async_.with_response) == methods
