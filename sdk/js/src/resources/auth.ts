import { APIPromise } from '../api-promise.js';
import { AuthenticationError } from '../errors.js';
import type { RequestOptions, Transport } from '../core.js';
import type {
  Accepted,
  EmailRequest,
  EmailVerification,
  EnrolledTokenPair,
  LoginRequest,
  MFARequest,
  TOTPEnrollment,
  PasswordResetRequest,
  RegisterRequest,
  Registration,
  TokenPair,
  VerifyEmailRequest,
} from '../types.js';

/**
 * The REST sign-in flow, with the client as the session: login stores the token pair, every
 * later call sends its access token, an expired one is refreshed with the stored refresh token
 * (and the rotated refresh token stored), logout ends it.
 */
export class AuthResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** POST /api/v1/auth/register: a user and their personal organization. Does not sign in. */
  register(body: RegisterRequest, options?: RequestOptions): APIPromise<Registration> {
    return this.#t.request({ operationId: 'register', body, options });
  }

  /** POST /api/v1/auth/login. The client keeps the pair and acts as the user from now on. */
  login(body: LoginRequest, options?: RequestOptions): APIPromise<TokenPair> {
    return this.#storing(this.#t.request<TokenPair>({ operationId: 'login', body, options }));
  }

  /**
   * POST /api/v1/auth/mfa: answers a login's `MFARequiredError` with a TOTP code or a recovery code.
   * Like login, the client keeps the pair and acts as the user from now on. A wrong or used code is an
   * AuthenticationError ("Invalid authentication code"); an expired or used challenge one that says to sign in again.
   */
  completeLogin(challenge: string, code: string, options?: RequestOptions): APIPromise<TokenPair> {
    const body: MFARequest = { challenge, code };
    return this.#storing(this.#t.request<TokenPair>({ operationId: 'completeLogin', body, options }));
  }

  /**
   * POST /api/v1/auth/mfa/enroll: the authenticator-app enrolment of a login's
   * `MFAEnrollmentRequiredError` (an organization requires a second factor, its grace period is over).
   */
  beginLoginEnrollment(challenge: string, options?: RequestOptions): APIPromise<TOTPEnrollment> {
    return this.#t.request({ operationId: 'beginLoginEnrollment', body: { challenge }, options });
  }

  /**
   * POST /api/v1/auth/mfa/enroll/confirm: turns the app on with its first code and finishes the login.
   * Like login, the client keeps the pair; the answer carries the recovery codes, this once.
   */
  completeLoginEnrollment(challenge: string, code: string, options?: RequestOptions): APIPromise<EnrolledTokenPair> {
    const body: MFARequest = { challenge, code };
    return this.#storing(this.#t.request<EnrolledTokenPair>({ operationId: 'completeLoginEnrollment', body, options }));
  }

  /**
   * POST /api/v1/auth/refresh with the session's refresh token (or the one given). The new pair
   * replaces the stored one: the old refresh token is used up.
   */
  refresh(refreshToken?: string, options?: RequestOptions): APIPromise<TokenPair> {
    const token = refreshToken ?? this.#t.tokens.refreshToken;
    if (token === undefined) {
      return new APIPromise(Promise.reject(new TypeError('auth.refresh: no refresh token: log in first, or pass one')));
    }
    return this.#storing(this.#t.request<TokenPair>({ operationId: 'refresh', body: { refresh_token: token }, options }));
  }

  /**
   * POST /api/v1/auth/logout: the access token and its whole refresh family stop working. The
   * client forgets its tokens once the server has answered (also when it answers 401: the token
   * was dead already).
   */
  logout(options?: RequestOptions): APIPromise<void> {
    const call = this.#t.request<void>({ operationId: 'logout', options });
    return new APIPromise(
      call.withResponse().then(
        (r) => {
          this.#t.tokens.clear();
          return r;
        },
        (err: unknown) => {
          if (err instanceof AuthenticationError) this.#t.tokens.clear();
          throw err;
        },
      ),
    );
  }

  /** POST /api/v1/auth/verify-email: confirm an address with the token of the link mailed to it (works once). */
  verifyEmail(body: VerifyEmailRequest, options?: RequestOptions): APIPromise<EmailVerification> {
    return this.#t.request({ operationId: 'verifyEmail', body, options });
  }

  /** POST /api/v1/auth/verify-email/resend: a new confirmation link; the same answer for every address. */
  resendVerification(body: EmailRequest, options?: RequestOptions): APIPromise<Accepted> {
    return this.#t.request({ operationId: 'resendVerification', body, options });
  }

  /** POST /api/v1/auth/password-reset: mail a reset link; the same answer for every address. */
  requestPasswordReset(body: EmailRequest, options?: RequestOptions): APIPromise<Accepted> {
    return this.#t.request({ operationId: 'requestPasswordReset', body, options });
  }

  /**
   * POST /api/v1/auth/password-reset/confirm: set a new password with a reset link's token. Every
   * session and refresh family of the user ends.
   */
  confirmPasswordReset(body: PasswordResetRequest, options?: RequestOptions): APIPromise<void> {
    return this.#t.request<void>({ operationId: 'confirmPasswordReset', body, options });
  }

  #storing<T extends TokenPair>(p: APIPromise<T>): APIPromise<T> {
    return new APIPromise(
      p.withResponse().then(async (r) => {
        await this.#t.tokens.store(r.data);
        return r;
      }),
    );
  }
}
