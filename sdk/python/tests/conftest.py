"""Session set-up: the Go server is built once from this repository."""

from __future__ import annotations

import time

import pytest

from tests.support.puguh import build_puguh


@pytest.fixture(scope="session", autouse=True)
def puguh_binary() -> str:
    started = time.monotonic()
    path = build_puguh()
    print(f"\nbuilt {path} in {time.monotonic() - started:.1f} s")
    return str(path)
