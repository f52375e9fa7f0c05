// Offline verification of Puguh access tokens for resource servers: RS256
// JWTs with typ at+jwt (RFC 9068), checked against the issuer's JWKS, which
// jose fetches, caches, and fetches again on an unknown kid (after a cooldown,
// so a flood of forged kids cannot turn into a flood of JWKS requests).
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload, type RemoteJWKSet } from 'jose';
import { PuguhConnectionError, TokenVerificationError } from './errors.js';
import type { FetchLike } from './core.js';
import { readEnv } from './env.js';

/** The claims of a Puguh access token (docs/identity.md, docs/oauth.md). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id?: string | undefined;
  /** Space-separated granted scopes. */
  scope?: string | undefined;
  /** The organization the token acts in (for browser grants: the application's). */
  org_id?: string | undefined;
  /** The refresh family. */
  sid?: string | undefined;
  /** "user" or "service_account" for tokens of Puguh's REST API. */
  kind?: string | undefined;
}

export interface JWKSOptions {
  /** Milliseconds after a fetch before an unknown kid may fetch again. Default 30 000. */
  cooldownDuration?: number | undefined;
  /** Milliseconds the fetched keys are trusted without fetching. Default 600 000. */
  cacheMaxAge?: number | undefined;
  /** Milliseconds a JWKS fetch may take. Default 5 000. */
  timeoutDuration?: number | undefined;
}

export interface VerifierOptions {
  /** The issuer (`iss`) exactly. Default: PUGUH_ISSUER, else PUGUH_BASE_URL. */
  issuer?: string | undefined;
  /**
   * Audiences the token must name (any one): `<issuer>/api` for tokens of Puguh's REST API, the
   * application's client_id for tokens an application got through the code flow.
   */
  audience: string | string[];
  /** Default: `<issuer>/.well-known/jwks.json`. */
  jwksUri?: string | undefined;
  /** Seconds of leeway for exp, nbf and iat. Default 30 (as Puguh's own API). */
  clockTolerance?: number | undefined;
  jwks?: JWKSOptions | undefined;
  /** The fetch for the JWKS (default: globalThis.fetch). */
  fetch?: FetchLike | undefined;
}

/** What one verification checks beyond the verifier's settings. */
export interface TokenCheck {
  /** Scopes the token must all hold (`scope` claim). */
  scopes?: string[] | undefined;
  /** The time to check exp, nbf and iat against (default: now). */
  now?: Date | undefined;
}

export interface VerifyOptions extends VerifierOptions, TokenCheck {}

/** Tokens larger than this are refused before any parsing, as Puguh's API does. */
const MAX_TOKEN_BYTES = 16 * 1024;

/** jose errors that mean "this token is no good" (everything else is a JWKS or network failure). */
const TOKEN_ERRORS = new Set([
  joseErrors.JWTClaimValidationFailed.code,
  joseErrors.JWTExpired.code,
  joseErrors.JOSEAlgNotAllowed.code,
  joseErrors.JOSENotSupported.code,
  joseErrors.JWSInvalid.code,
  joseErrors.JWTInvalid.code,
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
  joseErrors.JWSSignatureVerificationFailed.code,
]);

export interface AccessTokenVerifier {
  /** The claims of a valid token holding every scope asked for; TokenVerificationError otherwise. */
  verify(token: string, check?: TokenCheck): Promise<AccessTokenClaims>;
  /**
   * For middleware: take the token from an Authorization header value (`Bearer …`) and verify it.
   * A missing header throws TokenVerificationError with code `missing_token`.
   */
  authenticate(authorization: string | string[] | null | undefined, check?: TokenCheck): Promise<AccessTokenClaims>;
  /** The jose key set (reload(), coolingDown, fresh, jwks()). */
  readonly keySet: RemoteJWKSet;
}

/** The token of an `Authorization: Bearer …` header value (RFC 6750 §2.1). */
export function bearerToken(authorization: string | string[] | null | undefined): string {
  if (Array.isArray(authorization)) {
    if (authorization.length !== 1) throw new TokenVerificationError('invalid_request', 'exactly one Authorization header is required');
    authorization = authorization[0];
  }
  if (authorization === undefined || authorization === null || authorization.trim() === '') {
    throw new TokenVerificationError('missing_token', 'no access token');
  }
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  if (!m) throw new TokenVerificationError('invalid_request', 'the Authorization header is not "Bearer <token>"');
  return m[1]!;
}

