"""The transport under every resource: builds the request, sends it with a
timeout, turns error answers into typed errors, renews an expired access
token once, and (when asked) retries 429 and 503 after Retry-After. The
request building and the decisions are shared; SyncTransport and
AsyncTransport differ only in how they wait."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from ._calls import Call, ListCall
from ._errors import AuthenticationError, PuguhAPIError, PuguhConnectionError, PuguhTimeoutError, error_from_response
from ._pagination import AsyncPage, Page
from ._response import ResponseInfo, response_info
from ._routes import ROUTES
from ._tokens import AsyncTokens, SyncTokens
from ._version import VERSION

USER_AGENT = f"puguh-sdk-python/{VERSION}"


@dataclass(frozen=True)
class TransportConfig:
    base_url: str
    timeout: float | None
    max_retries: int
    max_retry_delay: float
    headers: Mapping[str, str]
    api_key: str | None
    organization_id: str | None
    application_id: str | None
    on_response: Callable[[ResponseInfo], Any] | None


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    timeout: httpx.Timeout


def http_timeout(seconds: float | None) -> httpx.Timeout:
    """httpx's connect, read, write and pool timeouts, each ``seconds``; None or 0: none."""
    return httpx.Timeout(seconds if seconds else None)


def read_body(response: httpx.Response) -> Any:
    """The parsed JSON body, the text when it is not JSON, None when empty."""
    text = response.text
    if text == "":
        return None
    if "json" in response.headers.get("content-type", "").lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def retry_wait(info: ResponseInfo, retries: int) -> float:
    """Retry-After, else 0.5 s, 1 s, 2 s … capped at 8 s."""
    if info.retry_after is not None:
        return float(info.retry_after)
    return float(min(0.5 * 2**retries, 8.0))


def connection_error(exc: httpx.RequestError, prepared: Prepared, seconds: float | None) -> PuguhConnectionError:
    where = f"{prepared.method} {httpx.URL(prepared.url).path}"
    if isinstance(exc, httpx.TimeoutException):
        return PuguhTimeoutError(f"timed out after {seconds} s: {where}")
    return PuguhConnectionError(f"could not reach Puguh: {where}")


class _TransportBase:
    def __init__(self, config: TransportConfig) -> None:
        self.config = config

    def url(self, call: Call[Any]) -> str:
        route = ROUTES[call.operation_id]
        path = route.path
        for name in _path_names(path):
            value = call.path.get(name)
            if not value:
                raise ValueError(f"{call.operation_id}: missing path parameter {name}")
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        url = httpx.URL(self.config.base_url + path)
        query = {k: v if isinstance(v, (list, tuple)) else str(v) for k, v in call.query.items() if v is not None}
        if query:
            url = url.copy_merge_params(query)
        return str(url)

    def prepare(self, call: Call[Any], url: str, bearer: str | None) -> Prepared:
        route = ROUTES[call.operation_id]
        o = call.options
        h: dict[str, str] = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.config.headers}
        content: bytes | None = None
        if call.body is not None:
            h["Content-Type"] = "application/json"
            content = json.dumps(call.body).encode("utf-8")
        if route.auth == "credential":
            # One credential per request: the server refuses X-API-Key and Authorization together.
            if bearer is not None:
                h["Authorization"] = f"Bearer {bearer}"
            elif self.config.api_key is not None:
                h["X-API-Key"] = self.config.api_key
            org = o.get("organization_id") or self.config.organization_id
            if org:
                h["X-Organization-ID"] = org
        if call.application:
            app = o.get("application_id") or self.config.application_id
            if not app:
                raise ValueError(f"{call.operation_id}: application_id is required (pass it to the call or to the client)")
            h["X-Application-ID"] = app
        h.update(o.get("headers") or {})
        return Prepared(route.method, url, h, content, http_timeout(self.seconds(call)))

    def seconds(self, call: Call[Any]) -> float | None:
        o = call.options
        return o["timeout"] if "timeout" in o else self.config.timeout

    def observe(self, call: Call[Any], prepared: Prepared, response: httpx.Response) -> tuple[ResponseInfo, Any]:
        info = response_info(call.operation_id, prepared.method, prepared.url, response)
        body = read_body(response)
        if self.config.on_response is not None:
            self.config.on_response(info)
        return info, body

    def max_retries(self, call: Call[Any]) -> int:
        return call.options.get("max_retries", self.config.max_retries)


def _path_names(path: str) -> list[str]:
    names = []
    rest = path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


def _renewable(err: PuguhAPIError, bearer: str | None, renewed: bool, can_renew: bool) -> bool:
    return isinstance(err, AuthenticationError) and bearer is not None and not renewed and err.invalid_token and can_renew


