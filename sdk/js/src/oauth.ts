// OAuth 2.0 helpers for applications registered in Puguh (the enterprise SSO
// flow): the authorization URL with PKCE S256 and state, the callback, the
// code exchange, refresh, client credentials and revocation. Web Crypto and
// fetch only, so it runs in browsers (public clients) as in Node.
import { OAuthError, PuguhError, errorFromResponse } from './errors.js';
import { send, type FetchLike } from './core.js';
import { readEnv } from './env.js';
import { responseInfo } from './response.js';

export type TokenEndpointAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'none';

export interface OAuthClientOptions {
  /** Puguh's issuer URL (`iss` of its tokens). Default: PUGUH_ISSUER, else PUGUH_BASE_URL. */
  issuer?: string | undefined;
  /** The application's client_id (its id), or a service account's `sa-…` client_id. */
  clientId: string;
  /** The client secret (`pghs_…`) of a confidential client; none for a public one. */
  clientSecret?: string | undefined;
  /** The registered redirect URI the callback arrives at (exact match). */
  redirectUri?: string | undefined;
  /**
   * How to authenticate at the token endpoint; it must be the application's
   * `token_endpoint_auth_method`. Default: `client_secret_post` with a secret (what applications
   * created through the REST API use, and the API guide's form post), `none` without.
   * Service accounts use `client_secret_basic`.
   */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  fetch?: FetchLike | undefined;
  /** Milliseconds each request may take. Default 30 000. */
  timeout?: number | undefined;
}

/** A token endpoint answer (RFC 6749 §5.1). */
export interface OAuthTokens {
  access_token: string;
  token_type: string;
  expires_in?: number | undefined;
  refresh_token?: string | undefined;
  id_token?: string | undefined;
  scope?: string | undefined;
}

export interface AuthorizationUrlParams {
  /** Scopes to ask for, e.g. `['openid', 'profile', 'read:user']` or `'openid profile'`. */
  scope: string | string[];
  /** Default: 32 random bytes, base64url. Puguh requires at least 8 characters. */
  state?: string | undefined;
  /** Default: 32 random bytes, base64url (RFC 7636 §4.1). */
  codeVerifier?: string | undefined;
  /** OpenID Connect nonce; default: none. */
  nonce?: string | undefined;
  prompt?: 'none' | 'login' | 'consent' | undefined;
  maxAge?: number | undefined;
  /** Default: the client's redirectUri. */
  redirectUri?: string | undefined;
  /** Any other parameter of the authorization request. */
  extraParams?: Record<string, string> | undefined;
}

/** What to keep (in the user's session) until the callback arrives. */
export interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
  nonce?: string | undefined;
  redirectUri: string;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function webCrypto(): Crypto {
  const c = globalThis.crypto;
  if (!c?.subtle || !c.getRandomValues) throw new PuguhError('Web Crypto (globalThis.crypto.subtle) is required');
  return c;
}

/** A random base64url string of `bytes` bytes (CSPRNG). */
export function randomToken(bytes = 32): string {
  return base64url(webCrypto().getRandomValues(new Uint8Array(bytes)));
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export async function codeChallengeS256(codeVerifier: string): Promise<string> {
  const digest = await webCrypto().subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier));
  return base64url(new Uint8Array(digest));
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 §2.3.1 asks it of Basic credentials). */
function formEncode(v: string): string {
  return new URLSearchParams({ v }).toString().slice(2);
}

function timingSafeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

