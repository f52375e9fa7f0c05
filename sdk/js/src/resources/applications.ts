import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise } from '../pagination.js';
import type { Application, CreateApplicationRequest, Grant, RotatedSecret, UpdateApplicationRequest } from '../types.js';

/**
 * /api/v1/applications/grants: the consents users gave one application. The application is
 * X-Application-ID: `applicationId` of the call, else of the client.
 */
export class GrantsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listGrants. */
  list(options?: RequestOptions): PagePromise<Grant> {
    return this.#t.list({ operationId: 'listGrants', options, application: true });
  }

  /** revokeGrant: the user's consent and their tokens for the application. */
  revoke(userId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'revokeGrant', path: { user_id: userId }, options, application: true });
  }
}

/** /api/v1/applications: the organization's OAuth clients. */
export class ApplicationsResource {
  readonly #t: Transport;
  readonly grants: GrantsResource;
  constructor(t: Transport) {
    this.#t = t;
    this.grants = new GrantsResource(t);
  }

  /** listApplications. */
  list(options?: RequestOptions): PagePromise<Application> {
    return this.#t.list({ operationId: 'listApplications', options });
  }

  /** createApplication: a confidential client's `client_secret` is in this answer only. */
  create(body: CreateApplicationRequest, options?: RequestOptions): APIPromise<Application> {
    return this.#t.request({ operationId: 'createApplication', body, options });
  }

  /** getApplication. */
  get(applicationId: string, options?: RequestOptions): APIPromise<Application> {
    return this.#t.request({ operationId: 'getApplication', path: { id: applicationId }, options });
  }

  /** updateApplication: only the fields sent change. */
  update(applicationId: string, body: UpdateApplicationRequest, options?: RequestOptions): APIPromise<Application> {
    return this.#t.request({ operationId: 'updateApplication', path: { id: applicationId }, body, options });
  }

  /** deleteApplication: revokes every token it was issued. */
  delete(applicationId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'deleteApplication', path: { id: applicationId }, options });
  }

  /** rotateApplicationSecret: the old secret stops at once; 409 for public clients. */
  rotateSecret(applicationId: string, options?: RequestOptions): APIPromise<RotatedSecret> {
    return this.#t.request({ operationId: 'rotateApplicationSecret', path: { id: applicationId }, options });
  }
}
