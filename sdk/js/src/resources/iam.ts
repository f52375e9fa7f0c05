import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise, PageParams } from '../pagination.js';
import type { Me, Member, UserState } from '../types.js';

/** /api/v1/iam/users: the users of the current organization. */
export class UsersResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
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

  /** enableUser: restores sign-in (ended sessions stay ended). */
  enable(userId: string, options?: RequestOptions): APIPromise<UserState> {
    return this.#t.request({ operationId: 'enableUser', path: { id: userId }, options });
  }
}

/** /api/v1/iam. */
export class IamResource {
  readonly users: UsersResource;
  constructor(t: Transport) {
    this.users = new UsersResource(t);
  }
}
