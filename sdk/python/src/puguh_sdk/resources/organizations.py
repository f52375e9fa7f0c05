from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, Runner, list_operation, operation
from .connections import Connections
from .invitations import OrgInvitations
from ..types import AddMemberRequest, CreateOrganizationRequest, Member, MFAPolicy, MFAPolicyRequest, Organization, Plan, PlanRequest, UpdateMemberRequest


class Members(Resource[M]):
    """/api/v1/organizations/{id}/members."""

    @list_operation
    def list(
        self, organization_id: str, /, *, limit: int | None = None, cursor: str | None = None, **options: Unpack[RequestOptions]
    ) -> ListCall[Member]:
        """listMembers: a page of the organization's members (organization.members.read)."""
        return ListCall("listMembers", options, path={"id": organization_id}, query={"limit": limit, "cursor": cursor})

    @operation
    def add(self, organization_id: str, body: AddMemberRequest, /, **options: Unpack[RequestOptions]) -> Call[Member]:
        """addMember: add an existing user by email with a role no higher than the caller's."""
        return Call("addMember", options, path={"id": organization_id}, body=body)

    @operation
    def update(
        self, organization_id: str, user_id: str, body: UpdateMemberRequest, /, **options: Unpack[RequestOptions]
    ) -> Call[Member]:
        """updateMember: change a member's role."""
        return Call("updateMember", options, path={"id": organization_id, "user_id": user_id}, body=body)

    @operation
    def remove(self, organization_id: str, user_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """removeMember."""
        return Call("removeMember", options, path={"id": organization_id, "user_id": user_id})


class Organizations(Resource[M]):
    """/api/v1/organizations."""

    members: Members[M]
    connections: Connections[M]
    invitations: OrgInvitations[M]

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.members = Members(runner)
        self.connections = Connections(runner)
        self.invitations = OrgInvitations(runner)

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[Organization]:
        """listOrganizations: every organization the user belongs to (with their role), or the credential's one."""
        return ListCall("listOrganizations", options)

    @operation
    def create(self, body: CreateOrganizationRequest, /, **options: Unpack[RequestOptions]) -> Call[Organization]:
        """createOrganization: the calling user becomes its owner (users only)."""
        return Call("createOrganization", options, body=body)

    @operation
    def get(self, organization_id: str, /, **options: Unpack[RequestOptions]) -> Call[Organization]:
        """getOrganization."""
        return Call("getOrganization", options, path={"id": organization_id})

    @operation
    def set_plan(self, organization_id: str, body: PlanRequest, /, **options: Unpack[RequestOptions]) -> Call[Plan]:
        """setOrganizationPlan: platform operators only."""
        return Call("setOrganizationPlan", options, path={"id": organization_id}, body=body)

    @operation
    def get_mfa_policy(self, organization_id: str, /, **options: Unpack[RequestOptions]) -> Call[MFAPolicy]:
        """getMfaPolicy: whether members must use a second factor (owners and admins)."""
        return Call("getMfaPolicy", options, path={"id": organization_id})

    @operation
    def set_mfa_policy(self, organization_id: str, body: MFAPolicyRequest, /, **options: Unpack[RequestOptions]) -> Call[MFAPolicy]:
        """setMfaPolicy: require (or stop requiring) a second factor, with a grace period ("168h") to set one up."""
        return Call("setMfaPolicy", options, path={"id": organization_id}, body=body)