export class OAuthClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string | undefined;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly #secret: string | undefined;
  readonly #fetch: FetchLike;
  readonly #timeout: number;

  constructor(options: OAuthClientOptions) {
    const issuer = options.issuer ?? readEnv('PUGUH_ISSUER') ?? readEnv('PUGUH_BASE_URL');
    if (!issuer) throw new TypeError('OAuthClient: no issuer: pass { issuer } or set PUGUH_ISSUER');
    if (!options.clientId) throw new TypeError('OAuthClient: clientId is required');
    this.issuer = issuer.replace(/\/+$/, '');
    this.clientId = options.clientId;
    this.redirectUri = options.redirectUri;
    this.#secret = options.clientSecret || undefined;
    this.tokenEndpointAuthMethod = options.tokenEndpointAuthMethod ?? (this.#secret ? 'client_secret_post' : 'none');
    if (this.tokenEndpointAuthMethod !== 'none' && !this.#secret) {
      throw new TypeError(`OAuthClient: ${this.tokenEndpointAuthMethod} needs clientSecret`);
    }
    const f = options.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined);
    if (!f) throw new TypeError('OAuthClient: no fetch in this environment: pass { fetch }');
    this.#fetch = f;
    this.#timeout = options.timeout ?? 30_000;
  }

  get authorizationEndpoint(): string {
    return `${this.issuer}/oauth/authorize`;
  }
  get tokenEndpoint(): string {
    return `${this.issuer}/oauth/token`;
  }
  get revocationEndpoint(): string {
    return `${this.issuer}/oauth/revoke`;
  }

  /**
   * The URL to send the browser to (code flow, PKCE S256, state). Keep `state` and `codeVerifier`
   * with the user's session: handleCallback needs them.
   */
  async authorizationUrl(params: AuthorizationUrlParams): Promise<AuthorizationRequest> {
    const redirectUri = params.redirectUri ?? this.redirectUri;
    if (!redirectUri) throw new TypeError('authorizationUrl: redirectUri is required (here or in the client)');
    const state = params.state ?? randomToken();
    const codeVerifier = params.codeVerifier ?? randomToken();
    if (!/^[A-Za-z0-9\-._~]{43,128}$/.test(codeVerifier)) {
      throw new TypeError('authorizationUrl: codeVerifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
    }
    const u = new URL(this.authorizationEndpoint);
    const q = u.searchParams;
    q.set('response_type', 'code');
    q.set('client_id', this.clientId);
    q.set('redirect_uri', redirectUri);
    q.set('scope', Array.isArray(params.scope) ? params.scope.join(' ') : params.scope);
    q.set('state', state);
    q.set('code_challenge', await codeChallengeS256(codeVerifier));
    q.set('code_challenge_method', 'S256');
    if (params.nonce !== undefined) q.set('nonce', params.nonce);
    if (params.prompt !== undefined) q.set('prompt', params.prompt);
    if (params.maxAge !== undefined) q.set('max_age', String(params.maxAge));
    for (const [k, v] of Object.entries(params.extraParams ?? {})) q.set(k, v);
    const req: AuthorizationRequest = { url: u.toString(), state, codeVerifier, redirectUri };
    if (params.nonce !== undefined) req.nonce = params.nonce;
    return req;
  }

  /**
   * The redirect back from Puguh: checks `state` (and `iss`, RFC 9207), throws OAuthError for an
   * `error=` answer (access_denied, login_required, …), and exchanges the code. `callbackUrl` is the
   * full URL, or its path and query (a server's `req.url`), read against the redirect URI.
   */
  async handleCallback(
    callbackUrl: string | URL,
    expected: { state: string; codeVerifier: string; redirectUri?: string | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<OAuthTokens> {
    const redirectUri = expected.redirectUri ?? this.redirectUri;
    const q = new URL(callbackUrl, redirectUri).searchParams;
    const state = q.get('state');
    if (state === null || !timingSafeEqual(state, expected.state)) {
      throw new OAuthError(0, 'invalid_state', 'the callback state does not match the one sent', null);
    }
    const iss = q.get('iss');
    if (iss !== null && iss.replace(/\/+$/, '') !== this.issuer) {
      throw new OAuthError(0, 'invalid_issuer', `the callback came from ${iss}, not ${this.issuer}`, null);
    }
    const error = q.get('error');
    if (error !== null) throw new OAuthError(0, error, q.get('error_description'), null);
    const code = q.get('code');
    if (!code) throw new OAuthError(0, 'invalid_request', 'the callback carries no code', null);
    const exchange: { code: string; codeVerifier: string; redirectUri?: string } = { code, codeVerifier: expected.codeVerifier };
    if (redirectUri !== undefined) exchange.redirectUri = redirectUri;
    return this.exchangeCode(exchange, options);
  }

  /** grant_type=authorization_code (RFC 6749 §4.1.3) with the PKCE verifier. */
  exchangeCode(
    params: { code: string; codeVerifier: string; redirectUri?: string | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<OAuthTokens> {
    const redirectUri = params.redirectUri ?? this.redirectUri;
    if (!redirectUri) return Promise.reject(new TypeError('exchangeCode: redirectUri is required (here or in the client)'));
    return this.#token(
      { grant_type: 'authorization_code', code: params.code, code_verifier: params.codeVerifier, redirect_uri: redirectUri },
      options?.signal,
    );
  }

  /** grant_type=refresh_token. Store the new refresh token: the old one is used up. */
  refresh(
    refreshToken: string,
    params?: { scope?: string | string[] | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<OAuthTokens> {
    const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: refreshToken };
    if (params?.scope !== undefined) form['scope'] = Array.isArray(params.scope) ? params.scope.join(' ') : params.scope;
    return this.#token(form, options?.signal);
  }

  /** grant_type=client_credentials (RFC 6749 §4.4): a service account's (or application's) own token. */
  clientCredentials(
    params?: { scope?: string | string[] | undefined; audience?: string | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<OAuthTokens> {
    const form: Record<string, string> = { grant_type: 'client_credentials' };
    if (params?.scope !== undefined) form['scope'] = Array.isArray(params.scope) ? params.scope.join(' ') : params.scope;
    if (params?.audience !== undefined) form['audience'] = params.audience;
    return this.#token(form, options?.signal);
  }

  /** RFC 7009 revocation of a refresh or access token this client holds. */
  async revoke(
    token: string,
    params?: { tokenTypeHint?: 'access_token' | 'refresh_token' | undefined },
    options?: { signal?: AbortSignal | undefined },
  ): Promise<void> {
    const form: Record<string, string> = { token };
    if (params?.tokenTypeHint) form['token_type_hint'] = params.tokenTypeHint;
    await this.#post('oauth.revoke', this.revocationEndpoint, form, options?.signal);
  }

  #token(form: Record<string, string>, signal?: AbortSignal | undefined): Promise<OAuthTokens> {
    return this.#post('oauth.token', this.tokenEndpoint, form, signal) as Promise<OAuthTokens>;
  }

  async #post(operationId: string, url: string, form: Record<string, string>, signal?: AbortSignal | undefined): Promise<unknown> {
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    const body = new URLSearchParams(form);
    switch (this.tokenEndpointAuthMethod) {
      case 'client_secret_basic':
        headers['Authorization'] = `Basic ${btoa(`${formEncode(this.clientId)}:${formEncode(this.#secret!)}`)}`;
        break;
      case 'client_secret_post':
        body.set('client_id', this.clientId);
        body.set('client_secret', this.#secret!);
        break;
      case 'none':
        body.set('client_id', this.clientId);
        break;
    }
    const { res, body: answer } = await send(this.#fetch, url, { method: 'POST', headers, body: body.toString() }, this.#timeout, signal);
    if (res.ok) return answer;
    const info = responseInfo(operationId, 'POST', url, res);
    const e = answer as { error?: unknown; error_description?: unknown } | undefined;
    if (e && typeof e === 'object' && typeof e.error === 'string') {
      throw new OAuthError(res.status, e.error, typeof e.error_description === 'string' ? e.error_description : null, info);
    }
    throw errorFromResponse(info, answer);
  }
}
