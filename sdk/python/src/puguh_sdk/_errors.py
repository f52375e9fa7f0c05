"""The errors the SDK raises. Every one is a PuguhError; HTTP answers are
PuguhAPIError subclasses chosen by status, carrying FastAPI's ``detail``."""

from __future__ import annotations

import re
from typing import Any, Literal, TypedDict

import httpx

from ._response import RateLimit, ResponseInfo


class ValidationIssue(TypedDict):
    """One entry of a 422 answer's ``detail`` list (FastAPI's shape)."""

    loc: list[str | int]
    """Where the bad value is: ["body", "email"], ["query", "limit"], ["header", "X-Organization-ID"], ["body", "redirect_uris", 1]."""
    msg: str
    type: str


class PuguhError(Exception):
    """The base of every error the SDK raises."""


class PuguhConnectionError(PuguhError):
    """The request never got an HTTP answer: DNS, refused connection, reset, TLS. ``__cause__`` is httpx's error."""


class PuguhTimeoutError(PuguhConnectionError):
    """The client's timeout elapsed before the answer arrived."""


class PuguhAPIError(PuguhError):
    """An HTTP answer with an error status."""

    status: int
    """The HTTP status."""
    detail: str
    """``detail`` of the body when it is a string ("Invalid or expired token"); for 422 see ValidationError.issues."""
    body: Any
    """The parsed JSON body, or the text when it was not JSON (None when empty)."""
    headers: httpx.Headers
    rate_limit: RateLimit | None
    request_id: str | None
    response: ResponseInfo

    def __init__(self, response: ResponseInfo, body: Any, detail: str) -> None:
        path = httpx.URL(response.url).path
        super().__init__(f"{response.status} {detail or 'HTTP error'} ({response.method} {path})")
        self.status = response.status
        self.detail = detail
        self.body = body
        self.headers = response.headers
        self.rate_limit = response.rate_limit
        self.request_id = response.request_id
        self.response = response


class BadRequestError(PuguhAPIError):
    """400: e.g. ``{"detail": "Invalid cursor"}``."""


class AuthenticationError(PuguhAPIError):
    """401: missing, invalid, expired or revoked credentials."""

    @property
    def www_authenticate(self) -> str | None:
        """The WWW-Authenticate header: ``Bearer realm="puguh", error="invalid_token"`` for a bad Bearer token."""
        value: str | None = self.headers.get("www-authenticate")
        return value

    @property
    def invalid_token(self) -> bool:
        """True when the server refused a Bearer token it was sent (RFC 6750 ``error="invalid_token"``):
        expired, revoked, or not a token at all. False for a missing credential, a bad API key, or a
        failed sign-in."""
        return is_invalid_token_challenge(self.www_authenticate)


_MISSING_PERMISSION = re.compile(r"^Missing permission: (\S+)$")


class MFARequiredError(AuthenticationError):
    """401 from ``auth.login`` for a user with a second factor: the body has ``mfa_required: true`` and a
    single-use ``challenge``. Answer with ``auth.complete_login(err.challenge, code)`` within ``expires_in``
    seconds."""

    challenge: str
    methods: list[str]
    expires_in: int

    def __init__(self, response: ResponseInfo, body: Any, detail: str) -> None:
        super().__init__(response, body, detail)
        self.challenge = str(body["challenge"])
        self.methods = [str(m) for m in body.get("methods") or []]
        self.expires_in = int(body.get("expires_in") or 0)


def _is_mfa_required(body: Any) -> bool:
    return isinstance(body, dict) and body.get("mfa_required") is True and isinstance(body.get("challenge"), str)


class PermissionDeniedError(PuguhAPIError):
    """403: valid credentials lacking a permission or rank."""

    @property
    def missing_permission(self) -> str | None:
        """The permission named by ``Missing permission: organization.members.create``, or None for other refusals."""
        m = _MISSING_PERMISSION.match(self.detail)
        return m.group(1) if m else None


class NotFoundError(PuguhAPIError):
    """404: no such object, or one of another organization."""


class ConflictError(PuguhAPIError):
    """409: the request conflicts with the current state (email registered, last owner, already a member)."""


class ValidationError(PuguhAPIError):
    """422: the request failed validation; ``issues`` is the body's ``detail`` list."""

    issues: list[ValidationIssue]

    def __init__(self, response: ResponseInfo, body: Any, issues: list[ValidationIssue], detail: str | None = None) -> None:
        if detail is None:
            detail = "; ".join(f"{'.'.join(str(p) for p in i['loc'])}: {i['msg']}" for i in issues)
        super().__init__(response, body, detail)
        self.issues = issues

    def issue_at(self, *loc: str | int) -> ValidationIssue | None:
        """The issue at a location, e.g. ``issue_at("body", "email")``."""
        for issue in self.issues:
            if list(issue["loc"]) == list(loc):
                return issue
        return None


class RateLimitError(PuguhAPIError):
    """429: a rate limit is spent. Wait ``retry_after`` seconds."""

    @property
    def retry_after(self) -> int | None:
        """Retry-After, in seconds (None if the server sent none)."""
        return self.response.retry_after

    @property
    def limit(self) -> int | None:
        return self.rate_limit.limit if self.rate_limit else None

    @property
    def remaining(self) -> int | None:
        return self.rate_limit.remaining if self.rate_limit else None

    @property
    def reset(self) -> int | None:
        """Unix second at which the budget is whole again."""
        return self.rate_limit.reset if self.rate_limit else None


