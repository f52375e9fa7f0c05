import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise } from '../pagination.js';
import type { APIKey, APIKeyRequest, CreatedAPIKey, RotateRequest, RotatedAPIKey } from '../types.js';

/** /api/v1/api-keys. */
export class APIKeysResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listAPIKeys: the organization's keys that are not revoked; never a secret. */
  list(options?: RequestOptions): PagePromise<APIKey> {
    return this.#t.list({ operationId: 'listAPIKeys', options });
  }

  /** createAPIKey: a key for the calling user (users only). `key` is the secret, in this answer only. */
  create(body: APIKeyRequest, options?: RequestOptions): APIPromise<CreatedAPIKey> {
    return this.#t.request({ operationId: 'createAPIKey', body, options });
  }

  /** revokeAPIKey: it stops working at once. */
  revoke(apiKeyId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'revokeAPIKey', path: { id: apiKeyId }, options });
  }

  /**
   * rotateAPIKey: a new key with the same name, role and permissions (`key` in this answer only); the old one
   * works until `replaced_key_ends_at` (`overlap`: "24h" by default, at most "168h", "0s" at once).
   */
  rotate(apiKeyId: string, body: RotateRequest = {}, options?: RequestOptions): APIPromise<RotatedAPIKey> {
    return this.#t.request({ operationId: 'rotateAPIKey', path: { id: apiKeyId }, body, options });
  }
}
