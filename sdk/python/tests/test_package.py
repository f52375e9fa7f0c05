"""The package itself, without a server: the route table and the generated
types in step with the OpenAPI document, SURFACE.md naming every operation
and every method it lists calling that operation, the client's refusals at
construction, header parsing, and what the package imports."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest
import yaml

from puguh_sdk import (
    ROUTES,
    AsyncPuguhClient,
    PuguhClient,
    ResponseInfo,
    TokenVerificationError,
    bearer_token,
)
from puguh_sdk._calls import ListOperation, Operation
from puguh_sdk._response import parse_retry_after
from tests.support.puguh import REPO_ROOT, SDK_ROOT

OPENAPI = yaml.safe_load((REPO_ROOT / "provider" / "rest" / "openapi.yaml").read_text(encoding="utf-8"))
SURFACE = (REPO_ROOT / "sdk" / "SURFACE.md").read_text(encoding="utf-8")


def test_routes_hold_exactly_the_operations_of_the_openapi_document() -> None:
    documented = {
        op["operationId"]: (method.upper(), path)
        for path, item in OPENAPI["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert len(documented) > 30
    assert {op: (r.method, r.path) for op, r in ROUTES.items()} == documented
    # Operations that never send a credential: those whose only security requirement is none.
    anonymous = {
        op["operationId"]
        for item in OPENAPI["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op and op.get("security") == [{}]
    }
    assert {op for op, r in ROUTES.items() if r.auth == "none"} == anonymous


def test_types_py_is_what_the_generator_makes_of_the_document() -> None:
    done = subprocess.run([sys.executable, str(SDK_ROOT / "scripts" / "generate_types.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name).replace("apiKeys", "api_keys")


def surface_rows() -> list[tuple[str, str]]:
    """(Python method path, operationId) of every row of SURFACE.md's resources table."""
    rows = re.findall(r"^\| `client\.([\w.]+)\(.*?\)` \| `(\w+)` \|", SURFACE, re.MULTILINE)
    return [(".".join(snake(part) for part in method.split(".")), op) for method, op in rows]


def test_surface_md_names_every_operation() -> None:
    rows = surface_rows()
    assert sorted(op for _, op in rows) == sorted(ROUTES)


def _dummy_args(operation: Operation[Any, Any] | ListOperation[Any, Any]) -> list[Any]:
    args: list[Any] = []
    params = list(inspect.signature(operation._fn).parameters.values())[1:]  # noqa: SLF001 - the method as written
    for p in params:
        if p.kind != inspect.Parameter.POSITIONAL_ONLY:
            continue
        args.append({"name": "x"} if p.name == "body" else f"{p.name}-1")
    return args


@pytest.mark.parametrize(("method", "operation_id"), surface_rows())
def test_every_surface_method_exists_and_calls_its_operation(method: str, operation_id: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE" or request.url.path.endswith("/logout"):
            return httpx.Response(204)
        return httpx.Response(200, json={"items": []} if request.method == "GET" else {"access_token": "a", "refresh_token": "r"})

    infos: list[ResponseInfo] = []
    client = PuguhClient(
        base_url="http://puguh.test",
        access_token="t",
        application_id="app-1",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
        on_response=infos.append,
    )
    *path, name = method.split(".")
    resource: Any = client
    for part in path:
        resource = getattr(resource, part)
    operation = inspect.getattr_static(resource, name)
    assert isinstance(operation, (Operation, ListOperation)), f"client.{method} is in SURFACE.md but not an SDK method"
    args = _dummy_args(operation)
    getattr(resource, name)(*args)
    # The path parameters, in path order, are the positional arguments in their order.
    route = ROUTES[operation_id]
    values = iter(a for a in args if isinstance(a, str))
    want = re.sub(r"\{\w+\}", lambda _: next(values), route.path)
    assert [(r.method, r.url.path) for r in seen] == [(route.method, want)]
    assert [i.operation_id for i in infos] == [operation_id]


def test_construction_refuses_what_the_server_would(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUGUH_BASE_URL", raising=False)
    with pytest.raises(ValueError, match=r"no base_url: pass base_url= or set PUGUH_BASE_URL"):
        PuguhClient(api_key="pgh_x", organization_id="o")
    with pytest.raises(ValueError, match="no base_url"):
        AsyncPuguhClient()
    monkeypatch.setenv("PUGUH_BASE_URL", "http://127.0.0.1:1/")
    assert PuguhClient().base_url == "http://127.0.0.1:1"
    assert AsyncPuguhClient().base_url == "http://127.0.0.1:1"
    base = "http://127.0.0.1:1"
    with pytest.raises(ValueError, match="api_key needs its organization_id"):
        PuguhClient(base_url=base, api_key="pgh_x")
    with pytest.raises(ValueError, match="not both"):
        PuguhClient(base_url=base, api_key="pgh_x", organization_id="o", access_token="t")
    for bad in ("localhost:8080", "ftp://example.com", "/api"):
        with pytest.raises(ValueError, match="absolute"):
            PuguhClient(base_url=bad)


def test_per_call_options_are_checked_before_sending() -> None:
    client = PuguhClient(base_url="http://127.0.0.1:1")
    with pytest.raises(TypeError, match="unknown option organisation_id"):
        client.iam.users.me(organisation_id="o")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="missing path parameter id"):
        client.organizations.get("")


def test_bearer_token_reads_rfc_6750_headers() -> None:
    assert bearer_token("Bearer abc.def-ghi_jkl") == "abc.def-ghi_jkl"
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token(["Bearer abc"]) == "abc"

    def code(h: Any) -> str:
        try:
            bearer_token(h)
        except TokenVerificationError as e:
            return f"{e.code} {e.status}"
        return "accepted"

    assert code(None) == "missing_token 401"
    assert code("") == "missing_token 401"
    assert code("Basic dXNlcjpwYXNz") == "invalid_request 400"
    assert code("Bearer a b") == "invalid_request 400"
    assert code(["Bearer a", "Bearer b"]) == "invalid_request 400"


def test_retry_after_delta_seconds_or_an_http_date() -> None:
    def h(v: str) -> httpx.Headers:
        return httpx.Headers({"Retry-After": v})

    at = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(h("5")) == 5
    assert parse_retry_after(h("Wed, 21 Oct 2015 07:28:00 GMT"), now=at - 30) == 30
    assert parse_retry_after(h("Wed, 21 Oct 2015 07:28:00 GMT"), now=at + 1900) == 0
    assert parse_retry_after(h("soon")) is None
    assert parse_retry_after(httpx.Headers()) is None


def test_the_package_imports_only_the_standard_library_httpx_pyjwt_and_cryptography() -> None:
    allowed = set(sys.stdlib_module_names) | {"httpx", "jwt", "cryptography"}
    found: dict[str, str] = {}
    for path in (SDK_ROOT / "src" / "puguh_sdk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found[name.split(".")[0]] = str(path.relative_to(SDK_ROOT))
    assert {m: f for m, f in found.items() if m not in allowed} == {}
    pyproject = (SDK_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = json.loads(re.search(r"dependencies = (\[.*?\])", pyproject, re.DOTALL).group(1).replace(",\n]", "\n]"))  # type: ignore[union-attr]
    assert deps == ["httpx>=0.23", "PyJWT>=2.6", "cryptography>=3.4"]
