import { APIPromise } from '../api-promise.js';
import { AuthenticationError } from '../errors.js';
import type { RequestOptions, Transport } from '../core.js';
import type { LoginRequest, MFARequest, RegisterRequest, Registration, TokenPair } from '../types.js';

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

  #storing(p: APIPromise<TokenPair>): APIPromise<TokenPair> {
    return new APIPromise(
      p.withResponse().then(async (r) => {
        await this.#t.tokens.store(r.data);
        return r;
      }),
    );
  }
}
