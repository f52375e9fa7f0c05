"""The client's Bearer token and how it is renewed.

The rule (sdk/SURFACE.md, "Token expiry"): a 401 whose WWW-Authenticate says
``error="invalid_token"``, answering a request that carried this client's
access token, renews the token once (``on_token_expired``, else the session's
refresh token) and the request is sent once more with the new token. Calls
that fail together share one renewal; a call whose token another call already
replaced retries with the current one; a call is never retried twice.

PuguhClient may be shared by threads: its renewal is guarded by a lock, and
the threads that find a renewal under way wait on it. AsyncPuguhClient's
renewal is one task that every waiting coroutine awaits through
``asyncio.shield``, so a caller's cancellation stops its wait, not the renewal.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .types import TokenPair

TokenExpiredCallback = Callable[[], "str | None"]
"""PuguhClient's on_token_expired: returns a new access token, or None to give up."""
AsyncTokenExpiredCallback = Callable[[], "Awaitable[str | None] | str | None"]
"""AsyncPuguhClient's on_token_expired: a coroutine function or a plain function."""
TokensCallback = Callable[[TokenPair], Any]
"""on_tokens: called with every pair the client stores (AsyncPuguhClient awaits it when it is a coroutine)."""


class TokenState(Protocol):
    @property
    def access_token(self) -> str | None: ...

    @property
    def refresh_token(self) -> str | None: ...


class _Base:
    def __init__(self, access_token: str | None, refresh_token: str | None) -> None:
        self.access_token: str | None = access_token or None
        self.refresh_token: str | None = refresh_token or None

    def clear(self) -> None:
        self.access_token = None
        self.refresh_token = None

    def _keep(self, pair: TokenPair) -> None:
        self.access_token = pair["access_token"]
        if pair.get("refresh_token"):
            self.refresh_token = pair["refresh_token"]


class _Renewal:
    """One renewal under way (threads): its outcome, for the threads that wait on it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._token: str | None = None
        self._error: BaseException | None = None

    def settle(self, token: str | None, error: BaseException | None) -> None:
        self._token, self._error = token, error
        self._done.set()

    def wait(self) -> str | None:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._token

    def wait_quietly(self) -> None:
        self._done.wait()


class SyncTokens(_Base):
    def __init__(
        self,
        access_token: str | None,
        refresh_token: str | None,
        on_token_expired: TokenExpiredCallback | None,
        on_tokens: TokensCallback | None,
    ) -> None:
        super().__init__(access_token, refresh_token)
        self._on_token_expired = on_token_expired
        self._on_tokens = on_tokens
        self._lock = threading.Lock()
        self._pending: _Renewal | None = None
        self._session_refresh: Callable[[str], TokenPair] | None = None

    def use_session_refresh(self, fn: Callable[[str], TokenPair]) -> None:
        """Wired by the client: how the session refreshes (POST /api/v1/auth/refresh, which stores the pair)."""
        self._session_refresh = fn

    def can_renew(self) -> bool:
        return self._on_token_expired is not None or self.refresh_token is not None

    def needs_first_token(self) -> bool:
        """A session resumed from a refresh token alone gets its access token before its first call."""
        return self.access_token is None and self.refresh_token is not None and self._session_refresh is not None

    def store(self, pair: TokenPair) -> None:
        self._keep(pair)
        if self._on_tokens is not None:
            self._on_tokens(pair)

    def wait_pending(self) -> None:
        """Wait for a renewal under way, if any (its failure is the renewing call's to report)."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            pending.wait_quietly()

    def token_after(self, sent: str | None) -> str | None:
        """The token to retry with after ``sent`` was refused (or to start with): the current one if
        another call already renewed it, else the outcome of the one shared renewal. None: give up."""
        with self._lock:
            if self.access_token is not None and self.access_token != sent:
                return self.access_token
            renewal = self._pending
            if renewal is not None:
                leader = False
            else:
                renewal = self._pending = _Renewal()
                leader = True
        if not leader:
            return renewal.wait()
        token: str | None = None
        error: BaseException | None = None
        try:
            token = self._renew()
            return token
        except BaseException as e:
            error = e
            raise
        finally:
            with self._lock:
                if self._pending is renewal:
                    self._pending = None
            renewal.settle(token, error)

    def _renew(self) -> str | None:
        if self._on_token_expired is not None:
            token = self._on_token_expired()
            if inspect.isawaitable(token):
                if inspect.iscoroutine(token):
                    token.close()
                raise TypeError("on_token_expired returned an awaitable: PuguhClient needs a plain function (or use AsyncPuguhClient)")
            if isinstance(token, str) and token:
                self.access_token = token
                return token
            return None
        if self.refresh_token is not None and self._session_refresh is not None:
            return self._session_refresh(self.refresh_token)["access_token"]
        return None


class AsyncTokens(_Base):
    def __init__(
        self,
        access_token: str | None,
        refresh_token: str | None,
        on_token_expired: AsyncTokenExpiredCallback | None,
        on_tokens: TokensCallback | None,
    ) -> None:
        super().__init__(access_token, refresh_token)
        self._on_token_expired = on_token_expired
        self._on_tokens = on_tokens
        self._pending: asyncio.Future[str | None] | None = None
        self._session_refresh: Callable[[str], Awaitable[TokenPair]] | None = None

    def use_session_refresh(self, fn: Callable[[str], Awaitable[TokenPair]]) -> None:
        self._session_refresh = fn

    def can_renew(self) -> bool:
        return self._on_token_expired is not None or self.refresh_token is not None

    def needs_first_token(self) -> bool:
        return self.access_token is None and self.refresh_token is not None and self._session_refresh is not None

    async def store(self, pair: TokenPair) -> None:
        self._keep(pair)
        if self._on_tokens is not None:
            result = self._on_tokens(pair)
            if inspect.isawaitable(result):
                await result

    async def wait_pending(self) -> None:
        pending = self._pending
        if pending is not None:
            try:
                await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():
                    return  # the renewal itself was cancelled (its loop is closing): nothing to wait for
                raise
            except Exception:
                pass  # the renewing call reports it

    async def token_after(self, sent: str | None) -> str | None:
        if self.access_token is not None and self.access_token != sent:
            return self.access_token
        pending = self._pending
        if pending is None:
            pending = asyncio.ensure_future(self._renew())
            self._pending = pending
            pending.add_done_callback(self._settled)
        # shield: this caller's cancellation ends its wait, not the renewal others wait on.
        return await asyncio.shield(pending)

    def _settled(self, task: asyncio.Future[str | None]) -> None:
        if self._pending is task:
            self._pending = None
        if not task.cancelled():
            task.exception()  # retrieved: if every waiter was cancelled, asyncio must not log it

    async def _renew(self) -> str | None:
        if self._on_token_expired is not None:
            token = self._on_token_expired()
            if inspect.isawaitable(token):
                token = await token
            if isinstance(token, str) and token:
                self.access_token = token
                return token
            return None
        if self.refresh_token is not None and self._session_refresh is not None:
            return (await self._session_refresh(self.refresh_token))["access_token"]
        return None
