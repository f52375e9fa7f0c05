from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, list_operation, operation
from ..types import APIKey, APIKeyRequest, CreatedAPIKey, RotatedAPIKey, RotateRequest


class APIKeys(Resource[M]):
    """/api/v1/api-keys."""

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[APIKey]:
        """listAPIKeys: the organization's keys that are not revoked; never a secret."""
        return ListCall("listAPIKeys", options)

    @operation
    def create(self, body: APIKeyRequest, /, **options: Unpack[RequestOptions]) -> Call[CreatedAPIKey]:
        """createAPIKey: a key for the calling user (users only). ``key`` is the secret, in this answer only."""
        return Call("createAPIKey", options, body=body)

    @operation
    def revoke(self, api_key_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """revokeAPIKey: it stops working at once."""
        return Call("revokeAPIKey", options, path={"id": api_key_id})

    @operation
    def rotate(
        self, api_key_id: str, body: RotateRequest | None = None, /, **options: Unpack[RequestOptions]
    ) -> Call[RotatedAPIKey]:
        """rotateAPIKey: a new key with the same name, role and permissions (``key`` in this answer only); the old
        one works until ``replaced_key_ends_at`` (``overlap``: "24h" by default, at most "168h", "0s" at once)."""
        return Call("rotateAPIKey", options, path={"id": api_key_id}, body=body if body is not None else {})
