"""What a type checker sees: every client kind gets the exact result type of
each method (the overloads of puguh_sdk._calls), per-call options are checked
by name, and bodies by their TypedDicts. Runs mypy (Debian: apt-get install
mypy) on a sample against the source tree."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.puguh import SDK_ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (Debian: apt-get install mypy)")

SAMPLE = '''\
from puguh_sdk import AsyncPuguhClient, PuguhClient

c = PuguhClient(base_url="http://localhost:8080")
a = AsyncPuguhClient(base_url="http://localhost:8080")

reveal_type(c.organizations.get("id"))
reveal_type(c.organizations.members.list("id", limit=10))
reveal_type(c.with_response.iam.users.me())
reveal_type(c.api_keys.revoke("id"))
print(reveal_type(a.organizations.get("id")))
reveal_type(a.iam.users.list())
print(reveal_type(a.with_response.applications.list()))

c.organizations.get("id", organisation_id="x")
c.organizations.get(organization_id="x")
c.iam.users.me(timeout="soon")
c.auth.register({"email": "a@example.com", "password": "long enough"})
c.organizations.members.add("org", {"email": "a@example.com", "role": "superuser"})
'''

WANT_REVEALED = [
    "TypedDict('puguh_sdk.types.Organization'",
    "puguh_sdk._pagination.Page[TypedDict('puguh_sdk.types.Member'",
    "Tuple[TypedDict('puguh_sdk.types.Me'",
    "None",
    "typing.Coroutine[Any, Any, TypedDict('puguh_sdk.types.Organization'",
    "puguh_sdk._pagination.AsyncPaginator[TypedDict('puguh_sdk.types.Member'",
    "typing.Coroutine[Any, Any, Tuple[puguh_sdk._pagination.AsyncPage[TypedDict('puguh_sdk.types.Application'",
]

WANT_ERRORS = {
    14: 'Unexpected keyword argument "organisation_id"',
    15: "Too few arguments",
    16: 'Argument "timeout" has incompatible type "str"',
    17: 'Missing key "full_name" for TypedDict "RegisterRequest"',
    18: "TypedDict item \"role\" has type \"Literal['owner', 'admin', 'member', 'viewer']\"",
}


def test_result_types_and_checked_arguments(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(SDK_ROOT / ".mypy_cache"), str(sample)],
        cwd=SDK_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = done.stdout.splitlines()
    revealed = [re.sub(r'^.*Revealed type is "(.*)"$', r"\1", ln) for ln in lines if "Revealed type" in ln]
    assert len(revealed) == len(WANT_REVEALED), done.stdout + done.stderr
    for got, want in zip(revealed, WANT_REVEALED, strict=True):
        assert got.startswith(want), f"revealed {got}, want {want}…"
    errors: dict[int, list[str]] = {}
    for ln in lines:
        m = re.match(r"^.*sample\.py:(\d+): error: (.*)$", ln)
        if m:
            errors.setdefault(int(m.group(1)), []).append(m.group(2))
    assert sorted(errors) == sorted(WANT_ERRORS), done.stdout
    for line, want in WANT_ERRORS.items():
        assert any(want in e for e in errors[line]), f"line {line}: {errors[line]}, want {want}"
