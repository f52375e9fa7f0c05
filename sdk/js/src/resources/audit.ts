import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise, PageParams } from '../pagination.js';
import type { AuditEvent, AuditEventType } from '../types.js';

/** Filters of GET /api/v1/audit-events, with the page. */
export interface AuditEventParams extends PageParams {
  /** Keep events of these types. */
  type?: AuditEventType[];
  /** Keep events caused by this user, API key or service account id. */
  actor?: string;
  /** Keep events at or after this time (RFC 3339, or a Date). */
  since?: string | Date;
  /** Keep events before this time (RFC 3339, or a Date). */
  until?: string | Date;
}

const time = (t: string | Date | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);

/** /api/v1/audit-events: the organization's audit log. */
export class AuditResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listAuditEvents: a page of the current organization's security events, newest first (audit.read). */
  list(params?: AuditEventParams, options?: RequestOptions): PagePromise<AuditEvent> {
    const { since, until, ...rest } = params ?? {};
    return this.#t.list({ operationId: 'listAuditEvents', query: { ...rest, since: time(since), until: time(until) }, options });
  }
}
