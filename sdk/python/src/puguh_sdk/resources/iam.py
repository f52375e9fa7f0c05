from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, Runner, list_operation, operation
from ..types import ChangeEmailRequest, ChangePasswordRequest, Consent, DeleteMeRequest, EmailChange, Me, Member, TokenPair, UserState


class Consents(Resource[M]):
    """/api/v1/users/me/consents: the signed-in user's connected applications."""

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[Consent]:
        """listMyConsents: the applications the user consented to, with scopes and last use."""
        return ListCall("listMyConsents", options)

    @operation
    def revoke(self, application_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """revokeMyConsent: the application's tokens stop working; its next authorization asks again."""
        return Call("revokeMyConsent", options, path={"application_id": application_id})


class Users(Resource[M]):
    """/api/v1/iam/users: the users of the current organization."""

    consents: Consents[M]

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.consents = Consents(runner)

    @list_operation
    def list(self, /, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[RequestOptions]) -> ListCall[Member]:
        """listUsers: a page of the current organization's members (iam.users.read)."""
        return ListCall("listUsers", options, query={"limit": limit, "cursor": cursor})

    @operation
    def me(self, /, **options: Unpack[RequestOptions]) -> Call[Me]:
        """getMe: the caller: a user's profile, or the API key or service account."""
        return Call("getMe", options)

    @operation
    def change_password(self, body: ChangePasswordRequest, /, **options: Unpack[RequestOptions]) -> Call[TokenPair]:
        """changePassword: every token of the user ends, this client's too; the client keeps the fresh pair."""
        return Call("changePassword", options, body=body, effect="store_tokens")

    @operation
    def change_email(self, body: ChangeEmailRequest, /, **options: Unpack[RequestOptions]) -> Call[EmailChange]:
        """changeEmail: mail a link to the new address; the address changes when it is opened."""
        return Call("changeEmail", options, body=body)

    @operation
    def disable(self, user_id: str, /, **options: Unpack[RequestOptions]) -> Call[UserState]:
        """disableUser: ends the user's sessions and tokens (platform operators; owners for users they manage)."""
        return Call("disableUser", options, path={"id": user_id})

    @operation
    def enable(self, user_id: str, /, **options: Unpack[RequestOptions]) -> Call[UserState]:
        """enableUser: restores sign-in (ended sessions stay ended)."""
        return Call("enableUser", options, path={"id": user_id})

    @operation
    def delete(self, user_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """deleteUser: erases a user's account and personal data (platform operators; 409 for the last owner of a shared organization)."""
        return Call("deleteUser", options, path={"id": user_id})

    @operation
    def delete_me(self, body: DeleteMeRequest, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """deleteMe: deletes the signed-in user's own account, confirmed with the password (and a code with an authenticator app)."""
        return Call("deleteMe", options, body=body)


class IAM(Resource[M]):
    """/api/v1/iam."""

    users: Users[M]

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.users = Users(runner)
