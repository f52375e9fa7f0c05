import { Transport, TokenManager, type FetchLike } from './core.js';
import { readEnv } from './env.js';
import type { ResponseInfo } from './response.js';
import type { TokenPair } from './types.js';
import { APIKeysResource } from './resources/api-keys.js';
import { ApplicationsResource } from './resources/applications.js';
import { AuthResource } from './resources/auth.js';
import { HealthResource } from './resources/health.js';
import { IamResource } from './resources/iam.js';
import { OrganizationsResource } from './resources/organizations.js';
import { InvitationsResource } from './resources/invitations.js';
import { ServiceAccountsResource } from './resources/service-accounts.js';
import { AuditResource } from './resources/audit.js';
import { MFAResource } from './resources/mfa.js';

export interface PuguhClientOptions {
  /**
   * Where Puguh is, e.g. `https://id.example.com` or `http://localhost:8080` (no `/api/v1`).
   * Default: the PUGUH_BASE_URL environment variable. One of the two is required.
   */
  baseUrl?: string | undefined;

  /** An API key (`pgh_…`), sent as X-API-Key. Requires organizationId. */
  apiKey?: string | undefined;
  /** The organization to act in (X-Organization-ID): required with an API key, optional with a token. */
  organizationId?: string | undefined;
  /** The application of application-scoped operations (X-Application-ID): grants. */
  applicationId?: string | undefined;

  /** An access token (Bearer JWT) from a login, a refresh or an OAuth grant. */
  accessToken?: string | undefined;
  /**
   * Called when the server refuses the access token as invalid or expired (401 with
   * `error="invalid_token"`): return a new access token and the request is sent once more with it.
   * Called once for all the calls that failed together. Return null to give up (the 401 is thrown);
   * an error it throws reaches every waiting caller as is.
   */
  onTokenExpired?: (() => Promise<string | null | undefined> | string | null | undefined) | undefined;
  /**
   * A refresh token (from POST /api/v1/auth/login): without onTokenExpired, the client refreshes an
   * expired access token with it by itself and keeps the rotated refresh token.
   */
  refreshToken?: string | undefined;
  /** Called with every pair the client stores (login, refresh): persist it if sessions outlive the process. */
  onTokens?: ((tokens: TokenPair) => void | Promise<void>) | undefined;

  /** The fetch to use (default: globalThis.fetch). */
  fetch?: FetchLike;
  /** Milliseconds each HTTP attempt may take. Default 30 000; 0 for none. */
  timeout?: number;
  /** How many times to retry a 429 or 503 after its Retry-After. Default 0: retrying is opt-in. */
  maxRetries?: number;
  /** The longest wait before a retry, in milliseconds; a longer Retry-After is thrown at once. Default 60 000. */
  maxRetryDelay?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Called with every HTTP response (rate-limit headers, request id, status), errors included. */
  onResponse?: ((info: ResponseInfo) => void) | undefined;
}

/** The Puguh REST API. */
export class PuguhClient {
  readonly baseUrl: string;
  readonly health: HealthResource;
  readonly auth: AuthResource;
  readonly organizations: OrganizationsResource;
  readonly iam: IamResource;
  readonly audit: AuditResource;
  /** The calling user's own second factors. */
  readonly mfa: MFAResource;
  readonly invitations: InvitationsResource;
  readonly apiKeys: APIKeysResource;
  readonly serviceAccounts: ServiceAccountsResource;
  readonly applications: ApplicationsResource;
  readonly #transport: Transport;

  constructor(options: PuguhClientOptions = {}) {
    const baseUrl = options.baseUrl ?? readEnv('PUGUH_BASE_URL');
    if (!baseUrl) {
      throw new TypeError('PuguhClient: no baseUrl: pass { baseUrl } or set PUGUH_BASE_URL (e.g. http://localhost:8080)');
    }
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch {
      throw new TypeError(`PuguhClient: baseUrl ${JSON.stringify(baseUrl)} is not an absolute URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new TypeError(`PuguhClient: baseUrl must be http(s), not ${parsed.protocol}`);
    }
    if (options.apiKey && options.accessToken) {
      throw new TypeError('PuguhClient: pass apiKey or accessToken, not both (the server refuses both on one request)');
    }
    if (options.apiKey && !options.organizationId) {
      throw new TypeError('PuguhClient: an apiKey needs its organizationId (X-Organization-ID)');
    }
    const fetchFn = options.fetch ?? (globalThis.fetch ? globalThis.fetch.bind(globalThis) : undefined);
    if (!fetchFn) throw new TypeError('PuguhClient: no fetch in this environment: pass { fetch }');

    this.baseUrl = baseUrl.replace(/\/+$/, '');
    const tokens = new TokenManager({
      accessToken: options.accessToken,
      refreshToken: options.refreshToken,
      onTokenExpired: options.onTokenExpired,
      onTokens: options.onTokens,
    });
    this.#transport = new Transport(
      {
        baseUrl: this.baseUrl,
        fetch: fetchFn,
        timeout: options.timeout ?? 30_000,
        maxRetries: options.maxRetries ?? 0,
        maxRetryDelay: options.maxRetryDelay ?? 60_000,
        headers: { ...options.headers },
        apiKey: options.apiKey || undefined,
        organizationId: options.organizationId || undefined,
        applicationId: options.applicationId || undefined,
        onResponse: options.onResponse,
      },
      tokens,
    );
    this.health = new HealthResource(this.#transport);
    this.auth = new AuthResource(this.#transport);
    this.organizations = new OrganizationsResource(this.#transport);
    this.iam = new IamResource(this.#transport);
    this.audit = new AuditResource(this.#transport);
    this.mfa = new MFAResource(this.#transport);
    this.invitations = new InvitationsResource(this.#transport);
    this.apiKeys = new APIKeysResource(this.#transport);
    this.serviceAccounts = new ServiceAccountsResource(this.#transport);
    this.applications = new ApplicationsResource(this.#transport);
    tokens.useSessionRefresh((refreshToken) => this.auth.refresh(refreshToken).then((pair) => pair));
  }

  /** The access token the client sends now (after a login or a refresh, the new one). */
  get accessToken(): string | undefined {
    return this.#transport.tokens.accessToken;
  }

  /** The refresh token the client holds (rotated on every refresh). */
  get refreshToken(): string | undefined {
    return this.#transport.tokens.refreshToken;
  }
}
