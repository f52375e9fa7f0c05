"""What the SDK reads off every HTTP response besides its body."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit headers of a response (docs/rate-limits.md). Every /api/v1 answer carries
    them, errors included: an authenticated request shows its organization's budget, an
    unauthenticated one (a 401 too) the per-IP budget it spent."""

    limit: int
    """X-RateLimit-Limit: requests a quiet client may send at once in this budget."""
    remaining: int
    """X-RateLimit-Remaining: requests that would pass right now."""
    reset: int
    """X-RateLimit-Reset: unix second at which the budget is whole again."""


@dataclass(frozen=True)
class ResponseInfo:
    """One HTTP response of a call: status, headers, rate limit and request id."""

    operation_id: str
    """The operationId of provider/rest/openapi.yaml this call ran (or "oauth.token" and the like)."""
    method: str
    url: str
    """The URL without its query string."""
    status: int
    headers: httpx.Headers
    rate_limit: RateLimit | None
    """None when the response carried no rate-limit headers."""
    retry_after: int | None
    """Retry-After in seconds, when the response carried one."""
    request_id: str | None
    """X-Request-Id, to quote when asking the operator about a request."""


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None or not _DIGITS.match(value.strip()):
        return None
    return int(value.strip())


def parse_rate_limit(headers: httpx.Headers) -> RateLimit | None:
    limit = _int_header(headers, "x-ratelimit-limit")
    remaining = _int_header(headers, "x-ratelimit-remaining")
    reset = _int_header(headers, "x-ratelimit-reset")
    if limit is None or remaining is None or reset is None:
        return None
    return RateLimit(limit=limit, remaining=remaining, reset=reset)


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> int | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None otherwise."""
    value = headers.get("retry-after")
    if value is None:
        return None
    s = value.strip()
    if _DIGITS.match(s):
        return int(s)
    try:
        at = parsedate_to_datetime(s)
    except (TypeError, ValueError):
        return None
    if at is None or at.tzinfo is None:
        return None
    now = time.time() if now is None else now
    seconds: int = math.ceil(at.timestamp() - now)
    return max(0, seconds)


def response_info(operation_id: str, method: str, url: str, response: httpx.Response) -> ResponseInfo:
    return ResponseInfo(
        operation_id=operation_id,
        method=method,
        url=str(httpx.URL(url).copy_with(query=None)),
        status=response.status_code,
        headers=response.headers,
        rate_limit=parse_rate_limit(response.headers),
        retry_after=parse_retry_after(response.headers),
        request_id=response.headers.get("x-request-id"),
    )
