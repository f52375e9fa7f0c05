from __future__ import annotations

from typing import Unpack

from .._calls import Call, ListCall, M, RequestOptions, Resource, Runner, list_operation, operation
from ..types import Application, CreateApplicationRequest, Grant, RotatedSecret, UpdateApplicationRequest


class Grants(Resource[M]):
    """/api/v1/applications/grants: the consents users gave one application. The application is
    X-Application-ID: ``application_id`` of the call, else of the client."""

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[Grant]:
        """listGrants."""
        return ListCall("listGrants", options, application=True)

    @operation
    def revoke(self, user_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """revokeGrant: the user's consent and their tokens for the application."""
        return Call("revokeGrant", options, path={"user_id": user_id}, application=True)


class Applications(Resource[M]):
    """/api/v1/applications: the organization's OAuth clients."""

    grants: Grants[M]

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner)
        self.grants = Grants(runner)

    @list_operation
    def list(self, /, **options: Unpack[RequestOptions]) -> ListCall[Application]:
        """listApplications."""
        return ListCall("listApplications", options)

    @operation
    def create(self, body: CreateApplicationRequest, /, **options: Unpack[RequestOptions]) -> Call[Application]:
        """createApplication: a confidential client's ``client_secret`` is in this answer only."""
        return Call("createApplication", options, body=body)

    @operation
    def get(self, application_id: str, /, **options: Unpack[RequestOptions]) -> Call[Application]:
        """getApplication."""
        return Call("getApplication", options, path={"id": application_id})

    @operation
    def update(self, application_id: str, body: UpdateApplicationRequest, /, **options: Unpack[RequestOptions]) -> Call[Application]:
        """updateApplication: only the fields sent change."""
        return Call("updateApplication", options, path={"id": application_id}, body=body)

    @operation
    def delete(self, application_id: str, /, **options: Unpack[RequestOptions]) -> Call[None]:
        """deleteApplication: revokes every token it was issued."""
        return Call("deleteApplication", options, path={"id": application_id})

    @operation
    def rotate_secret(self, application_id: str, /, **options: Unpack[RequestOptions]) -> Call[RotatedSecret]:
        """rotateApplicationSecret: the old secret stops at once; 409 for public clients."""
        return Call("rotateApplicationSecret", options, path={"id": application_id})
