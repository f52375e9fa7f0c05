from __future__ import annotations

from typing import Unpack

from .._calls import Call, M, RequestOptions, Resource, operation
from ..types import Health as HealthResult


class Health(Resource[M]):
    """GET /api/v1/health."""

    @operation
    def check(self, /, **options: Unpack[RequestOptions]) -> Call[HealthResult]:
        """getHealth: whether Puguh's database (and Redis) answer. With credentials the server also
        checks them and echoes the caller as ``principal``: the guide's "Test API Key". A 503 raises
        ServerError whose ``body`` is the Health object."""
        return Call("getHealth", options)
