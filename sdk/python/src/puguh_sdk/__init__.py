"""puguh_sdk: the Puguh REST API, OAuth 2.0 helpers and access-token verification.

    from puguh_sdk import PuguhClient

    client = PuguhClient(api_key=os.environ["PUGUH_API_KEY"], organization_id=os.environ["PUGUH_ORGANIZATION_ID"])
    client = PuguhClient(access_token=user_token, on_token_expired=refresh_token_callback)

The surface is specified for every Puguh SDK in sdk/SURFACE.md.
"""

from ._calls import RequestOptions
from ._client import AsyncPuguhClient, PuguhClient, Resources
from ._errors import (
    AuthenticationError,
    MFARequiredError,
    MFAEnrollmentRequiredError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    PuguhAPIError,
    PuguhConnectionError,
    PuguhError,
    PuguhTimeoutError,
    RateLimitError,
    ServerError,
    TokenErrorCode,
    TokenVerificationError,
    ValidationError,
    ValidationIssue,
)
from ._oauth import (
    AsyncOAuthClient,
    AuthorizationRequest,
    OAuthClient,
    OAuthTokens,
    TokenEndpointAuthMethod,
    code_challenge_s256,
    random_token,
)
from ._pagination import AsyncPage, AsyncPaginator, Page
from ._response import RateLimit, ResponseInfo
from ._routes import ROUTES, Route
from ._verify import (
    AccessTokenClaims,
    AccessTokenVerifier,
    AsyncAccessTokenVerifier,
    AsyncJWKSKeySet,
    JWKSKeySet,
    JWKSOptions,
    bearer_token,
    create_access_token_verifier,
    verify_access_token,
)
from ._version import VERSION

__version__ = VERSION

__all__ = [
    "ROUTES",
    "VERSION",
    "AccessTokenClaims",
    "AccessTokenVerifier",
    "AsyncAccessTokenVerifier",
    "AsyncJWKSKeySet",
    "AsyncOAuthClient",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncPuguhClient",
    "AuthenticationError",
    "MFARequiredError",
    "MFAEnrollmentRequiredError",
    "AuthorizationRequest",
    "BadRequestError",
    "ConflictError",
    "JWKSKeySet",
    "JWKSOptions",
    "NotFoundError",
    "OAuthClient",
    "OAuthError",
    "OAuthTokens",
    "Page",
    "PermissionDeniedError",
    "PuguhAPIError",
    "PuguhClient",
    "PuguhConnectionError",
    "PuguhError",
    "PuguhTimeoutError",
    "RateLimit",
    "RateLimitError",
    "RequestOptions",
    "Resources",
    "ResponseInfo",
    "Route",
    "ServerError",
    "TokenEndpointAuthMethod",
    "TokenErrorCode",
    "TokenVerificationError",
    "ValidationError",
    "ValidationIssue",
    "__version__",
    "bearer_token",
    "code_challenge_s256",
    "create_access_token_verifier",
    "random_token",
    "verify_access_token",
]
