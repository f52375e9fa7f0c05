"""PuguhClient and AsyncPuguhClient: the REST API, with the same resources,
options and semantics, on httpx."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Self

import httpx

from ._calls import Async, AsyncWithResponse, Call, ListCall, M, Runner, Sync, SyncWithResponse
from ._env import read_env
from ._pagination import AsyncPage, AsyncPaginator, Page
from ._response import ResponseInfo
from ._tokens import AsyncTokenExpiredCallback, AsyncTokens, SyncTokens, TokenExpiredCallback, TokensCallback
from ._transport import AsyncTransport, SyncTransport, TransportConfig
from .resources import IAM, MFA, APIKeys, Applications, Audit, Auth, Health, Invitations, Organizations, ServiceAccounts


class Resources(Generic[M]):
    """The resource tree of a client (``M``: what its methods return)."""

    health: Health[M]
    auth: Auth[M]
    organizations: Organizations[M]
    iam: IAM[M]
    api_keys: APIKeys[M]
    service_accounts: ServiceAccounts[M]
    applications: Applications[M]
    audit: Audit[M]
    mfa: MFA[M]
    invitations: Invitations[M]

    def _mount(self, runner: Runner) -> None:
        self.health = Health(runner)
        self.auth = Auth(runner)
        self.organizations = Organizations(runner)
        self.iam = IAM(runner)
        self.api_keys = APIKeys(runner)
        self.service_accounts = ServiceAccounts(runner)
        self.applications = Applications(runner)
        self.audit = Audit(runner)
        self.mfa = MFA(runner)
        self.invitations = Invitations(runner)


class _WithResponse(Resources[M]):
    def __init__(self, runner: Runner) -> None:
        self._mount(runner)


def _config(
    who: str,
    base_url: str | None,
    api_key: str | None,
    organization_id: str | None,
    application_id: str | None,
    access_token: str | None,
    timeout: float | None,
    max_retries: int,
    max_retry_delay: float,
    headers: Mapping[str, str] | None,
    on_response: Callable[[ResponseInfo], Any] | None,
) -> TransportConfig:
    base = base_url or read_env("PUGUH_BASE_URL")
    if not base:
        raise ValueError(f"{who}: no base_url: pass base_url= or set PUGUH_BASE_URL (e.g. http://localhost:8080)")
    try:
        parsed = httpx.URL(base)
    except Exception as exc:
        raise ValueError(f"{who}: base_url {base!r} is not an absolute URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"{who}: base_url must be an absolute http(s) URL, not {base!r}")
    if api_key and access_token:
        raise ValueError(f"{who}: pass api_key or access_token, not both (the server refuses both on one request)")
    if api_key and not organization_id:
        raise ValueError(f"{who}: an api_key needs its organization_id (X-Organization-ID)")
    if max_retries < 0:
        raise ValueError(f"{who}: max_retries must be 0 or more")
    return TransportConfig(
        base_url=base.rstrip("/"),
        timeout=timeout,
        max_retries=max_retries,
        max_retry_delay=max_retry_delay,
        headers=dict(headers or {}),
        api_key=api_key or None,
        organization_id=organization_id or None,
        application_id=application_id or None,
        on_response=on_response,
    )


class _SyncRunner:
    def __init__(self, transport: SyncTransport, with_response: bool) -> None:
        self._t = transport
        self._with_response = with_response

    @property
    def tokens(self) -> SyncTokens:
        return self._t.tokens

    def run(self, build: Callable[[], Call[Any]]) -> Any:
        data, info = self._t.run(build())
        return (data, info) if self._with_response else data

    def run_list(self, build: Callable[[], ListCall[Any]]) -> Page[Any] | tuple[Page[Any], ResponseInfo]:
        page = self._t.first_page(build())
        return (page, page.response) if self._with_response else page


class _AsyncRunner:
    def __init__(self, transport: AsyncTransport, with_response: bool) -> None:
        self._t = transport
        self._with_response = with_response

    @property
    def tokens(self) -> AsyncTokens:
        return self._t.tokens

    def run(self, build: Callable[[], Call[Any]]) -> Any:
        async def go() -> Any:
            data, info = await self._t.run(build())
            return (data, info) if self._with_response else data

        return go()

    def run_list(self, build: Callable[[], ListCall[Any]]) -> Any:
        async def first() -> AsyncPage[Any]:
            return await self._t.first_page(build())

        if not self._with_response:
            return AsyncPaginator(first)

        async def go() -> tuple[AsyncPage[Any], ResponseInfo]:
            page = await first()
            return page, page.response

        return go()


class PuguhClient(Resources[Sync]):
    """The Puguh REST API (blocking; safe to share between threads).

    The API guide's two forms work as written::

        PuguhClient(api_key=os.environ["PUGUH_API_KEY"], organization_id=os.environ["PUGUH_ORGANIZATION_ID"])
        PuguhClient(access_token=user_token, on_token_expired=refresh_token_callback)

    Where Puguh is comes from ``base_url`` or the PUGUH_BASE_URL environment variable.
    """

    base_url: str
    with_response: Resources[SyncWithResponse]
    """The same resources, returning ``(result, ResponseInfo)``: ``client.with_response.iam.users.me()``."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        organization_id: str | None = None,
        application_id: str | None = None,
        access_token: str | None = None,
        on_token_expired: TokenExpiredCallback | None = None,
        refresh_token: str | None = None,
        on_tokens: TokensCallback | None = None,
        http_client: httpx.Client | None = None,
        timeout: float | None = 30.0,
        max_retries: int = 0,
        max_retry_delay: float = 60.0,
        headers: Mapping[str, str] | None = None,
        on_response: Callable[[ResponseInfo], Any] | None = None,
    ) -> None:
        """
        base_url: Puguh's root URL, without /api/v1 (default: PUGUH_BASE_URL; one of the two is required).
        api_key: sent as X-API-Key; requires organization_id.
        organization_id: X-Organization-ID on every authenticated request.
        application_id: X-Application-ID of application-scoped operations (grants).
        access_token: a Bearer access token (a login, a refresh, an OAuth grant).
        on_token_expired: called when the server refuses the access token as invalid or expired; returns
            a new access token (the request is sent once more with it) or None to give up. Called once
            for all the calls that failed together.
        refresh_token: lets the client refresh an expired access token by itself (POST /api/v1/auth/refresh),
            keeping the rotated refresh token.
        on_tokens: called with every token pair the client stores (persist it).
        http_client: the httpx.Client to send with (the caller closes it).
        timeout: seconds each HTTP attempt may take (httpx's connect, read, write and pool timeouts); None or 0: none.
        max_retries: retries of a 429 or 503 after its Retry-After (default 0: retrying is opt-in).
        max_retry_delay: the longest wait before a retry, in seconds; a longer Retry-After is raised at once.
        headers: extra headers on every request.
        on_response: called with the ResponseInfo of every HTTP response, errors and retried attempts included.
        """
        config = _config(
            "PuguhClient", base_url, api_key, organization_id, application_id, access_token,
            timeout, max_retries, max_retry_delay, headers, on_response,
        )  # fmt: skip
        self.base_url = config.base_url
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        tokens = SyncTokens(access_token, refresh_token, on_token_expired, on_tokens)
        transport = SyncTransport(config, tokens, self._http)
        self._transport = transport
        self._mount(_SyncRunner(transport, with_response=False))
        self.with_response = _WithResponse(_SyncRunner(transport, with_response=True))
        tokens.use_session_refresh(lambda token: self.auth.refresh(token))

    @property
    def access_token(self) -> str | None:
        """The access token the client sends now (after a login or a refresh, the new one)."""
        return self._transport.tokens.access_token

    @property
    def refresh_token(self) -> str | None:
        """The refresh token the client holds (rotated on every refresh)."""
        return self._transport.tokens.refresh_token

    def close(self) -> None:
        """Close the connections (not those of an http_client you passed)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PuguhClient(base_url={self.base_url!r})"


class AsyncPuguhClient(Resources[Async]):
    """The Puguh REST API for asyncio: the same resources and options as PuguhClient, every method a
    coroutine (``list`` methods: ``await`` for the first page, ``async for`` for every item).
    ``on_token_expired`` and ``on_tokens`` may be coroutine functions. Cancelling a task cancels its
    call (and its wait before a retry), never a token renewal other calls wait on."""

    base_url: str
    with_response: Resources[AsyncWithResponse]

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        organization_id: str | None = None,
        application_id: str | None = None,
        access_token: str | None = None,
        on_token_expired: AsyncTokenExpiredCallback | None = None,
        refresh_token: str | None = None,
        on_tokens: TokensCallback | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | None = 30.0,
        max_retries: int = 0,
        max_retry_delay: float = 60.0,
        headers: Mapping[str, str] | None = None,
        on_response: Callable[[ResponseInfo], Any] | None = None,
    ) -> None:
        config = _config(
            "AsyncPuguhClient", base_url, api_key, organization_id, application_id, access_token,
            timeout, max_retries, max_retry_delay, headers, on_response,
        )  # fmt: skip
        self.base_url = config.base_url
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        tokens = AsyncTokens(access_token, refresh_token, on_token_expired, on_tokens)
        transport = AsyncTransport(config, tokens, self._http)
        self._transport = transport
        self._mount(_AsyncRunner(transport, with_response=False))
        self.with_response = _WithResponse(_AsyncRunner(transport, with_response=True))
        tokens.use_session_refresh(lambda token: self.auth.refresh(token))

    @property
    def access_token(self) -> str | None:
        return self._transport.tokens.access_token

    @property
    def refresh_token(self) -> str | None:
        return self._transport.tokens.refresh_token

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncPuguhClient(base_url={self.base_url!r})"