function configuredIssuer(issuer: string | undefined): string {
  const v = issuer ?? readEnv('PUGUH_ISSUER') ?? readEnv('PUGUH_BASE_URL');
  if (!v) throw new TypeError('no issuer: pass { issuer } or set PUGUH_ISSUER');
  return v.replace(/\/+$/, '');
}

function checkScopes(claims: AccessTokenClaims, required: string[] | undefined): void {
  if (!required || required.length === 0) return;
  const granted = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []);
  const missing = required.filter((s) => !granted.has(s));
  if (missing.length > 0) {
    throw new TokenVerificationError('insufficient_scope', `the token lacks the scope ${missing.join(' ')}`, { scopes: required });
  }
}

function keySetFor(jwksUri: string, jwks: JWKSOptions | undefined, fetchFn: FetchLike | undefined): RemoteJWKSet {
  const opts: Parameters<typeof createRemoteJWKSet>[1] = {
    cooldownDuration: jwks?.cooldownDuration ?? 30_000,
    cacheMaxAge: jwks?.cacheMaxAge ?? 600_000,
    timeoutDuration: jwks?.timeoutDuration ?? 5_000,
  };
  if (fetchFn) opts[customFetch] = (url, init) => fetchFn(url, init);
  return createRemoteJWKSet(new URL(jwksUri), opts);
}

/**
 * A verifier with its own JWKS cache: make one per issuer and audience at start-up and share it.
 */
export function createAccessTokenVerifier(options: VerifierOptions): AccessTokenVerifier {
  const issuer = configuredIssuer(options.issuer);
  if (!options.audience || (Array.isArray(options.audience) && options.audience.length === 0)) {
    throw new TypeError('createAccessTokenVerifier: audience is required');
  }
  const jwksUri = options.jwksUri ?? `${issuer}/.well-known/jwks.json`;
  const keySet = keySetFor(jwksUri, options.jwks, options.fetch);
  const clockTolerance = options.clockTolerance ?? 30;

  const verify = async (token: string, check?: TokenCheck): Promise<AccessTokenClaims> => {
    if (typeof token !== 'string' || token === '') throw new TokenVerificationError('missing_token', 'no access token');
    if (token.length > MAX_TOKEN_BYTES) throw new TokenVerificationError('invalid_token', 'the token is too large');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        algorithms: ['RS256'],
        typ: 'at+jwt',
        issuer,
        audience: options.audience,
        clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        ...(check?.now ? { currentDate: check.now } : {}),
      }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && TOKEN_ERRORS.has(code)) {
        throw new TokenVerificationError('invalid_token', (err as Error).message, { cause: err });
      }
      throw new PuguhConnectionError(`could not load the signing keys from ${jwksUri}`, { cause: err });
    }
    const claims = payload as AccessTokenClaims;
    checkScopes(claims, check?.scopes);
    return claims;
  };

  return {
    verify,
    authenticate: (authorization, check) => verify(bearerToken(authorization), check),
    keySet,
  };
}

const MAX_SHARED = 100;
const shared = new Map<string, AccessTokenVerifier>();
const sharedByFetch = new WeakMap<FetchLike, Map<string, AccessTokenVerifier>>();

/**
 * Verify a Puguh access token: RS256, `typ: at+jwt`, issuer, audience, expiry (30 s leeway) and
 * scopes. The JWKS is cached per issuer, audience, options and fetch for the life of the process
 * (at most 100 such caches). Throws TokenVerificationError (`code`, `status`, `wwwAuthenticate()`)
 * for a bad token, and PuguhConnectionError when the keys cannot be fetched.
 */
export function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  const { scopes, now, ...rest } = options;
  let cache = shared;
  if (rest.fetch) {
    cache = sharedByFetch.get(rest.fetch) ?? new Map();
    sharedByFetch.set(rest.fetch, cache);
  }
  const key = JSON.stringify([configuredIssuer(rest.issuer), rest.audience, rest.jwksUri ?? null, rest.clockTolerance ?? null, rest.jwks ?? null]);
  let v = cache.get(key);
  if (!v) {
    v = createAccessTokenVerifier(rest);
    if (cache.size >= MAX_SHARED) cache.delete(cache.keys().next().value!);
    cache.set(key, v);
  }
  return v.verify(token, { scopes, now });
}
