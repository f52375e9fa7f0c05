from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, list_operation, operation
from ..types import Connection, CreateConnectionRequest, UpdateConnectionRequest


class Connections(Resource[M]):
    """/api/v1/organizations/{id}/connections: the organization's own identity providers (owners and admins)."""

    @list_operation
    def list(self, organization_id: str, /, **options: Unpack[RequestOptions]) -> ListCall[Connection]:
        """listConnections: every connection of the organization; never the client secret."""
        return ListCall("listConnections", options, path={"id": organization_id})

    @operation
    def create(self, organization_id: str, body: CreateConnectionRequest, /, **options: Unpack[RequestOptions]) -> Call[Connection]:
        """createConnection: connect an OpenID Connect identity provider for the organization's domains."""
        return Call("createConnection", options, path={"id": organization_id}, body=body)

    @operation
    def get(self, organization_id: str, connection_id: str, /, **options: Unpack[RequestOptions]) -> Call[Connection]:
        """getConnection."""
        return Call("getConnection", options, path={"id": organization_id, "connection_id": connection_id})

    @operation
    def update(
        self, organization_id: str, connection_id: str, body: UpdateConnectionRequest, /, **options: Unpack[RequestOptions]
    ) -> Call[Connection]:
        """updateConnection: change the fields sent (a client_secret replaces the stored one)."""
        return Call("updateConnection", options, path={"id": organization_id, "connection_id": connection_id}, body=body)

    @operation
    def delete(self, organization_id: str, connection_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """deleteConnection: disconnect the identity provider."""
        return Call("deleteConnection", options, path={"id": organization_id, "connection_id": connection_id})
