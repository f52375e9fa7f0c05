"""Pages of a list. Every ``list`` returns one, also for lists the server does
not paginate yet (then ``next_cursor`` is None), so code written today keeps
working when they are paginated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._errors import PuguhError
from ._response import ResponseInfo

T = TypeVar("T")


def _repeated(seen: set[str], cursor: str | None) -> None:
    # A cursor seen before would make the walk loop forever; the server never sends one.
    if cursor is None:
        return
    if cursor in seen:
        raise PuguhError("the server repeated a pagination cursor")
    seen.add(cursor)


class Page(Generic[T]):
    """One page of a list (PuguhClient). ``items`` holds this page; iterating the page walks every
    item from here to the last page, fetching pages as needed."""

    items: list[T]
    next_cursor: str | None
    """The server's next_cursor: None on the last page. Opaque; pass it back as ``cursor``."""
    response: ResponseInfo

    def __init__(self, items: list[T], next_cursor: str | None, response: ResponseInfo, fetch: Callable[[str], Page[T]]) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.response = response
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def next_page(self) -> Page[T] | None:
        """The next page, or None after the last one."""
        if self.next_cursor is None:
            return None
        return self._fetch(self.next_cursor)

    def pages(self) -> Iterator[Page[T]]:
        """Every page from this one on."""
        seen: set[str] = set()
        page: Page[T] | None = self
        while page is not None:
            yield page
            _repeated(seen, page.next_cursor)
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def __repr__(self) -> str:
        return f"Page(items={len(self.items)}, next_cursor={self.next_cursor!r})"


class AsyncPage(Generic[T]):
    """One page of a list (AsyncPuguhClient). ``async for`` over it walks every item from here to the
    last page."""

    items: list[T]
    next_cursor: str | None
    response: ResponseInfo

    def __init__(
        self, items: list[T], next_cursor: str | None, response: ResponseInfo, fetch: Callable[[str], Awaitable[AsyncPage[T]]]
    ) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.response = response
        self._fetch = fetch

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    async def next_page(self) -> AsyncPage[T] | None:
        if self.next_cursor is None:
            return None
        return await self._fetch(self.next_cursor)

    async def pages(self) -> AsyncIterator[AsyncPage[T]]:
        seen: set[str] = set()
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            _repeated(seen, page.next_cursor)
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __repr__(self) -> str:
        return f"AsyncPage(items={len(self.items)}, next_cursor={self.next_cursor!r})"


class AsyncPaginator(Coroutine[Any, Any, AsyncPage[T]], Generic[T]):
    """What an async ``list`` returns: ``await`` it for the first AsyncPage, or ``async for`` over it
    for every item of every page, fetched as you go. It is a coroutine (``asyncio.create_task`` and
    ``gather`` take it); nothing is sent until it is awaited, scheduled or iterated."""

    def __init__(self, first: Callable[[], Coroutine[Any, Any, AsyncPage[T]]]) -> None:
        self._first = first
        self._coroutine: Coroutine[Any, Any, AsyncPage[T]] | None = None

    def _inner(self) -> Coroutine[Any, Any, AsyncPage[T]]:
        if self._coroutine is None:
            self._coroutine = self._first()
        return self._coroutine

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._inner().__await__()

    def send(self, value: Any) -> Any:
        return self._inner().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        return self._inner().throw(typ, val, tb)

    def close(self) -> None:
        if self._coroutine is not None:
            self._coroutine.close()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item
