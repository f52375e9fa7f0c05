from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, list_operation, operation
from ..types import AcceptInvitationRequest, CreateInvitationRequest, Invitation, Organization


class OrgInvitations(Resource[M]):
    """/api/v1/organizations/{id}/invitations: invitations by email, with or without an account."""

    @list_operation
    def list(
        self, organization_id: str, /, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> ListCall[Invitation]:
        """listInvitations: a page of the organization's pending invitations, oldest first."""
        return ListCall("listInvitations", options, path={"id": organization_id}, query={"limit": limit, "cursor": cursor})

    @operation
    def create(self, organization_id: str, body: CreateInvitationRequest, /, **options: Unpack[RequestOptions]) -> Call[Invitation]:
        """createInvitation: invite an address with a role no higher than the caller's; the link goes by mail only."""
        return Call("createInvitation", options, path={"id": organization_id}, body=body)

    @operation
    def revoke(self, organization_id: str, invitation_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """revokeInvitation: the link stops working."""
        return Call("revokeInvitation", options, path={"id": organization_id, "invitation_id": invitation_id})


class Invitations(Resource[M]):
    """/api/v1/invitations."""

    @operation
    def accept(self, body: AcceptInvitationRequest, /, **options: Unpack[RequestOptions]) -> Call[Organization]:
        """acceptInvitation: join as the signed-in user the invitation's address belongs to."""
        return Call("acceptInvitation", options, body=body)
