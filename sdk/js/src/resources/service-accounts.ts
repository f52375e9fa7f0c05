import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise } from '../pagination.js';
import type {
  APIKeyRequest,
  CreatedAPIKey,
  CreatedServiceAccount,
  CreateServiceAccountRequest,
  RotatedServiceAccountSecret,
  RotateRequest,
  ServiceAccount,
} from '../types.js';

/** /api/v1/service-accounts. Their tokens come from OAuthClient.clientCredentials. */
export class ServiceAccountsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listServiceAccounts; never a secret. */
  list(options?: RequestOptions): PagePromise<ServiceAccount> {
    return this.#t.list({ operationId: 'listServiceAccounts', options });
  }

  /** createServiceAccount (users only). `client_secret` is in this answer only. */
  create(body: CreateServiceAccountRequest, options?: RequestOptions): APIPromise<CreatedServiceAccount> {
    return this.#t.request({ operationId: 'createServiceAccount', body, options });
  }

  /** getServiceAccount. */
  get(serviceAccountId: string, options?: RequestOptions): APIPromise<ServiceAccount> {
    return this.#t.request({ operationId: 'getServiceAccount', path: { id: serviceAccountId }, options });
  }

  /** deleteServiceAccount: revokes its keys and tokens too. */
  delete(serviceAccountId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'deleteServiceAccount', path: { id: serviceAccountId }, options });
  }

  /** createServiceAccountAPIKey: a key that acts as the account (users only); same body as apiKeys.create. */
  createApiKey(serviceAccountId: string, body: APIKeyRequest, options?: RequestOptions): APIPromise<CreatedAPIKey> {
    return this.#t.request({ operationId: 'createServiceAccountAPIKey', path: { id: serviceAccountId }, body, options });
  }

  /**
   * rotateServiceAccountSecret: a new client secret (in this answer only); the previous one works until
   * `previous_secret_ends_at` (`overlap`: "24h" by default, at most "168h", "0s" at once).
   */
  rotateSecret(serviceAccountId: string, body: RotateRequest = {}, options?: RequestOptions): APIPromise<RotatedServiceAccountSecret> {
    return this.#t.request({ operationId: 'rotateServiceAccountSecret', path: { id: serviceAccountId }, body, options });
  }
}
