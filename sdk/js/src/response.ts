// What the SDK reads off every HTTP response besides its body.

/**
 * The rate-limit headers of a response (docs/rate-limits.md). Every /api/v1 answer carries them,
 * errors included: an authenticated request shows its organization's budget, an unauthenticated
 * one (a 401 too) the per-IP budget it spent.
 */
export interface RateLimit {
  /** X-RateLimit-Limit: requests a quiet client may send at once in this budget. */
  limit: number;
  /** X-RateLimit-Remaining: requests that would pass right now. */
  remaining: number;
  /** X-RateLimit-Reset: unix second at which the budget is whole again. */
  reset: number;
}

/** One HTTP response of a call: status, headers, rate limit and request id. */
export interface ResponseInfo {
  /** The operationId of provider/rest/openapi.yaml this call ran (or "oauth.token" and the like). */
  operationId: string;
  method: string;
  /** The URL without its query string. */
  url: string;
  status: number;
  headers: Headers;
  /** null when the response carried no rate-limit headers. */
  rateLimit: RateLimit | null;
  /** Retry-After in seconds, when the response carried one. */
  retryAfter: number | null;
  /** X-Request-Id, to quote when asking the operator about a request. */
  requestId: string | null;
}

function intHeader(headers: Headers, name: string): number | null {
  const v = headers.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

export function parseRateLimit(headers: Headers): RateLimit | null {
  const limit = intHeader(headers, 'x-ratelimit-limit');
  const remaining = intHeader(headers, 'x-ratelimit-remaining');
  const reset = intHeader(headers, 'x-ratelimit-reset');
  if (limit === null || remaining === null || reset === null) return null;
  return { limit, remaining, reset };
}

/** Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | null {
  const v = headers.get('retry-after');
  if (v === null) return null;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

export function responseInfo(operationId: string, method: string, url: string, res: Response): ResponseInfo {
  const u = new URL(url);
  u.search = '';
  return {
    operationId,
    method,
    url: u.toString(),
    status: res.status,
    headers: res.headers,
    rateLimit: parseRateLimit(res.headers),
    retryAfter: parseRetryAfter(res.headers),
    requestId: res.headers.get('x-request-id'),
  };
}
