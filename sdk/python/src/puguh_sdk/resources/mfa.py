from __future__ import annotations

from typing import Unpack

from .._calls import Call, M, RequestOptions, Resource, operation
from ..types import CodeRequest, MFAStatus, RecoveryCodes, RemoveTOTPRequest, TOTPEnrollment


class MFA(Resource[M]):
    """/api/v1/users/me/mfa: the calling user's own second factors (signed-in users only)."""

    @operation
    def status(self, /, **options: Unpack[RequestOptions]) -> Call[MFAStatus]:
        """getMfaStatus: which second factors are on."""
        return Call("getMfaStatus", options)

    @operation
    def begin_totp(self, /, **options: Unpack[RequestOptions]) -> Call[TOTPEnrollment]:
        """beginTotpEnrollment: a new authenticator-app secret, its otpauth URI and QR code (PNG data URI)."""
        return Call("beginTotpEnrollment", options)

    @operation
    def confirm_totp(self, code: str, /, **options: Unpack[RequestOptions]) -> Call[RecoveryCodes]:
        """confirmTotpEnrollment: turn the app on with its first code; the ten recovery codes, shown once."""
        body: CodeRequest = {"code": code}
        return Call("confirmTotpEnrollment", options, body=body)

    @operation
    def remove_totp(self, body: RemoveTOTPRequest, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """removeTotp: turn the app off, with the password and a current code (or a recovery code)."""
        return Call("removeTotp", options, body=body)
