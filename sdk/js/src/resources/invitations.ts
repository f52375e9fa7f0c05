import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise, PageParams } from '../pagination.js';
import type { AcceptInvitationRequest, CreateInvitationRequest, Invitation, Organization } from '../types.js';

/** /api/v1/organizations/{id}/invitations: invitations by email, with or without an account (docs/invitations.md). */
export class OrgInvitationsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listInvitations: a page of the organization's pending invitations, oldest first. */
  list(organizationId: string, params?: PageParams, options?: RequestOptions): PagePromise<Invitation> {
    return this.#t.list({ operationId: 'listInvitations', path: { id: organizationId }, query: { ...params }, options });
  }

  /** createInvitation: invite an address with a role no higher than the caller's; the link goes by mail only. */
  create(organizationId: string, body: CreateInvitationRequest, options?: RequestOptions): APIPromise<Invitation> {
    return this.#t.request({ operationId: 'createInvitation', path: { id: organizationId }, body, options });
  }

  /** revokeInvitation: the link stops working. */
  revoke(organizationId: string, invitationId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'revokeInvitation', path: { id: organizationId, invitation_id: invitationId }, options });
  }
}

/** /api/v1/invitations. */
export class InvitationsResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** acceptInvitation: join as the signed-in user the invitation's address belongs to. */
  accept(body: AcceptInvitationRequest, options?: RequestOptions): APIPromise<Organization> {
    return this.#t.request({ operationId: 'acceptInvitation', body, options });
  }
}
