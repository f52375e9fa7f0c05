// Every REST operation the SDK calls, keyed by its operationId in
// provider/rest/openapi.yaml. The types below make `npm run typecheck` fail
// when an operation is added to or removed from the OpenAPI document without
// this table following, or when a path or method here disagrees with it.
import type { operations, paths } from './generated/openapi.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** How an operation authenticates: with the client's credential, or never (login, register, refresh). */
export type RouteAuth = 'credential' | 'none';

export interface Route {
  readonly method: HttpMethod;
  readonly path: keyof paths;
  readonly auth: RouteAuth;
}

function route<const P extends keyof paths, const M extends HttpMethod>(
  method: M,
  path: P,
  auth: RouteAuth = 'credential',
): { method: M; path: P; auth: RouteAuth } {
  return { method, path, auth };
}

export const ROUTES = {
  getHealth: route('GET', '/api/v1/health'),

  register: route('POST', '/api/v1/auth/register', 'none'),
  login: route('POST', '/api/v1/auth/login', 'none'),
  completeLogin: route('POST', '/api/v1/auth/mfa', 'none'),
  refresh: route('POST', '/api/v1/auth/refresh', 'none'),
  logout: route('POST', '/api/v1/auth/logout'),
  verifyEmail: route('POST', '/api/v1/auth/verify-email', 'none'),
  resendVerification: route('POST', '/api/v1/auth/verify-email/resend', 'none'),
  requestPasswordReset: route('POST', '/api/v1/auth/password-reset', 'none'),
  confirmPasswordReset: route('POST', '/api/v1/auth/password-reset/confirm', 'none'),

  listOrganizations: route('GET', '/api/v1/organizations'),
  createOrganization: route('POST', '/api/v1/organizations'),
  getOrganization: route('GET', '/api/v1/organizations/{id}'),
  setOrganizationPlan: route('PATCH', '/api/v1/organizations/{id}/plan'),
  listMembers: route('GET', '/api/v1/organizations/{id}/members'),
  addMember: route('POST', '/api/v1/organizations/{id}/members'),
  updateMember: route('PATCH', '/api/v1/organizations/{id}/members/{user_id}'),
  removeMember: route('DELETE', '/api/v1/organizations/{id}/members/{user_id}'),
  listConnections: route('GET', '/api/v1/organizations/{id}/connections'),
  createConnection: route('POST', '/api/v1/organizations/{id}/connections'),
  getConnection: route('GET', '/api/v1/organizations/{id}/connections/{connection_id}'),
  updateConnection: route('PATCH', '/api/v1/organizations/{id}/connections/{connection_id}'),
  deleteConnection: route('DELETE', '/api/v1/organizations/{id}/connections/{connection_id}'),

  listInvitations: route('GET', '/api/v1/organizations/{id}/invitations'),
  createInvitation: route('POST', '/api/v1/organizations/{id}/invitations'),
  revokeInvitation: route('DELETE', '/api/v1/organizations/{id}/invitations/{invitation_id}'),
  acceptInvitation: route('POST', '/api/v1/invitations/accept'),
  changePassword: route('POST', '/api/v1/iam/users/me/password'),
  changeEmail: route('POST', '/api/v1/iam/users/me/email'),

  listUsers: route('GET', '/api/v1/iam/users'),
  getMe: route('GET', '/api/v1/iam/users/me'),
  disableUser: route('POST', '/api/v1/iam/users/{id}/disable'),
  enableUser: route('POST', '/api/v1/iam/users/{id}/enable'),
  deleteUser: route('DELETE', '/api/v1/iam/users/{id}'),
  deleteMe: route('DELETE', '/api/v1/users/me'),
  listMyConsents: route('GET', '/api/v1/users/me/consents'),
  revokeMyConsent: route('DELETE', '/api/v1/users/me/consents/{application_id}'),

  listAPIKeys: route('GET', '/api/v1/api-keys'),
  createAPIKey: route('POST', '/api/v1/api-keys'),
  revokeAPIKey: route('DELETE', '/api/v1/api-keys/{id}'),
  rotateAPIKey: route('POST', '/api/v1/api-keys/{id}/rotate'),

  listServiceAccounts: route('GET', '/api/v1/service-accounts'),
  createServiceAccount: route('POST', '/api/v1/service-accounts'),
  getServiceAccount: route('GET', '/api/v1/service-accounts/{id}'),
  deleteServiceAccount: route('DELETE', '/api/v1/service-accounts/{id}'),
  createServiceAccountAPIKey: route('POST', '/api/v1/service-accounts/{id}/api-keys'),
  rotateServiceAccountSecret: route('POST', '/api/v1/service-accounts/{id}/rotate-secret'),

  listApplications: route('GET', '/api/v1/applications'),
  createApplication: route('POST', '/api/v1/applications'),
  getApplication: route('GET', '/api/v1/applications/{id}'),
  updateApplication: route('PATCH', '/api/v1/applications/{id}'),
  deleteApplication: route('DELETE', '/api/v1/applications/{id}'),
  rotateApplicationSecret: route('POST', '/api/v1/applications/{id}/secret'),
  listGrants: route('GET', '/api/v1/applications/grants'),
  revokeGrant: route('DELETE', '/api/v1/applications/grants/{user_id}'),
  listAuditEvents: route('GET', '/api/v1/audit-events'),

  beginLoginEnrollment: route('POST', '/api/v1/auth/mfa/enroll', 'none'),
  completeLoginEnrollment: route('POST', '/api/v1/auth/mfa/enroll/confirm', 'none'),
  getMfaStatus: route('GET', '/api/v1/users/me/mfa'),
  beginTotpEnrollment: route('POST', '/api/v1/users/me/mfa/totp'),
  confirmTotpEnrollment: route('POST', '/api/v1/users/me/mfa/totp/confirm'),
  removeTotp: route('DELETE', '/api/v1/users/me/mfa/totp'),
  getMfaPolicy: route('GET', '/api/v1/organizations/{id}/mfa-policy'),
  setMfaPolicy: route('PUT', '/api/v1/organizations/{id}/mfa-policy'),
} as const;

export type OperationId = keyof typeof ROUTES;

// ---- compile-time agreement with the OpenAPI document ----

type Lower<M extends HttpMethod> = Lowercase<M>;
type Table = typeof ROUTES;
/** The operation the OpenAPI document has at an entry's path and method. */
type DocumentOperation<K extends OperationId> = paths[Table[K]['path']][Lower<Table[K]['method']>];
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Entries whose path and method do not hold the operation of the same operationId. */
type Mismatched = { [K in OperationId]: Equal<DocumentOperation<K>, operations[K]> extends true ? never : K }[OperationId];
/** operationIds of the document with no entry here. */
type Missing = Exclude<keyof operations, OperationId>;

// Each line fails to compile, naming the offending operationIds, when the table drifts.
const everyEntryMatchesTheDocument: [Mismatched] extends [never] ? true : Mismatched = true;
const everyOperationHasAnEntry: [Missing] extends [never] ? true : Missing = true;
void everyEntryMatchesTheDocument;
void everyOperationHasAnEntry;
