import { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise, PageParams } from '../pagination.js';
import type { ChangeEmailRequest, ChangePasswordRequest, Consent, DeleteMeRequest, EmailChange, Me, Member, TokenPair, UserState } from '../types.js';

/** /api/v1/users/me/consents: the signed-in user's connected applications. */
export class ConsentsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listMyConsents: the applications the user consented to, with scopes and last use. */
  list(options?: RequestOptions): PagePromise<Consent> {
    return this.#t.list({ operationId: 'listMyConsents', options });
  }

  /** revokeMyConsent: the application's tokens stop working; its next authorization asks again. */
  revoke(applicationId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'revokeMyConsent', path: { application_id: applicationId }, options });
  }
}

/** /api/v1/iam/users: the users of the current organization. */
export class UsersResource {
  readonly #t: Transport;
  readonly consents: ConsentsResource;
  constructor(t: Transport) {
    this.#t = t;
    this.consents = new ConsentsResource(t);
  }

  /** listUsers: a page of the current organization's members (iam.users.read). */
  list(params?: PageParams, options?: RequestOptions): PagePromise<Member> {
    return this.#t.list({ operationId: 'listUsers', query: { ...params }, options });
  }

  /** getMe: the caller: a user's profile, or the API key or service account. */
  me(options?: RequestOptions): APIPromise<Me> {
    return this.#t.request({ operationId: 'getMe', options });
  }

  /** disableUser: ends the user's sessions and tokens (platform operators; owners for users they manage). */
  disable(userId: string, options?: RequestOptions): APIPromise<UserState> {
    return this.#t.request({ operationId: 'disableUser', path: { id: userId }, options });
  }

  /**
   * changePassword: change the signed-in user's password. Every token of the user ends, this client's
   * too; the client stores the fresh pair the server answers.
   */
  changePassword(body: ChangePasswordRequest, options?: RequestOptions): APIPromise<TokenPair> {
    const p = this.#t.request<TokenPair>({ operationId: 'changePassword', body, options });
    return new APIPromise(
      p.withResponse().then(async (r) => {
        await this.#t.tokens.store(r.data);
        return r;
      }),
    );
  }

  /** changeEmail: mail a link to the new address; the address changes when it is opened. */
  changeEmail(body: ChangeEmailRequest, options?: RequestOptions): APIPromise<EmailChange> {
    return this.#t.request({ operationId: 'changeEmail', body, options });
  }

  /** enableUser: restores sign-in (ended sessions stay ended). */
  enable(userId: string, options?: RequestOptions): APIPromise<UserState> {
    return this.#t.request({ operationId: 'enableUser', path: { id: userId }, options });
  }

  /** deleteUser: erases a user's account and personal data (platform operators; 409 for the last owner of a shared organization). */
  delete(userId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'deleteUser', path: { id: userId }, options });
  }

  /** deleteMe: deletes the signed-in user's own account, confirmed with the password (and a code with an authenticator app). */
  deleteMe(body: DeleteMeRequest, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'deleteMe', body, options });
  }
}

/** /api/v1/iam. */
export class IamResource {
  readonly users: UsersResource;
  constructor(t: Transport) {
    this.users = new UsersResource(t);
  }
}
