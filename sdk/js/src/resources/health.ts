import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { Health } from '../types.js';

/** GET /api/v1/health. */
export class HealthResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /**
   * Whether Puguh's database (and Redis) answer. With credentials the server also checks them and
   * echoes the caller as `principal`: the guide's "Test API Key". A 503 throws ServerError whose
   * `body` is the Health object.
   */
  check(options?: RequestOptions): APIPromise<Health> {
    return this.#t.request({ operationId: 'getHealth', options });
  }
}
