"""Every REST operation the SDK calls, keyed by its operationId in
provider/rest/openapi.yaml. tests/test_package.py fails when an operation is
added to or removed from the document without this table following, or when a
path or method here disagrees with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]

RouteAuth = Literal["credential", "none"]
"""How an operation authenticates: with the client's credential, or never (login, register, refresh)."""


@dataclass(frozen=True)
class Route:
    method: HttpMethod
    path: str
    auth: RouteAuth = "credential"


ROUTES: dict[str, Route] = {
    "getHealth": Route("GET", "/api/v1/health"),
    "register": Route("POST", "/api/v1/auth/register", "none"),
    "login": Route("POST", "/api/v1/auth/login", "none"),
    "completeLogin": Route("POST", "/api/v1/auth/mfa", "none"),
    "refresh": Route("POST", "/api/v1/auth/refresh", "none"),
    "logout": Route("POST", "/api/v1/auth/logout"),
    "verifyEmail": Route("POST", "/api/v1/auth/verify-email", "none"),
    "resendVerification": Route("POST", "/api/v1/auth/verify-email/resend", "none"),
    "requestPasswordReset": Route("POST", "/api/v1/auth/password-reset", "none"),
    "confirmPasswordReset": Route("POST", "/api/v1/auth/password-reset/confirm", "none"),
    "listOrganizations": Route("GET", "/api/v1/organizations"),
    "createOrganization": Route("POST", "/api/v1/organizations"),
    "getOrganization": Route("GET", "/api/v1/organizations/{id}"),
    "setOrganizationPlan": Route("PATCH", "/api/v1/organizations/{id}/plan"),
    "listMembers": Route("GET", "/api/v1/organizations/{id}/members"),
    "addMember": Route("POST", "/api/v1/organizations/{id}/members"),
    "updateMember": Route("PATCH", "/api/v1/organizations/{id}/members/{user_id}"),
    "removeMember": Route("DELETE", "/api/v1/organizations/{id}/members/{user_id}"),
    "listConnections": Route("GET", "/api/v1/organizations/{id}/connections"),
    "createConnection": Route("POST", "/api/v1/organizations/{id}/connections"),
    "getConnection": Route("GET", "/api/v1/organizations/{id}/connections/{connection_id}"),
    "updateConnection": Route("PATCH", "/api/v1/organizations/{id}/connections/{connection_id}"),
    "deleteConnection": Route("DELETE", "/api/v1/organizations/{id}/connections/{connection_id}"),
    "listInvitations": Route("GET", "/api/v1/organizations/{id}/invitations"),
    "createInvitation": Route("POST", "/api/v1/organizations/{id}/invitations"),
    "revokeInvitation": Route("DELETE", "/api/v1/organizations/{id}/invitations/{invitation_id}"),
    "acceptInvitation": Route("POST", "/api/v1/invitations/accept"),
    "changePassword": Route("POST", "/api/v1/iam/users/me/password"),
    "changeEmail": Route("POST", "/api/v1/iam/users/me/email"),
    "listUsers": Route("GET", "/api/v1/iam/users"),
    "getMe": Route("GET", "/api/v1/iam/users/me"),
    "disableUser": Route("POST", "/api/v1/iam/users/{id}/disable"),
    "enableUser": Route("POST", "/api/v1/iam/users/{id}/enable"),
    "deleteUser": Route("DELETE", "/api/v1/iam/users/{id}"),
    "deleteMe": Route("DELETE", "/api/v1/users/me"),
    "listMyConsents": Route("GET", "/api/v1/users/me/consents"),
    "revokeMyConsent": Route("DELETE", "/api/v1/users/me/consents/{application_id}"),
    "listAPIKeys": Route("GET", "/api/v1/api-keys"),
    "createAPIKey": Route("POST", "/api/v1/api-keys"),
    "revokeAPIKey": Route("DELETE", "/api/v1/api-keys/{id}"),
    "rotateAPIKey": Route("POST", "/api/v1/api-keys/{id}/rotate"),
    "listServiceAccounts": Route("GET", "/api/v1/service-accounts"),
    "createServiceAccount": Route("POST", "/api/v1/service-accounts"),
    "getServiceAccount": Route("GET", "/api/v1/service-accounts/{id}"),
    "deleteServiceAccount": Route("DELETE", "/api/v1/service-accounts/{id}"),
    "createServiceAccountAPIKey": Route("POST", "/api/v1/service-accounts/{id}/api-keys"),
    "rotateServiceAccountSecret": Route("POST", "/api/v1/service-accounts/{id}/rotate-secret"),
    "listApplications": Route("GET", "/api/v1/applications"),
    "createApplication": Route("POST", "/api/v1/applications"),
    "getApplication": Route("GET", "/api/v1/applications/{id}"),
    "updateApplication": Route("PATCH", "/api/v1/applications/{id}"),
    "deleteApplication": Route("DELETE", "/api/v1/applications/{id}"),
    "rotateApplicationSecret": Route("POST", "/api/v1/applications/{id}/secret"),
    "listGrants": Route("GET", "/api/v1/applications/grants"),
    "revokeGrant": Route("DELETE", "/api/v1/applications/grants/{user_id}"),
    "listAuditEvents": Route("GET", "/api/v1/audit-events"),
    "beginLoginEnrollment": Route("POST", "/api/v1/auth/mfa/enroll", "none"),
    "completeLoginEnrollment": Route("POST", "/api/v1/auth/mfa/enroll/confirm", "none"),
    "getMfaStatus": Route("GET", "/api/v1/users/me/mfa"),
    "beginTotpEnrollment": Route("POST", "/api/v1/users/me/mfa/totp"),
    "confirmTotpEnrollment": Route("POST", "/api/v1/users/me/mfa/totp/confirm"),
    "removeTotp": Route("DELETE", "/api/v1/users/me/mfa/totp"),
    "getMfaPolicy": Route("GET", "/api/v1/organizations/{id}/mfa-policy"),
    "setMfaPolicy": Route("PUT", "/api/v1/organizations/{id}/mfa-policy"),
}
