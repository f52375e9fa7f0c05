"""Reading settings from the environment."""

from __future__ import annotations

import os


def read_env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name)
    return value if value else None
