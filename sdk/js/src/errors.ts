// The errors the SDK throws. Every one is a PuguhError; HTTP answers are
// PuguhAPIError subclasses chosen by status, carrying FastAPI's `detail`.
import type { RateLimit, ResponseInfo } from './response.js';

/** One entry of a 422 answer's `detail` list (FastAPI's shape). */
export interface ValidationIssue {
  /** Where the bad value is: ["body", "email"], ["query", "limit"], ["header", "X-Organization-ID"], ["body", "redirect_uris", 1]. */
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** The base of every error the SDK throws. */
export class PuguhError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request never got an HTTP answer: DNS, refused connection, reset, TLS. `cause` holds fetch's error. */
export class PuguhConnectionError extends PuguhError {}

/** The client's timeout elapsed before the answer arrived. (A caller's own AbortSignal rejects with its reason instead.) */
export class PuguhTimeoutError extends PuguhConnectionError {}

/** An HTTP answer with an error status. */
export class PuguhAPIError extends PuguhError {
  /** The HTTP status. */
  readonly status: number;
  /** `detail` of the body when it is a string ("Invalid or expired token"); for 422 see ValidationError.issues. */
  readonly detail: string;
  /** The parsed JSON body, or the text when it was not JSON. */
  readonly body: unknown;
  readonly headers: Headers;
  readonly rateLimit: RateLimit | null;
  readonly requestId: string | null;
  readonly response: ResponseInfo;

