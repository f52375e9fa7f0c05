"""How a resource method becomes an HTTP call, written once for four clients.

Every REST operation is one method on a resource class: it takes the path
parameters, the body and the query parameters, and returns a ``Call`` that
names the operation. The ``operation`` and ``list_operation`` decorators turn
that method into what each client needs: the result (``PuguhClient``), a
coroutine (``AsyncPuguhClient``), or the result with its ``ResponseInfo``
(``client.with_response``). A resource class is generic in the client it
belongs to (``Organizations[Sync]``, ``Organizations[Async]``, …), and the
decorators' overloads give type checkers the exact result of each.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, ParamSpec, Protocol, TypedDict, TypeVar, overload

from ._response import ResponseInfo
from ._routes import ROUTES

if TYPE_CHECKING:
    from ._pagination import AsyncPage, AsyncPaginator, Page
    from ._tokens import TokenState

T = TypeVar("T")
P = ParamSpec("P")
M = TypeVar("M")


class RequestOptions(TypedDict, total=False):
    """Keyword arguments every method accepts after its own."""

    timeout: float | None
    """Seconds each HTTP attempt of this call may take (default: the client's ``timeout``); None or 0: no limit."""
    organization_id: str
    """Act in this organization (X-Organization-ID), this call only."""
    application_id: str
    """The application of an application-scoped operation (X-Application-ID), this call only."""
    max_retries: int
    """Retries of a 429 or 503 for this call (default: the client's ``max_retries``)."""
    headers: Mapping[str, str]
    """Extra headers for this call."""


_OPTION_NAMES = frozenset(RequestOptions.__annotations__)

Effect = Literal["store_tokens", "logout"]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One REST operation to run: what a resource method returns. ``T`` is the result's type."""

    operation_id: str
    options: RequestOptions = field(default_factory=lambda: RequestOptions())
    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str | int | Sequence[str] | None] = field(default_factory=dict)
    """A sequence value repeats the parameter (``?type=a&type=b``)."""
    body: Any = None
    """The JSON body; None sends none."""
    application: bool = False
    """X-Application-ID is required (application-scoped operations)."""
    effect: Effect | None = None
    """What the client does with its tokens after the answer: store a login or refresh pair, or forget them."""

    def __post_init__(self) -> None:
        if self.operation_id not in ROUTES:
            raise ValueError(f"unknown operationId {self.operation_id}")
        unknown = sorted(set(self.options) - _OPTION_NAMES)
        if unknown:
            raise TypeError(f"{self.operation_id}: unknown option {', '.join(unknown)} (the options are {', '.join(sorted(_OPTION_NAMES))})")


@dataclass(frozen=True)
class ListCall(Call[T]):
    """A list operation: its answer is ``{"items": [...], "next_cursor"?: "..."}``; ``T`` is the item type."""

    def with_cursor(self, cursor: str) -> ListCall[T]:
        return replace(self, query={**self.query, "cursor": cursor})


# The four clients a resource can belong to (type parameters only).
class Sync:
    """Resources of PuguhClient: methods return the result."""


class Async:
    """Resources of AsyncPuguhClient: methods return a coroutine of the result."""


class SyncWithResponse:
    """Resources of PuguhClient.with_response: methods return (result, ResponseInfo)."""


class AsyncWithResponse:
    """Resources of AsyncPuguhClient.with_response: methods return a coroutine of (result, ResponseInfo)."""


class Runner(Protocol):
    """Runs calls for one client: sync or async, with or without the ResponseInfo."""

    @property
    def tokens(self) -> TokenState: ...

    def run(self, build: Callable[[], Call[Any]]) -> Any: ...

    def run_list(self, build: Callable[[], ListCall[Any]]) -> Any: ...


class Resource(Generic[M]):
    """A group of operations under one REST path. ``M`` is the client kind (Sync, Async, …)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner


def _copy_name(bound: Callable[..., Any], fn: Callable[..., Any]) -> None:
    # Name and docstring for help() and tracebacks; not __wrapped__, whose signature returns a Call.
    bound.__name__ = fn.__name__
    bound.__qualname__ = fn.__qualname__
    bound.__doc__ = fn.__doc__


class Operation(Generic[P, T]):
    """A resource method: ``@operation def get(self, id, /, **options) -> Call[Organization]``."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self._fn = fn
        functools.update_wrapper(self, fn)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Operation[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, obj: Resource[SyncWithResponse], owner: type[Any]) -> Callable[P, tuple[T, ResponseInfo]]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncWithResponse], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, tuple[T, ResponseInfo]]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        fn = self._fn
        runner = obj._runner

        def bound(*args: Any, **kwargs: Any) -> Any:
            return runner.run(lambda: fn(obj, *args, **kwargs))

        _copy_name(bound, fn)
        return bound


class ListOperation(Generic[P, T]):
    """A list method: ``@list_operation def list(self, /, **options) -> ListCall[Member]``."""

    def __init__(self, fn: Callable[Concatenate[Any, P], ListCall[T]]) -> None:
        self._fn = fn
        functools.update_wrapper(self, fn)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> ListOperation[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, Page[T]]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, AsyncPaginator[T]]: ...
    @overload
    def __get__(self, obj: Resource[SyncWithResponse], owner: type[Any]) -> Callable[P, tuple[Page[T], ResponseInfo]]: ...
    @overload
    def __get__(
        self, obj: Resource[AsyncWithResponse], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, tuple[AsyncPage[T], ResponseInfo]]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        fn = self._fn
        runner = obj._runner

        def bound(*args: Any, **kwargs: Any) -> Any:
            return runner.run_list(lambda: fn(obj, *args, **kwargs))

        _copy_name(bound, fn)
        return bound


def operation(fn: Callable[Concatenate[Any, P], Call[T]]) -> Operation[P, T]:
    return Operation(fn)


def list_operation(fn: Callable[Concatenate[Any, P], ListCall[T]]) -> ListOperation[P, T]:
    return ListOperation(fn)