class ServerError(PuguhAPIError):
    """5xx: the server failed or a dependency is down. A 503 may carry Retry-After."""

    @property
    def retry_after(self) -> int | None:
        return self.response.retry_after


class OAuthError(PuguhError):
    """An OAuth 2.0 endpoint's error answer (RFC 6749 §5.2): ``{"error": "invalid_grant", ...}``, or a
    callback that came back with ``error=access_denied``. ``status`` is 0 for a callback error."""

    status: int
    error: str
    """The RFC 6749 error code: invalid_grant, invalid_client, access_denied, …"""
    error_description: str | None
    response: ResponseInfo | None

    def __init__(self, status: int, error: str, error_description: str | None, response: ResponseInfo | None) -> None:
        super().__init__(f"{error}: {error_description}" if error_description else error)
        self.status = status
        self.error = error
        self.error_description = error_description
        self.response = response


TokenErrorCode = Literal["missing_token", "invalid_request", "invalid_token", "insufficient_scope"]


class TokenVerificationError(PuguhError):
    """A resource server's refusal of a request's token (RFC 6750 §3.1), from verification or
    ``bearer_token``. ``code`` and the status to answer with: ``missing_token`` 401 (no credentials:
    the challenge names no error), ``invalid_request`` 400 (a malformed Authorization header),
    ``invalid_token`` 401, ``insufficient_scope`` 403. ``www_authenticate()`` is the header value to send back."""

    code: TokenErrorCode
    status: Literal[400, 401, 403]
    scopes: list[str]
    """The scopes required, for insufficient_scope."""

    def __init__(self, code: TokenErrorCode, message: str, scopes: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = 400 if code == "invalid_request" else 403 if code == "insufficient_scope" else 401
        self.scopes = list(scopes or [])

    def www_authenticate(self, realm: str = "api") -> str:
        """The WWW-Authenticate value for the answer (RFC 6750 §3). Pass the realm you want named."""

        def q(s: str) -> str:
            return s.replace('"', "").replace("\\", "")

        value = f'Bearer realm="{q(realm)}"'
        if self.code == "missing_token":
            return value
        value += f', error="{self.code}"'
        if self.code == "insufficient_scope" and self.scopes:
            value += f', scope="{q(" ".join(self.scopes))}"'
        return value


_BEARER = re.compile(r"^\s*bearer\b", re.IGNORECASE)
_INVALID_TOKEN = re.compile(r"\berror\s*=\s*\"?invalid_token\"?", re.IGNORECASE)


def is_invalid_token_challenge(header: str | None) -> bool:
    if not header:
        return False
    return bool(_BEARER.search(header)) and bool(_INVALID_TOKEN.search(header))


def _issue_list(value: Any) -> list[ValidationIssue] | None:
    if not isinstance(value, list):
        return None
    issues: list[ValidationIssue] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("loc"), list) or not isinstance(item.get("msg"), str):
            return None
        issues.append({"loc": list(item["loc"]), "msg": item["msg"], "type": str(item.get("type", ""))})
    return issues


class MFAEnrollmentRequiredError(PermissionDeniedError):
    """403 from ``auth.login`` when an organization of the user requires a second factor, its grace period
    is over and the user has none: the body has ``mfa_enrollment_required: true`` and a ``challenge``. Show
    ``auth.begin_login_enrollment(err.challenge)``, then finish with
    ``auth.complete_login_enrollment(err.challenge, code)``."""

    challenge: str
    expires_in: int
    organizations: list[dict[str, Any]]

    def __init__(self, response: ResponseInfo, body: Any, detail: str) -> None:
        super().__init__(response, body, detail)
        self.challenge = str(body["challenge"])
        self.expires_in = int(body.get("expires_in") or 0)
        self.organizations = [dict(o) for o in body.get("organizations") or []]


def _is_mfa_enrollment_required(body: Any) -> bool:
    return isinstance(body, dict) and body.get("mfa_enrollment_required") is True and isinstance(body.get("challenge"), str)


_BY_STATUS: dict[int, type[PuguhAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_from_response(response: ResponseInfo, body: Any) -> PuguhAPIError:
    """The error for an HTTP answer with an error status."""
    raw = body.get("detail") if isinstance(body, dict) else None
    if response.status == 422:
        issues = _issue_list(raw)
        if issues is not None:
            return ValidationError(response, body, issues)
    if isinstance(raw, str):
        detail = raw
    elif isinstance(body, str):
        detail = body.strip()[:200]
    else:
        detail = ""
    if response.status == 422:
        return ValidationError(response, body, [], detail)
    cls = _BY_STATUS.get(response.status)
    if response.status == 401 and _is_mfa_required(body):
        cls = MFARequiredError
    if response.status == 403 and _is_mfa_enrollment_required(body):
        cls = MFAEnrollmentRequiredError
    if cls is None:
        cls = ServerError if response.status >= 500 else PuguhAPIError
    return cls(response, body, detail)
