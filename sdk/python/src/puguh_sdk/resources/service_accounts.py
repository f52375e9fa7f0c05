from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, list_operation, operation
from ..types import (
    APIKeyRequest,
    CreatedAPIKey,
    CreatedServiceAccount,
    CreateServiceAccountRequest,
    RotatedServiceAccountSecret,
    RotateRequest,
    ServiceAccount,
)


class ServiceAccounts(Resource[M]):
    """/api/v1/service-accounts. Their tokens come from OAuthClient.client_credentials."""

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[ServiceAccount]:
        """listServiceAccounts; never a secret."""
        return ListCall("listServiceAccounts", options)

    @operation
    def create(self, body: CreateServiceAccountRequest, /, **options: Unpack[RequestOptions]) -> Call[CreatedServiceAccount]:
        """createServiceAccount (users only). ``client_secret`` is in this answer only."""
        return Call("createServiceAccount", options, body=body)

    @operation
    def get(self, service_account_id: str, /, **options: Unpack[RequestOptions]) -> Call[ServiceAccount]:
        """getServiceAccount."""
        return Call("getServiceAccount", options, path={"id": service_account_id})

    @operation
    def delete(self, service_account_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """deleteServiceAccount: revokes its keys and tokens too."""
        return Call("deleteServiceAccount", options, path={"id": service_account_id})

    @operation
    def create_api_key(self, service_account_id: str, body: APIKeyRequest, /, **options: Unpack[RequestOptions]) -> Call[CreatedAPIKey]:
        """createServiceAccountAPIKey: a key that acts as the account (users only); same body as api_keys.create."""
        return Call("createServiceAccountAPIKey", options, path={"id": service_account_id}, body=body)

    @operation
    def rotate_secret(
        self, service_account_id: str, body: RotateRequest | None = None, /, **options: Unpack[RequestOptions]
    ) -> Call[RotatedServiceAccountSecret]:
        """rotateServiceAccountSecret: a new client secret (in this answer only); the previous one works until
        ``previous_secret_ends_at`` (``overlap``: "24h" by default, at most "168h", "0s" at once)."""
        return Call("rotateServiceAccountSecret", options, path={"id": service_account_id}, body=body if body is not None else {})