  constructor(response: ResponseInfo, body: unknown, detail: string) {
    super(`${response.status} ${detail || 'HTTP error'} (${response.method} ${new URL(response.url).pathname})`);
    this.status = response.status;
    this.detail = detail;
    this.body = body;
    this.headers = response.headers;
    this.rateLimit = response.rateLimit;
    this.requestId = response.requestId;
    this.response = response;
  }
}

/** 400: e.g. `{"detail":"Invalid cursor"}`. */
export class BadRequestError extends PuguhAPIError {}

/** 401: missing, invalid, expired or revoked credentials. */
export class AuthenticationError extends PuguhAPIError {
  /** The WWW-Authenticate header: `Bearer realm="puguh", error="invalid_token"` for a bad Bearer token. */
  get wwwAuthenticate(): string | null {
    return this.headers.get('www-authenticate');
  }
  /**
   * True when the server refused a Bearer token it was sent (RFC 6750 `error="invalid_token"`):
   * expired, revoked, or not a token at all. False for a missing credential, a bad API key, or a failed sign-in.
   */
  get invalidToken(): boolean {
    return isInvalidTokenChallenge(this.wwwAuthenticate);
  }
}

/**
 * 401 from `auth.login` for a user with a second factor: the body has `mfa_required: true` and a
 * single-use `challenge`. Answer with `auth.completeLogin(err.challenge, code)` within `expiresIn` seconds.
 */
export class MFARequiredError extends AuthenticationError {
  /** Send it with the code to `auth.completeLogin`. */
  readonly challenge: string;
  /** The codes the user can answer with: "totp", "recovery_code". */
  readonly methods: string[];
  /** Seconds the challenge lives. */
  readonly expiresIn: number;
  constructor(response: ResponseInfo, body: unknown, detail: string) {
    super(response, body, detail);
    const b = body as { challenge: string; methods?: string[]; expires_in?: number };
    this.challenge = b.challenge;
    this.methods = b.methods ?? [];
    this.expiresIn = b.expires_in ?? 0;
  }
}

function isMFARequired(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return b['mfa_required'] === true && typeof b['challenge'] === 'string';
}

/** 403: valid credentials lacking a permission or rank. */
export class PermissionDeniedError extends PuguhAPIError {
  /** The permission named by `Missing permission: organization.members.create`, or null for other refusals. */
  get missingPermission(): string | null {
    const m = /^Missing permission: (\S+)$/.exec(this.detail);
    return m ? m[1]! : null;
  }
}

/**
 * 403 from `auth.login` when an organization of the user requires a second factor, its grace period is
 * over and the user has none: the body has `mfa_enrollment_required: true` and a `challenge`. Show
 * `auth.beginLoginEnrollment(err.challenge)`, then finish with `auth.completeLoginEnrollment(err.challenge, code)`.
 */
export class MFAEnrollmentRequiredError extends PermissionDeniedError {
  /** The enrolment's challenge; it lives `expiresIn` seconds. */
  readonly challenge: string;
  readonly expiresIn: number;
  /** The organizations that require it: `{id, name, enforced_from}`. */
  readonly organizations: { id: string; name: string; enforced_from: string }[];
  constructor(response: ResponseInfo, body: unknown, detail: string) {
    super(response, body, detail);
    const b = body as { challenge: string; expires_in?: number; organizations?: { id: string; name: string; enforced_from: string }[] };
    this.challenge = b.challenge;
    this.expiresIn = b.expires_in ?? 0;
    this.organizations = b.organizations ?? [];
  }
}

function isMFAEnrollmentRequired(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  return b['mfa_enrollment_required'] === true && typeof b['challenge'] === 'string';
}

/** 404: no such object, or one of another organization. */
export class NotFoundError extends PuguhAPIError {}

/** 409: the request conflicts with the current state (email registered, last owner, already a member). */
export class ConflictError extends PuguhAPIError {}

/** 422: the request failed validation; `issues` is the body's `detail` list. */
export class ValidationError extends PuguhAPIError {
  readonly issues: ValidationIssue[];
  constructor(response: ResponseInfo, body: unknown, issues: ValidationIssue[], detail?: string) {
    super(response, body, detail ?? issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
    this.issues = issues;
  }
  /** The issue at a location, e.g. `issueAt('body', 'email')`. */
  issueAt(...loc: (string | number)[]): ValidationIssue | undefined {
    return this.issues.find((i) => i.loc.length === loc.length && i.loc.every((p, n) => p === loc[n]));
  }
}

/** 429: a rate limit is spent. Wait `retryAfter` seconds. */
export class RateLimitError extends PuguhAPIError {
  /** Retry-After, in seconds (null if the server sent none). */
  get retryAfter(): number | null {
    return this.response.retryAfter;
  }
  get limit(): number | null {
    return this.rateLimit?.limit ?? null;
  }
  get remaining(): number | null {
    return this.rateLimit?.remaining ?? null;
  }
  /** Unix second at which the budget is whole again. */
  get reset(): number | null {
    return this.rateLimit?.reset ?? null;
  }
}

/** 5xx: the server failed or a dependency is down. A 503 may carry Retry-After. */
export class ServerError extends PuguhAPIError {
  get retryAfter(): number | null {
    return this.response.retryAfter;
  }
}

/**
 * An OAuth 2.0 endpoint's error answer (RFC 6749 §5.2): `{"error":"invalid_grant","error_description":"…"}`,
 * or a callback that came back with `error=access_denied`. `status` is 0 for a callback error.
 */
export class OAuthError extends PuguhError {
  readonly status: number;
  /** The RFC 6749 error code: invalid_grant, invalid_client, access_denied, … */
  readonly error: string;
  readonly errorDescription: string | null;
  readonly response: ResponseInfo | null;
  constructor(status: number, error: string, errorDescription: string | null, response: ResponseInfo | null) {
    super(errorDescription ? `${error}: ${errorDescription}` : error);
    this.status = status;
    this.error = error;
    this.errorDescription = errorDescription;
    this.response = response;
  }
}

/**
 * A resource server's refusal of a request's token (RFC 6750 §3.1), from verifyAccessToken or
 * bearerToken. `code` and the status to answer with:
 * `missing_token` 401 (no credentials: the challenge names no error), `invalid_request` 400
 * (a malformed Authorization header), `invalid_token` 401, `insufficient_scope` 403.
 * `wwwAuthenticate()` is the header value to send back.
 */
export class TokenVerificationError extends PuguhError {
  readonly code: TokenErrorCode;
  readonly status: 400 | 401 | 403;
  /** The scopes required, for insufficient_scope. */
  readonly scopes: string[];
  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown; scopes?: string[] }) {
    super(message, options);
    this.code = code;
    this.status = code === 'invalid_request' ? 400 : code === 'insufficient_scope' ? 403 : 401;
    this.scopes = options?.scopes ?? [];
  }
  /** The WWW-Authenticate value for the answer (RFC 6750 §3). Pass the realm you want named. */
  wwwAuthenticate(realm = 'api'): string {
    const q = (s: string) => s.replace(/["\\]/g, '');
    let v = `Bearer realm="${q(realm)}"`;
    if (this.code === 'missing_token') return v;
    v += `, error="${this.code}"`;
    if (this.code === 'insufficient_scope' && this.scopes.length > 0) v += `, scope="${q(this.scopes.join(' '))}"`;
    return v;
  }
}

export type TokenErrorCode = 'missing_token' | 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export function isInvalidTokenChallenge(header: string | null): boolean {
  if (!header) return false;
  return /^\s*bearer\b/i.test(header) && /\berror\s*=\s*"?invalid_token"?/i.test(header);
}

function isIssueList(v: unknown): v is ValidationIssue[] {
  return (
    Array.isArray(v) &&
    v.every((i) => typeof i === 'object' && i !== null && Array.isArray((i as ValidationIssue).loc) && typeof (i as ValidationIssue).msg === 'string')
  );
}

/** The error for an HTTP answer with an error status. */
export function errorFromResponse(response: ResponseInfo, body: unknown): PuguhAPIError {
  const raw = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : undefined;
  if (response.status === 422 && isIssueList(raw)) {
    return new ValidationError(response, body, raw.map((i) => ({ loc: i.loc, msg: i.msg, type: String(i.type ?? '') })));
  }
  let detail: string;
  if (typeof raw === 'string') detail = raw;
  else if (typeof body === 'string') detail = body.trim().slice(0, 200);
  else detail = '';
  const s = response.status;
  if (s === 400) return new BadRequestError(response, body, detail);
  if (s === 401) return isMFARequired(body) ? new MFARequiredError(response, body, detail) : new AuthenticationError(response, body, detail);
  if (s === 403) return isMFAEnrollmentRequired(body) ? new MFAEnrollmentRequiredError(response, body, detail) : new PermissionDeniedError(response, body, detail);
  if (s === 404) return new NotFoundError(response, body, detail);
  if (s === 409) return new ConflictError(response, body, detail);
  if (s === 422) return new ValidationError(response, body, [], detail);
  if (s === 429) return new RateLimitError(response, body, detail);
  if (s >= 500) return new ServerError(response, body, detail);
  return new PuguhAPIError(response, body, detail);
}
