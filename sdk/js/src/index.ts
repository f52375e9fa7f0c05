/**
 * @arsaka/puguh-sdk: the Puguh REST API, OAuth helpers and access-token verification.
 * Runs in Node ≥ 20 and in browsers: it uses fetch and Web Crypto only.
 */
export { PuguhClient, type PuguhClientOptions } from './client.js';
export type { RequestOptions, FetchLike } from './core.js';
export { APIPromise, type WithResponse } from './api-promise.js';
export { Page, PagePromise, type PageParams } from './pagination.js';
export type { RateLimit, ResponseInfo } from './response.js';
export {
  PuguhError,
  PuguhConnectionError,
  PuguhTimeoutError,
  PuguhAPIError,
  BadRequestError,
  AuthenticationError,
  MFARequiredError,
  MFAEnrollmentRequiredError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  ValidationError,
  RateLimitError,
  ServerError,
  OAuthError,
  TokenVerificationError,
  type TokenErrorCode,
  type ValidationIssue,
} from './errors.js';
export {
  OAuthClient,
  codeChallengeS256,
  randomToken,
  type OAuthClientOptions,
  type OAuthTokens,
  type AuthorizationUrlParams,
  type AuthorizationRequest,
  type TokenEndpointAuthMethod,
} from './oauth.js';
export {
  verifyAccessToken,
  createAccessTokenVerifier,
  bearerToken,
  type AccessTokenClaims,
  type AccessTokenVerifier,
  type VerifierOptions,
  type VerifyOptions,
  type TokenCheck,
  type JWKSOptions,
} from './verify.js';
export { ROUTES, type OperationId } from './routes.js';
export { VERSION } from './version.js';
export type * from './types.js';
export type { HealthResource } from './resources/health.js';
export type { AuthResource } from './resources/auth.js';
export type { OrganizationsResource, MembersResource } from './resources/organizations.js';
export type { ConnectionsResource } from './resources/connections.js';
export type { InvitationsResource, OrgInvitationsResource } from './resources/invitations.js';
export type { IamResource, UsersResource, ConsentsResource } from './resources/iam.js';
export type { APIKeysResource } from './resources/api-keys.js';
export type { ServiceAccountsResource } from './resources/service-accounts.js';
export type { ApplicationsResource, GrantsResource } from './resources/applications.js';
export type { AuditResource, AuditEventParams } from './resources/audit.js';
