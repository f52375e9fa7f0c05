from __future__ import annotations

from typing import Unpack

from .._calls import Call, M, RequestOptions, Resource, operation
from ..types import (
    Accepted,
    EmailRequest,
    EmailVerification,
    EnrolledTokenPair,
    EnrollmentChallengeRequest,
    LoginRequest,
    MFARequest,
    PasswordResetRequest,
    RegisterRequest,
    Registration,
    TokenPair,
    TOTPEnrollment,
    VerifyEmailRequest,
)


class Auth(Resource[M]):
    """The REST sign-in flow, with the client as the session: login stores the token pair, every
    later call sends its access token, an expired one is refreshed with the stored refresh token
    (and the rotated refresh token stored), logout ends it."""

    @operation
    def register(self, body: RegisterRequest, /, **options: Unpack[RequestOptions]) -> Call[Registration]:
        """register: a user and their personal organization. Does not sign in."""
        return Call("register", options, body=body)

    @operation
    def login(self, body: LoginRequest, /, **options: Unpack[RequestOptions]) -> Call[TokenPair]:
        """login: the client keeps the pair and acts as the user from now on."""
        return Call("login", options, body=body, effect="store_tokens")

    @operation
    def complete_login(self, challenge: str, code: str, /, **options: Unpack[RequestOptions]) -> Call[TokenPair]:
        """completeLogin: answers a login's ``MFARequiredError`` with a TOTP code or a recovery code; like
        login, the client keeps the pair. A wrong or used code is an ``AuthenticationError`` ("Invalid
        authentication code"); an expired or used challenge one that says to sign in again."""
        body: MFARequest = {"challenge": challenge, "code": code}
        return Call("completeLogin", options, body=body, effect="store_tokens")

    @operation
    def begin_login_enrollment(self, challenge: str, /, **options: Unpack[RequestOptions]) -> Call[TOTPEnrollment]:
        """beginLoginEnrollment: the authenticator-app enrolment of a login's ``MFAEnrollmentRequiredError``
        (an organization requires a second factor and its grace period is over)."""
        body: EnrollmentChallengeRequest = {"challenge": challenge}
        return Call("beginLoginEnrollment", options, body=body)

    @operation
    def complete_login_enrollment(self, challenge: str, code: str, /, **options: Unpack[RequestOptions]) -> Call[EnrolledTokenPair]:
        """completeLoginEnrollment: turns the app on with its first code and finishes the login; like login,
        the client keeps the pair. The answer carries the recovery codes, this once."""
        body: MFARequest = {"challenge": challenge, "code": code}
        return Call("completeLoginEnrollment", options, body=body, effect="store_tokens")

    @operation
    def refresh(self, refresh_token: str | None = None, /, **options: Unpack[RequestOptions]) -> Call[TokenPair]:
        """refresh, with the session's refresh token (or the one given). The new pair replaces the
        stored one: the old refresh token is used up."""
        token = refresh_token if refresh_token is not None else self._runner.tokens.refresh_token
        if not token:
            raise ValueError("auth.refresh: no refresh token: log in first, or pass one")
        return Call("refresh", options, body={"refresh_token": token}, effect="store_tokens")

    @operation
    def logout(self, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """logout: the access token and its whole refresh family stop working. The client forgets its
        tokens once the server has answered (also when it answers 401: the token was dead already)."""
        return Call("logout", options, effect="logout")

    @operation
    def verify_email(self, body: VerifyEmailRequest, /, **options: Unpack[RequestOptions]) -> Call[EmailVerification]:
        """verifyEmail: confirm an address with the token of the link mailed to it (works once)."""
        return Call("verifyEmail", options, body=body)

    @operation
    def resend_verification(self, body: EmailRequest, /, **options: Unpack[RequestOptions]) -> Call[Accepted]:
        """resendVerification: a new confirmation link; the same answer for every address."""
        return Call("resendVerification", options, body=body)

    @operation
    def request_password_reset(self, body: EmailRequest, /, **options: Unpack[RequestOptions]) -> Call[Accepted]:
        """requestPasswordReset: mail a reset link; the same answer for every address."""
        return Call("requestPasswordReset", options, body=body)

    @operation
    def confirm_password_reset(self, body: PasswordResetRequest, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """confirmPasswordReset: set a new password with a reset link's token. Every session and
        refresh family of the user ends."""
        return Call("confirmPasswordReset", options, body=body)
