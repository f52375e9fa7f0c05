import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise } from '../pagination.js';
import type { Connection, CreateConnectionRequest, UpdateConnectionRequest } from '../types.js';

/** /api/v1/organizations/{id}/connections: the organization's own identity providers (owners and admins). */
export class ConnectionsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listConnections: every connection of the organization; never the client secret. */
  list(organizationId: string, options?: RequestOptions): PagePromise<Connection> {
    return this.#t.list({ operationId: 'listConnections', path: { id: organizationId }, options });
  }

  /** createConnection: connect an OpenID Connect identity provider for the organization's domains. */
  create(organizationId: string, body: CreateConnectionRequest, options?: RequestOptions): APIPromise<Connection> {
    return this.#t.request({ operationId: 'createConnection', path: { id: organizationId }, body, options });
  }

  /** getConnection. */
  get(organizationId: string, connectionId: string, options?: RequestOptions): APIPromise<Connection> {
    return this.#t.request({ operationId: 'getConnection', path: { id: organizationId, connection_id: connectionId }, options });
  }

  /** updateConnection: change the fields sent (a client_secret replaces the stored one). */
  update(organizationId: string, connectionId: string, body: UpdateConnectionRequest, options?: RequestOptions): APIPromise<Connection> {
    return this.#t.request({ operationId: 'updateConnection', path: { id: organizationId, connection_id: connectionId }, body, options });
  }

  /** deleteConnection: disconnect the identity provider. */
  delete(organizationId: string, connectionId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'deleteConnection', path: { id: organizationId, connection_id: connectionId }, options });
  }
}