class SyncTransport(_TransportBase):
    def __init__(self, config: TransportConfig, tokens: SyncTokens, http: httpx.Client) -> None:
        super().__init__(config)
        self.tokens = tokens
        self.http = http

    def send(self, call: Call[Any], prepared: Prepared) -> tuple[ResponseInfo, Any]:
        try:
            response = self.http.request(
                prepared.method, prepared.url, headers=prepared.headers, content=prepared.content, timeout=prepared.timeout
            )
        except httpx.RequestError as exc:
            raise connection_error(exc, prepared, self.seconds(call)) from exc
        return self.observe(call, prepared, response)

    def execute(self, call: Call[Any]) -> tuple[Any, ResponseInfo]:
        route = ROUTES[call.operation_id]
        url = self.url(call)
        retries = 0
        renewed = False
        if route.auth == "credential":
            self.tokens.wait_pending()
            if self.tokens.needs_first_token():
                self.tokens.token_after(None)
        while True:
            bearer = self.tokens.access_token if route.auth == "credential" else None
            prepared = self.prepare(call, url, bearer)
            info, body = self.send(call, prepared)
            if 200 <= info.status < 300:
                return body, info
            err = error_from_response(info, body)
            if _renewable(err, bearer, renewed, self.tokens.can_renew()):
                renewed = True
                if self.tokens.token_after(bearer) is not None:
                    continue
                raise err
            if info.status in (429, 503) and retries < self.max_retries(call):
                wait = retry_wait(info, retries)
                if wait > self.config.max_retry_delay:
                    raise err
                retries += 1
                time.sleep(wait)
                continue
            raise err

    def run(self, call: Call[Any]) -> tuple[Any, ResponseInfo]:
        """execute, plus what the call does to the client's tokens."""
        try:
            data, info = self.execute(call)
        except AuthenticationError:
            if call.effect == "logout":
                self.tokens.clear()  # the token was dead already
            raise
        if call.effect == "store_tokens":
            self.tokens.store(data)
        elif call.effect == "logout":
            self.tokens.clear()
        return data, info

    def first_page(self, call: ListCall[Any]) -> Page[Any]:
        data, info = self.run(call)
        return Page(data["items"], data.get("next_cursor") or None, info, lambda cursor: self.first_page(call.with_cursor(cursor)))


class AsyncTransport(_TransportBase):
    def __init__(self, config: TransportConfig, tokens: AsyncTokens, http: httpx.AsyncClient) -> None:
        super().__init__(config)
        self.tokens = tokens
        self.http = http

    async def send(self, call: Call[Any], prepared: Prepared) -> tuple[ResponseInfo, Any]:
        try:
            response = await self.http.request(
                prepared.method, prepared.url, headers=prepared.headers, content=prepared.content, timeout=prepared.timeout
            )
        except httpx.RequestError as exc:
            raise connection_error(exc, prepared, self.seconds(call)) from exc
        return self.observe(call, prepared, response)

    async def execute(self, call: Call[Any]) -> tuple[Any, ResponseInfo]:
        route = ROUTES[call.operation_id]
        url = self.url(call)
        retries = 0
        renewed = False
        if route.auth == "credential":
            await self.tokens.wait_pending()
            if self.tokens.needs_first_token():
                await self.tokens.token_after(None)
        while True:
            bearer = self.tokens.access_token if route.auth == "credential" else None
            prepared = self.prepare(call, url, bearer)
            info, body = await self.send(call, prepared)
            if 200 <= info.status < 300:
                return body, info
            err = error_from_response(info, body)
            if _renewable(err, bearer, renewed, self.tokens.can_renew()):
                renewed = True
                if await self.tokens.token_after(bearer) is not None:
                    continue
                raise err
            if info.status in (429, 503) and retries < self.max_retries(call):
                wait = retry_wait(info, retries)
                if wait > self.config.max_retry_delay:
                    raise err
                retries += 1
                await asyncio.sleep(wait)  # a cancellation of the task ends the wait
                continue
            raise err

    async def run(self, call: Call[Any]) -> tuple[Any, ResponseInfo]:
        try:
            data, info = await self.execute(call)
        except AuthenticationError:
            if call.effect == "logout":
                self.tokens.clear()
            raise
        if call.effect == "store_tokens":
            await self.tokens.store(data)
        elif call.effect == "logout":
            self.tokens.clear()
        return data, info

    async def first_page(self, call: ListCall[Any]) -> AsyncPage[Any]:
        data, info = await self.run(call)
        return AsyncPage(data["items"], data.get("next_cursor") or None, info, lambda cursor: self.first_page(call.with_cursor(cursor)))
