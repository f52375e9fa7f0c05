"""The REST API's resources, one class per path, each method one operation of
provider/rest/openapi.yaml (its operationId in the docstring)."""

from .api_keys import APIKeys
from .applications import Applications, Grants
from .audit import Audit
from .auth import Auth
from .connections import Connections
from .health import Health
from .iam import IAM, Users
from .mfa import MFA
from .invitations import Invitations, OrgInvitations
from .organizations import Members, Organizations
from .service_accounts import ServiceAccounts

__all__ = [
    "APIKeys",
    "Applications",
    "Audit",
    "Auth",
    "Connections",
    "Grants",
    "Health",
    "IAM",
    "Invitations",
    "Members",
    "MFA",
    "OrgInvitations",
    "Organizations",
    "ServiceAccounts",
    "Users",
]
