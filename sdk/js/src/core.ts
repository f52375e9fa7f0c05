// The transport under every resource: builds the request, sends it with a
// timeout and the caller's AbortSignal, turns error answers into typed
// errors, refreshes an expired access token once, and (when asked) retries
// 429 and 503 after Retry-After.
import { APIPromise, type WithResponse } from './api-promise.js';
import { AuthenticationError, PuguhConnectionError, PuguhTimeoutError, errorFromResponse } from './errors.js';
import { isNode } from './env.js';
import { Page, PagePromise } from './pagination.js';
import { responseInfo, type ResponseInfo } from './response.js';
import { ROUTES, type OperationId } from './routes.js';
import type { TokenPair } from './types.js';
import { VERSION } from './version.js';

/** Options every method accepts as its last argument. */
export interface RequestOptions {
  /** Abort the call (the request, and any wait before a retry). */
  signal?: AbortSignal | undefined;
  /** Milliseconds each HTTP attempt may take, this call only (default: the client's `timeout`). */
  timeout?: number | undefined;
  /** Act in this organization (X-Organization-ID), this call only. */
  organizationId?: string | undefined;
  /** The application of an application-scoped operation (X-Application-ID), this call only. */
  applicationId?: string | undefined;
  /** Retries of a 429 or 503 for this call (default: the client's `maxRetries`). */
  maxRetries?: number | undefined;
  /** Extra headers for this call. */
  headers?: Record<string, string> | undefined;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What the transport needs from the client's options. */
export interface TransportConfig {
  baseUrl: string;
  fetch: FetchLike;
  timeout: number;
  maxRetries: number;
  maxRetryDelay: number;
  headers: Record<string, string>;
  apiKey?: string | undefined;
  organizationId?: string | undefined;
  applicationId?: string | undefined;
  onResponse?: ((info: ResponseInfo) => void) | undefined;
}

/** The client's Bearer credential and how to renew it. */
export interface TokenConfig {
  accessToken?: string | undefined;
  refreshToken?: string | undefined;
  onTokenExpired?: (() => Promise<string | null | undefined> | string | null | undefined) | undefined;
  onTokens?: ((tokens: TokenPair) => void | Promise<void>) | undefined;
}

export interface Call {
  operationId: OperationId;
  path?: Record<string, string>;
  /** An array value repeats the parameter (?type=a&type=b). */
  query?: Record<string, string | number | readonly string[] | undefined>;
  body?: unknown;
  options?: RequestOptions | undefined;
  /** X-Application-ID is required (application-scoped operations). */
  application?: boolean;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves as `p`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  const type = res.headers.get('content-type') ?? '';
  if (/\bjson\b/i.test(type)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** One HTTP exchange with timeout and abort, body read included. */
export async function send(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeout: number,
  signal?: AbortSignal,
): Promise<{ res: Response; body: unknown }> {
  if (signal?.aborted) throw signal.reason;
  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer =
    timeout > 0 && Number.isFinite(timeout)
      ? setTimeout(() => {
          timedOut = true;
          ctrl.abort();
        }, timeout)
      : undefined;
  try {
    const res = await fetchFn(url, { ...init, signal: ctrl.signal });
    const body = await readBody(res);
    return { res, body };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    const where = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
    if (timedOut) throw new PuguhTimeoutError(`timed out after ${timeout} ms: ${where}`, { cause: err });
    throw new PuguhConnectionError(`could not reach Puguh: ${where}`, { cause: err });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Holds the Bearer token and renews it. The rule: a 401 whose WWW-Authenticate says
 * `error="invalid_token"`, answering a request that carried this client's access token, renews
 * the token once (onTokenExpired, else the session's refresh token) and the request is sent once
 * more with the new token. Concurrent calls share one renewal; a call is never retried twice.
 */
export class TokenManager {
  accessToken: string | undefined;
  refreshToken: string | undefined;
  readonly #onTokenExpired: TokenConfig['onTokenExpired'];
  readonly #onTokens: TokenConfig['onTokens'];
  #pending: Promise<string | undefined> | null = null;
  #refreshWithSession: ((refreshToken: string) => Promise<TokenPair>) | null = null;

  constructor(cfg: TokenConfig) {
    this.accessToken = cfg.accessToken || undefined;
    this.refreshToken = cfg.refreshToken || undefined;
    this.#onTokenExpired = cfg.onTokenExpired;
    this.#onTokens = cfg.onTokens;
  }

  /** Wired by the client: how the session refreshes (POST /api/v1/auth/refresh). */
  useSessionRefresh(fn: (refreshToken: string) => Promise<TokenPair>): void {
    this.#refreshWithSession = fn;
  }

  canRenew(): boolean {
    return this.#onTokenExpired !== undefined || this.refreshToken !== undefined;
  }

  /** A renewal in flight, if any (new requests wait for it rather than send a token about to be replaced). */
  get pending(): Promise<string | undefined> | null {
    return this.#pending;
  }

  async store(pair: TokenPair): Promise<void> {
    this.accessToken = pair.access_token;
    if (pair.refresh_token) this.refreshToken = pair.refresh_token;
    await this.#onTokens?.(pair);
  }

  clear(): void {
    this.accessToken = undefined;
    this.refreshToken = undefined;
  }

  /** A session resumed from a refresh token alone gets its access token before its first call. */
  needsFirstToken(): boolean {
    return this.accessToken === undefined && this.refreshToken !== undefined && this.#refreshWithSession !== null;
  }

  /**
   * The token to retry with after `sent` was refused (or to start with, when there is none): the
   * current one if another call already renewed it, else the result of the one shared renewal.
   * undefined: give up.
   */
  tokenAfter(sent: string | undefined): Promise<string | undefined> {
    if (this.accessToken !== undefined && this.accessToken !== sent) return Promise.resolve(this.accessToken);
    if (this.#pending) return this.#pending;
    const p = this.#renew().finally(() => {
      if (this.#pending === p) this.#pending = null;
    });
    this.#pending = p;
    return p;
  }

  async #renew(): Promise<string | undefined> {
    if (this.#onTokenExpired) {
      const t = await this.#onTokenExpired();
      if (typeof t === 'string' && t !== '') {
        this.accessToken = t;
        return t;
      }
      return undefined;
    }
    if (this.refreshToken !== undefined && this.#refreshWithSession) {
      const pair = await this.#refreshWithSession(this.refreshToken);
      return pair.access_token;
    }
    return undefined;
  }
}

export class Transport {
  readonly config: TransportConfig;
  readonly tokens: TokenManager;

  constructor(config: TransportConfig, tokens: TokenManager) {
    this.config = config;
    this.tokens = tokens;
  }

  url(operationId: OperationId, path?: Record<string, string>, query?: Call['query']): string {
    const route = ROUTES[operationId];
    const p = (route.path as string).replace(/\{(\w+)\}/g, (_, name: string) => {
      const v = path?.[name];
      if (v === undefined || v === '') throw new TypeError(`${operationId}: missing path parameter ${name}`);
      return encodeURIComponent(v);
    });
    const u = new URL(this.config.baseUrl + p);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (Array.isArray(v)) for (const item of v) u.searchParams.append(k, item);
      else if (v !== undefined) u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  #headers(call: Call, bearer: string | undefined, hasBody: boolean): Record<string, string> {
    const route = ROUTES[call.operationId];
    const o = call.options ?? {};
    const h: Record<string, string> = { Accept: 'application/json', ...this.config.headers };
    if (isNode()) h['User-Agent'] = `puguh-sdk-js/${VERSION}`;
    if (hasBody) h['Content-Type'] = 'application/json';
    if (route.auth === 'credential') {
      // One credential per request: the server refuses X-API-Key and Authorization together.
      if (bearer !== undefined) h['Authorization'] = `Bearer ${bearer}`;
      else if (this.config.apiKey !== undefined) h['X-API-Key'] = this.config.apiKey;
      const org = o.organizationId ?? this.config.organizationId;
      if (org !== undefined) h['X-Organization-ID'] = org;
    }
    const app = o.applicationId ?? this.config.applicationId;
    if (call.application) {
      if (app === undefined) {
        throw new TypeError(`${call.operationId}: applicationId is required (pass it to the call or to new PuguhClient)`);
      }
      h['X-Application-ID'] = app;
    }
    return { ...h, ...o.headers };
  }

  request<T>(call: Call): APIPromise<T> {
    return new APIPromise(this.#execute<T>(call));
  }

  /** A list call: the body's `items` and `next_cursor` become a Page that fetches the next ones. */
  list<T>(call: Call): PagePromise<T> {
    const fetchPage = async (cursor: string | undefined): Promise<WithResponse<Page<T>>> => {
      const query = { ...(call.query ?? {}) };
      if (cursor !== undefined) query['cursor'] = cursor;
      const r = await this.#execute<{ items: T[]; next_cursor?: string }>({ ...call, query });
      const next = r.data.next_cursor ?? null;
      return { data: new Page<T>(r.data.items, next === '' ? null : next, r.response, (c) => fetchPage(c)), response: r.response };
    };
    const cursor = call.query?.['cursor'];
    return new PagePromise(fetchPage(cursor === undefined ? undefined : String(cursor)));
  }

  async #execute<T>(call: Call): Promise<WithResponse<T>> {
    const route = ROUTES[call.operationId];
    const o = call.options ?? {};
    const url = this.url(call.operationId, call.path, call.query);
    const hasBody = call.body !== undefined;
    const maxRetries = o.maxRetries ?? this.config.maxRetries;
    const timeout = o.timeout ?? this.config.timeout;
    let retries = 0;
    let renewed = false;

    if (route.auth === 'credential' && this.tokens.pending) {
      await untilAborted(this.tokens.pending.catch(() => undefined), o.signal);
    } else if (route.auth === 'credential' && this.tokens.needsFirstToken()) {
      await untilAborted(this.tokens.tokenAfter(undefined), o.signal);
    }

    for (;;) {
      const bearer = route.auth === 'credential' ? this.tokens.accessToken : undefined;
      const init: RequestInit = { method: route.method, headers: this.#headers(call, bearer, hasBody) };
      if (hasBody) init.body = JSON.stringify(call.body);
      const { res, body } = await send(this.config.fetch, url, init, timeout, o.signal);
      const info = responseInfo(call.operationId, route.method, url, res);
      this.config.onResponse?.(info);
      if (res.ok) return { data: body as T, response: info };

      const err = errorFromResponse(info, body);
      if (err instanceof AuthenticationError && bearer !== undefined && !renewed && err.invalidToken && this.tokens.canRenew()) {
        renewed = true;
        const next = await untilAborted(this.tokens.tokenAfter(bearer), o.signal);
        if (next !== undefined) continue;
        throw err;
      }
      if ((res.status === 429 || res.status === 503) && retries < maxRetries) {
        const wait = info.retryAfter !== null ? info.retryAfter * 1000 : Math.min(500 * 2 ** retries, 8000);
        if (wait > this.config.maxRetryDelay) throw err;
        retries++;
        await sleep(wait, o.signal);
        continue;
      }
      throw err;
    }
  }
}
