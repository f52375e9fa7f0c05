import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { MFAStatus, RecoveryCodes, RemoveTOTPRequest, TOTPEnrollment } from '../types.js';

/** /api/v1/users/me/mfa: the calling user's own second factors (signed-in users only). */
export class MFAResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** getMfaStatus: which second factors are on. */
  status(options?: RequestOptions): APIPromise<MFAStatus> {
    return this.#t.request({ operationId: 'getMfaStatus', options });
  }

  /** beginTotpEnrollment: a new authenticator-app secret, its otpauth URI and QR code (PNG data URI). */
  beginTotp(options?: RequestOptions): APIPromise<TOTPEnrollment> {
    return this.#t.request({ operationId: 'beginTotpEnrollment', options });
  }

  /** confirmTotpEnrollment: turn the app on with its first code; the ten recovery codes, shown once. */
  confirmTotp(code: string, options?: RequestOptions): APIPromise<RecoveryCodes> {
    return this.#t.request({ operationId: 'confirmTotpEnrollment', body: { code }, options });
  }

  /** removeTotp: turn the app off, with the password and a current code (or a recovery code). */
  removeTotp(body: RemoveTOTPRequest, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'removeTotp', body, options });
  }
}
