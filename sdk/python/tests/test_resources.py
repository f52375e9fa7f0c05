"""Every resource of the REST API through PuguhClient, against a real Puguh.
The last tests check that every operation of provider/rest/openapi.yaml
answered a 2xx to some call in this module, and that every answer matched its
schema in the document. The tests run in order and share state."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from collections.abc import Iterator
from typing import Any

import pytest

from puguh_sdk import (
    ROUTES,
    AuthenticationError,
    MFAEnrollmentRequiredError,
    MFARequiredError,
    NotFoundError,
    OAuthClient,
    Page,
    PermissionDeniedError,
    PuguhAPIError,
    PuguhClient,
    ResponseInfo,
    ValidationError,
)
from puguh_sdk.types import AuditEventType
from tests.support.browser import Browser
from tests.support.mfa import enrol_totp, totp
from tests.support.mail import mail_link
from tests.support.puguh import Server, User, new_user, start_puguh, unique_email
from tests.support.schema import SchemaChecker

OPERATOR = "operator@example.com"
UUID = re.compile(r"^[0-9a-f-]{36}$")

reached: set[str] = set()
checker = SchemaChecker()
http = checker.client()
state: dict[str, Any] = {}


def on_response(info: ResponseInfo) -> None:
    if 200 <= info.status < 300:
        reached.add(info.operation_id)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = start_puguh({"PUGUH_PLATFORM_OPERATORS": OPERATOR})
    yield s
    s.stop()


def client(server: Server, **options: Any) -> PuguhClient:
    return PuguhClient(base_url=server.base_url, on_response=on_response, http_client=http, **options)


def test_health_check_without_credentials(server: Server) -> None:
    data, response = client(server).with_response.health.check()
    assert data == {"status": "ok", "database": "ok", "redis": "disabled"}
    assert response.status == 200
    assert response.operation_id == "getHealth"
    assert re.match(r"^[0-9a-f]+$", response.request_id or "")


def test_register_and_login_make_the_client_the_session(server: Server) -> None:
    c = client(server)
    email = unique_email("owner")
    password = "owner password 123"
    reg = c.auth.register({"email": email, "password": password, "full_name": "Olive Owner"})
    assert reg["email"] == email
    assert UUID.match(reg["user_id"]) and UUID.match(reg["organization_id"])
    assert c.access_token is None, "register does not sign in"

    pair = c.auth.login({"email": email, "password": password})
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 3600
    assert c.access_token == pair["access_token"]
    assert c.refresh_token == pair["refresh_token"]
    state["owner"] = User(email, password, reg["user_id"], reg["organization_id"], pair["access_token"], pair["refresh_token"])
    state["owner_client"] = c
    # Enough budget for the rest of this module: the free plan allows 60 a minute.
    server.cli("orgs", "set-plan", reg["organization_id"], "business")

    health = c.health.check()
    assert health.get("principal") == {"type": "user", "id": reg["user_id"], "organization_id": reg["organization_id"]}


def test_login_of_a_totp_user_raises_mfa_required_and_complete_login_answers_once(server: Server) -> None:
    email, password = unique_email("mfa"), "mfa password 1234"
    client(server).auth.register({"email": email, "password": password, "full_name": "Mo Factor"})
    secret, codes = enrol_totp(server.base_url, email, password)

    def login(c: PuguhClient) -> MFARequiredError:
        with pytest.raises(MFARequiredError) as caught:
            c.auth.login({"email": email, "password": password})
        err = caught.value
        assert isinstance(err, AuthenticationError) and err.status == 401
        assert err.detail == "A second factor is required"
        assert len(err.challenge) == 43 and err.methods == ["totp", "recovery_code"] and err.expires_in == 300
        assert c.access_token is None, "no token before the second factor"
        return err

    c = client(server)
    challenge = login(c).challenge
    with pytest.raises(AuthenticationError) as wrong:
        c.auth.complete_login(challenge, "000000")
    assert wrong.value.detail == "Invalid authentication code"
    with pytest.raises(AuthenticationError) as unknown:
        c.auth.complete_login("not-a-challenge", totp(secret, time.time() + 30))
    assert unknown.value.detail == "The sign-in challenge is invalid or has expired; sign in again"
    pair = c.auth.complete_login(challenge, totp(secret, time.time() + 30))
    assert c.access_token == pair["access_token"]
    assert c.iam.users.me()["type"] == "user"
    # A recovery code works once.
    c2 = client(server)
    c2.auth.complete_login(login(c2).challenge, codes[0])
    c3 = client(server)
    with pytest.raises(AuthenticationError) as reused:
        c3.auth.complete_login(login(c3).challenge, codes[0])
    assert reused.value.detail == "Invalid authentication code"


def test_iam_users_me(server: Server) -> None:
    owner: User = state["owner"]
    me, response = state["owner_client"].with_response.iam.users.me()
    assert me["id"] == owner.user_id
    assert me["type"] == "user"
    assert me["email"] == owner.email
    assert me["full_name"] == "Olive Owner"
    assert me["role"] == "owner"
    assert "organization.members.create" in me["permissions"]
    assert response.rate_limit is not None, "rate-limit headers are exposed"
    assert response.rate_limit.limit == 1000
    assert 0 <= response.rate_limit.remaining <= 1000
    assert response.rate_limit.reset > 0


def test_organizations_create_get_list(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    acme = c.organizations.create({"name": "Acme"})
    assert (acme["name"], acme["plan"], acme["personal"], acme.get("role")) == ("Acme", "free", False, "owner")
    state["acme"] = acme
    assert c.organizations.get(acme["id"])["id"] == acme["id"]

    page = c.organizations.list()
    assert isinstance(page, Page)
    assert page.next_cursor is None
    assert not page.has_next_page()
    assert sorted(o["name"] for o in page.items) == ["Acme", "Olive Owner"]
    assert sorted(o["id"] for o in c.organizations.list()) == sorted(o["id"] for o in page.items)


def test_organizations_set_plan_as_a_platform_operator(server: Server) -> None:
    op = client(server)
    op.auth.register({"email": OPERATOR, "password": "operator password 1", "full_name": "Op"})
    op.auth.login({"email": OPERATOR, "password": "operator password 1"})
    acme = state["acme"]
    plan = op.organizations.set_plan(acme["id"], {"plan": "business"})
    assert plan == {"organization_id": acme["id"], "plan": "business", "rate_limit": 0, "requests_per_minute": 1000}
    enterprise = op.organizations.set_plan(acme["id"], {"plan": "enterprise", "rate_limit": 5000})
    assert enterprise["requests_per_minute"] == 5000


def test_members_add_list_paginated_update_remove(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    owner: User = state["owner"]
    acme_id = state["acme"]["id"]
    members = [new_user(server, prefix=f"member{i}", full_name=f"Member {i}") for i in range(3)]
    state["members"] = members
    for m in members:
        added = c.organizations.members.add(acme_id, {"email": m.email, "role": "member"})
        assert (added["user_id"], added["role"]) == (m.user_id, "member")

    first = c.organizations.members.list(acme_id, limit=2)
    assert len(first.items) == 2
    assert isinstance(first.next_cursor, str) and first.has_next_page()
    second = first.next_page()
    assert second is not None
    assert len(second.items) == 2
    assert second.next_cursor is None
    assert second.next_page() is None

    walked = [m["email"] for m in c.organizations.members.list(acme_id, limit=1)]
    assert sorted(walked) == sorted([owner.email, *(m.email for m in members)])
    assert [len(p.items) for p in first.pages()] == [2, 2]

    promoted = c.organizations.members.update(acme_id, members[0].user_id, {"role": "admin"})
    assert promoted["role"] == "admin"
    assert c.organizations.members.remove(acme_id, members[2].user_id) is None
    left = [m["user_id"] for m in c.organizations.members.list(acme_id)]
    assert len(left) == 3 and members[2].user_id not in left


def test_organizations_connections(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    acme_id = state["acme"]["id"]
    conns = c.organizations.connections
    created = conns.create(
        acme_id,
        {
            "name": "Acme IdP",
            "issuer": "https://idp.acme.example",
            "client_id": "puguh",
            "client_secret": "sdk-python-secret",
            "domains": ["sdk-python.acme.example"],
            "role_mapping": {"admins": "admin"},
        },
    )
    assert (created["protocol"], created["default_role"], created["role_mapping"]) == ("oidc", "member", {"admins": "admin"})
    assert created["redirect_uri"].endswith(f"/federation/{created['id']}/callback")
    assert "sdk-python-secret" not in str(created)
    assert [x["id"] for x in conns.list(acme_id).items] == [created["id"]]
    assert conns.get(acme_id, created["id"])["name"] == "Acme IdP"
    updated = conns.update(acme_id, created["id"], {"name": "Renamed"})
    assert (updated["name"], updated["domains"]) == ("Renamed", ["sdk-python.acme.example"])
    with pytest.raises(PuguhAPIError) as bad:
        conns.create(acme_id, {"name": "x"})  # type: ignore[typeddict-item]
    assert bad.value.status == 422
    assert conns.delete(acme_id, created["id"]) is None
    with pytest.raises(PuguhAPIError) as gone:
        conns.get(acme_id, created["id"])
    assert (gone.value.status, gone.value.detail) == (404, "Connection not found")


def test_iam_users_list_in_another_organization(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    owner: User = state["owner"]
    members: list[User] = state["members"]
    emails = [u["email"] for u in c.iam.users.list(limit=1, organization_id=state["acme"]["id"])]
    assert sorted(emails) == sorted([owner.email, members[0].email, members[1].email])
    # Without the option the client acts in the personal organization: only the owner.
    assert [u["email"] for u in c.iam.users.list().items] == [owner.email]


def test_iam_users_disable_and_enable(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    target: User = state["members"][1]
    acme_id = state["acme"]["id"]
    disabled = c.iam.users.disable(target.user_id, organization_id=acme_id)
    assert (disabled["id"], disabled["disabled"]) == (target.user_id, True)
    with pytest.raises(AuthenticationError) as refused:
        client(server).auth.login({"email": target.email, "password": target.password})
    assert refused.value.detail == "Invalid email or password"
    enabled = c.iam.users.enable(target.user_id, organization_id=acme_id)
    assert enabled["disabled"] is False
    client(server).auth.login({"email": target.email, "password": target.password})


def test_api_keys_create_list_use_revoke(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    owner: User = state["owner"]
    created = c.api_keys.create({"name": "CI key", "role": "viewer"})
    assert re.match(r"^pgh_[0-9A-Za-z]{49}$", created["key"])
    assert created["prefix"] == created["key"][:12]
    assert created["role"] == "viewer"
    assert created["service_account_id"] is None

    row = next(k for k in c.api_keys.list().items if k["id"] == created["id"])
    assert "key" not in row, "a listing never holds the secret"

    key_client = client(server, api_key=created["key"], organization_id=owner.organization_id)
    assert key_client.health.check().get("principal") == {"type": "api_key", "id": created["id"], "organization_id": owner.organization_id}
    assert key_client.iam.users.me()["type"] == "api_key"

    rotating = c.api_keys.create({"name": "quarterly", "role": "viewer"})
    rotated = c.api_keys.rotate(rotating["id"], {"overlap": "1h"})
    assert (rotated["replaces"], rotated["name"], rotated["role"]) == (rotating["id"], "quarterly", "viewer")
    assert rotated["key"] != rotating["key"]
    old = next(k for k in c.api_keys.list().items if k["id"] == rotating["id"])
    assert old["replaced_by"] == rotated["id"] and old["rotation_ends_at"] is not None and old["rotation_due"] is False

    assert c.api_keys.revoke(created["id"]) is None
    with pytest.raises(AuthenticationError) as refused:
        key_client.iam.users.me()
    assert refused.value.detail == "Invalid API key"


def test_service_accounts_and_client_credentials(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    sa = c.service_accounts.create({"name": "deployer", "role": "member"})
    assert sa["client_id"] == f"sa-{sa['id']}"
    assert sa["client_secret"].startswith("pghs_")
    assert any(s["id"] == sa["id"] and "client_secret" not in s for s in c.service_accounts.list())
    assert c.service_accounts.get(sa["id"])["name"] == "deployer"

    secret = c.service_accounts.rotate_secret(sa["id"])
    assert secret["client_id"] == sa["client_id"] and secret["client_secret"] != sa["client_secret"]
    assert c.service_accounts.get(sa["id"])["previous_secret_ends_at"] is not None

    key = c.service_accounts.create_api_key(sa["id"], {"name": "deployer key"})
    assert (key["service_account_id"], key["role"]) == (sa["id"], "member")

    with OAuthClient(
        issuer=server.issuer, client_id=sa["client_id"], client_secret=sa["client_secret"], token_endpoint_auth_method="client_secret_basic"
    ) as oauth:
        tokens = oauth.client_credentials()
    me = client(server, access_token=tokens["access_token"]).iam.users.me()
    assert (me["type"], me["id"]) == ("service_account", sa["id"])

    assert c.service_accounts.delete(sa["id"]) is None
    with pytest.raises(NotFoundError):
        c.service_accounts.get(sa["id"])


def test_applications_and_grants(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    redirect = "http://127.0.0.1:9/callback"
    app = c.applications.create({"name": "Dashboard", "redirect_uris": [redirect], "scopes": ["openid", "profile", "read:user"]})
    assert app["client_id"] == app["id"]
    assert app["token_endpoint_auth_method"] == "client_secret_post"
    assert app.get("client_secret", "").startswith("pghs_")

    assert any(a["id"] == app["id"] for a in c.applications.list())
    assert c.applications.get(app["id"])["name"] == "Dashboard"
    updated = c.applications.update(app["id"], {"name": "Dashboard 2"})
    assert (updated["name"], updated["redirect_uris"]) == ("Dashboard 2", [redirect])
    rotated = c.applications.rotate_secret(app["id"])
    assert rotated["client_id"] == app["id"]
    assert rotated["client_secret"] != app.get("client_secret")

    # A user grants the application through the code flow, which leaves a grant.
    user: User = state["members"][0]
    oauth = OAuthClient(issuer=server.issuer, client_id=app["id"], client_secret=rotated["client_secret"], redirect_uri=redirect)
    request = oauth.authorization_url(["openid", "read:user"])
    callback = Browser(server.base_url).authorize(request.url, user.email, user.password)
    oauth.handle_callback(callback, request)

    app_client = client(server, access_token=c.access_token, application_id=app["id"])
    grants = app_client.applications.grants.list()
    assert [(g["user_id"], g["email"], g["scopes"]) for g in grants.items] == [(user.user_id, user.email, ["openid", "read:user"])]
    with pytest.raises(ValueError, match="application_id is required"):
        c.applications.grants.list()
    assert c.applications.grants.revoke(user.user_id, application_id=app["id"]) is None
    assert app_client.applications.grants.list().items == []

    assert c.applications.delete(app["id"]) is None
    with pytest.raises(NotFoundError):
        c.applications.get(app["id"])


def test_connected_apps_and_account_deletion(server: Server) -> None:
    redirect = "http://127.0.0.1:9/callback"
    app_owner = new_user(server, prefix="appowner")
    app = client(server, access_token=app_owner.access_token).applications.create(
        {"name": "Planner", "redirect_uris": [redirect], "scopes": ["openid", "profile"]}
    )
    user = new_user(server, prefix="consenter")
    oauth = OAuthClient(issuer=server.issuer, client_id=app["id"], client_secret=app.get("client_secret", ""), redirect_uri=redirect)
    request = oauth.authorization_url(["openid", "profile"])
    oauth.handle_callback(Browser(server.base_url).authorize(request.url, user.email, user.password), request)

    c = client(server, access_token=user.access_token)
    consents = c.iam.users.consents.list()
    assert [(x["application_id"], x["application_name"], x["scopes"]) for x in consents.items] == [(app["id"], "Planner", ["openid", "profile"])]
    assert consents.items[0]["last_used_at"] is not None
    assert c.iam.users.consents.revoke(app["id"]) is None
    with pytest.raises(NotFoundError):
        c.iam.users.consents.revoke(app["id"])
    assert c.iam.users.consents.list().items == []

    with pytest.raises(PermissionDeniedError) as denied:
        c.iam.users.delete_me({"password": "not the password"})
    assert denied.value.detail == "The password is not correct"
    assert c.iam.users.delete_me({"password": user.password}) is None
    with pytest.raises(AuthenticationError):
        c.iam.users.me()

    op = client(server)
    op.auth.login({"email": OPERATOR, "password": "operator password 1"})
    assert op.iam.users.delete(app_owner.user_id) is None
    with pytest.raises(NotFoundError):
        op.iam.users.delete(app_owner.user_id)


def test_audit_list_filtered_and_paged(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    owner: User = state["owner"]
    types: list[AuditEventType] = ["application.created", "application.deleted"]
    first = c.audit.list(type=types, actor=owner.user_id, limit=1)
    assert [(e["type"], e["actor_id"], e["organization_id"]) for e in first.items] == [("application.deleted", owner.user_id, owner.organization_id)]
    assert first.has_next_page()
    since = datetime.fromisoformat(first.items[0]["occurred_at"].replace("Z", "+00:00")) - timedelta(hours=1)
    assert [e["type"] for e in c.audit.list(type=types, since=since, limit=1)] == ["application.deleted", "application.created"]
    assert c.audit.list(type=["member.removed"], until=since).items == []


def test_refresh_rotates_and_logout_ends_the_session(server: Server) -> None:
    c: PuguhClient = state["owner_client"]
    before = c.refresh_token
    pair = c.auth.refresh()
    assert pair["refresh_token"] != before
    assert (c.access_token, c.refresh_token) == (pair["access_token"], pair["refresh_token"])

    assert c.auth.logout() is None
    assert (c.access_token, c.refresh_token) == (None, None)
    with pytest.raises(AuthenticationError) as refused:
        client(server, access_token=pair["access_token"]).iam.users.me()
    assert refused.value.invalid_token


def test_email_links_confirm_and_reset(server: Server) -> None:
    c = client(server)
    email = unique_email("mail")
    c.auth.register({"email": email, "password": "mail password 123", "full_name": "Mia Mail"})
    accepted = c.auth.resend_verification({"email": email})
    assert accepted["detail"].startswith("If the address belongs to an account")
    link = mail_link(server, email, "/verify-email?token=", 1)
    token = link.split("token=", 1)[1]
    v = c.auth.verify_email({"token": token})
    assert (v["email"], v["email_verified"]) == (email, True)
    with pytest.raises(Exception) as e:
        c.auth.verify_email({"token": token})
    assert getattr(e.value, "status", None) == 400

    c.auth.request_password_reset({"email": email})
    link = mail_link(server, email, "/password-reset/confirm?token=")
    c.auth.confirm_password_reset({"token": link.split("token=", 1)[1], "password": "a new mail password"})
    c.auth.login({"email": email, "password": "a new mail password"})
    assert c.iam.users.me().get("email_verified") is True


def test_organization_mfa_policy_and_enrolment(server: Server) -> None:
    o = new_user(server, prefix="policy-owner")
    owner = client(server)
    owner.auth.login({"email": o.email, "password": o.password})
    org = owner.organizations.create({"name": "Policy Co"})
    m = new_user(server, prefix="policy-member")
    owner.organizations.members.add(org["id"], {"email": m.email, "role": "member"})

    before = owner.organizations.get_mfa_policy(org["id"])
    assert before["required"] is False and before["required_since"] is None
    with pytest.raises(ValidationError) as bad:
        owner.organizations.set_mfa_policy(org["id"], {"required": True, "grace_period": "soon"})
    assert bad.value.issues[0]["type"] == "value_error.duration"
    on = owner.organizations.set_mfa_policy(org["id"], {"required": True, "grace_period": "168h"})
    assert on["grace_period"] == "168h" and on["grace_period_seconds"] == 604800 and on["enforced_from"] is not None

    member = client(server)
    pair = member.auth.login({"email": m.email, "password": m.password})
    notice = pair.get("mfa_enrollment")
    assert notice is not None and notice["required"] and notice["organizations"][0]["id"] == org["id"]
    assert member.mfa.status() == {"enabled": False, "totp": False, "recovery_codes_left": 0, "passkeys": 0}
    en = member.mfa.begin_totp()
    assert en["qr_code"].startswith("data:image/png;base64,")
    with pytest.raises(ValidationError) as wrong:
        member.mfa.confirm_totp("000000")
    assert wrong.value.issues[0]["msg"] == "the code is not correct; check the time on your device"
    codes = member.mfa.confirm_totp(totp(en["secret"]))["recovery_codes"]
    assert len(codes) == 10
    assert member.mfa.status() == {"enabled": True, "totp": True, "recovery_codes_left": 10, "passkeys": 0}
    with pytest.raises(PermissionDeniedError) as denied:
        member.mfa.remove_totp({"password": m.password, "code": "000000"})
    assert denied.value.detail == "The authentication code is not correct"
    assert member.mfa.remove_totp({"password": m.password, "code": codes[0]}) is None

    owner.organizations.set_mfa_policy(org["id"], {"required": True, "grace_period": "0s"})
    late = client(server)
    with pytest.raises(MFAEnrollmentRequiredError) as required:
        late.auth.login({"email": m.email, "password": m.password})
    err = required.value
    assert isinstance(err, PermissionDeniedError) and err.status == 403
    assert len(err.challenge) == 43 and err.expires_in == 900 and err.organizations[0]["name"] == "Policy Co"
    assert late.access_token is None
    again = late.auth.begin_login_enrollment(err.challenge)
    done = late.auth.complete_login_enrollment(err.challenge, totp(again["secret"]))
    assert len(done["recovery_codes"]) == 10 and late.access_token == done["access_token"]
    assert late.mfa.status()["totp"] is True


def test_invitations_and_account_changes(server: Server) -> None:
    owner = client(server)
    owner_email = unique_email("inviter")
    owner.auth.register({"email": owner_email, "password": "inviter password 123", "full_name": "Ines Inviter"})
    owner.auth.login({"email": owner_email, "password": "inviter password 123"})
    org = owner.organizations.create({"name": "Invited Co"})
    inv = owner.organizations.invitations
    email = unique_email("invitee")
    created = inv.create(org["id"], {"email": email, "role": "member"})
    assert (created["email"], created["role"], created["status"]) == (email, "member", "pending")
    other = inv.create(org["id"], {"email": unique_email("other"), "role": "viewer"})
    assert [i["id"] for i in inv.list(org["id"], limit=1)] == [created["id"], other["id"]]
    assert inv.revoke(org["id"], other["id"]) is None  # 204: None
    with pytest.raises(NotFoundError) as gone:
        inv.revoke(org["id"], other["id"])
    assert gone.value.detail == "Invitation not found"
    with pytest.raises(PuguhAPIError) as pending:
        inv.create(org["id"], {"email": email, "role": "member"})
    assert pending.value.status == 409

    token = mail_link(server, email, "/invitations/accept?token=").split("token=", 1)[1]
    invitee = client(server)
    invitee.auth.register({"email": email, "password": "invitee password 123", "full_name": "Ivo Invitee"})
    invitee.auth.login({"email": email, "password": "invitee password 123"})
    with pytest.raises(PuguhAPIError) as bad:
        invitee.invitations.accept({"token": "nope"})
    assert (bad.value.status, bad.value.detail) == (400, "Invalid invitation link")
    joined = invitee.invitations.accept({"token": token})
    assert (joined["id"], joined.get("role")) == (org["id"], "member")

    new_email = unique_email("moved")
    assert invitee.iam.users.change_email({"password": "invitee password 123", "new_email": new_email})["new_email"] == new_email
    with pytest.raises(PuguhAPIError) as wrong:
        invitee.iam.users.change_password({"current_password": "wrong one", "new_password": "a fresh password 1"})
    assert (wrong.value.status, wrong.value.detail) == (403, "The current password is not correct")
    before = invitee.access_token
    pair = invitee.iam.users.change_password({"current_password": "invitee password 123", "new_password": "a fresh password 1"})
    assert invitee.access_token == pair["access_token"] != before
    me = invitee.iam.users.me()
    assert (me.get("email"), me.get("email_verified")) == (email, True)


def test_every_operation_answered_2xx_through_the_sdk() -> None:
    assert sorted(set(ROUTES) - reached) == []


def test_every_answer_matched_its_schema() -> None:
    assert checker.problems == []
    validated = {k.split(" ")[0] for k in checker.checked if re.search(r" 2\d\d$", k)}
    assert sorted(set(ROUTES) - validated) == []
