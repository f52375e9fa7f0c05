import type { APIPromise } from '../api-promise.js';
import type { RequestOptions, Transport } from '../core.js';
import type { PagePromise, PageParams } from '../pagination.js';
import { ConnectionsResource } from './connections.js';
import { OrgInvitationsResource } from './invitations.js';
import type {
  AddMemberRequest,
  CreateOrganizationRequest,
  Member,
  MFAPolicy,
  MFAPolicyRequest,
  Organization,
  OrganizationPlan,
  PlanRequest,
  UpdateMemberRequest,
} from '../types.js';

/** /api/v1/organizations/{id}/members. */
export class MembersResource {
  readonly #t: Transport;
  constructor(t: Transport) {
    this.#t = t;
  }

  /** listMembers: a page of the organization's members (organization.members.read). */
  list(organizationId: string, params?: PageParams, options?: RequestOptions): PagePromise<Member> {
    return this.#t.list({ operationId: 'listMembers', path: { id: organizationId }, query: { ...params }, options });
  }

  /** addMember: add an existing user by email with a role no higher than the caller's. */
  add(organizationId: string, body: AddMemberRequest, options?: RequestOptions): APIPromise<Member> {
    return this.#t.request({ operationId: 'addMember', path: { id: organizationId }, body, options });
  }

  /** updateMember: change a member's role. */
  update(organizationId: string, userId: string, body: UpdateMemberRequest, options?: RequestOptions): APIPromise<Member> {
    return this.#t.request({ operationId: 'updateMember', path: { id: organizationId, user_id: userId }, body, options });
  }

  /** removeMember. */
  remove(organizationId: string, userId: string, options?: RequestOptions): APIPromise<void> {
    return this.#t.request({ operationId: 'removeMember', path: { id: organizationId, user_id: userId }, options });
  }
}

/** /api/v1/organizations. */
export class OrganizationsResource {
  readonly #t: Transport;
  readonly members: MembersResource;
  readonly connections: ConnectionsResource;
  readonly invitations: OrgInvitationsResource;
  constructor(t: Transport) {
    this.#t = t;
    this.members = new MembersResource(t);
    this.connections = new ConnectionsResource(t);
    this.invitations = new OrgInvitationsResource(t);
  }

  /** listOrganizations: every organization the user belongs to (with their role), or the credential's one. */
  list(options?: RequestOptions): PagePromise<Organization> {
    return this.#t.list({ operationId: 'listOrganizations', options });
  }

  /** createOrganization: the calling user becomes its owner (users only). */
  create(body: CreateOrganizationRequest, options?: RequestOptions): APIPromise<Organization> {
    return this.#t.request({ operationId: 'createOrganization', body, options });
  }

  /** getOrganization. */
  get(organizationId: string, options?: RequestOptions): APIPromise<Organization> {
    return this.#t.request({ operationId: 'getOrganization', path: { id: organizationId }, options });
  }

  /** setOrganizationPlan: platform operators only. */
  setPlan(organizationId: string, body: PlanRequest, options?: RequestOptions): APIPromise<OrganizationPlan> {
    return this.#t.request({ operationId: 'setOrganizationPlan', path: { id: organizationId }, body, options });
  }

  /** getMfaPolicy: whether members must use a second factor (owners and admins). */
  getMfaPolicy(organizationId: string, options?: RequestOptions): APIPromise<MFAPolicy> {
    return this.#t.request({ operationId: 'getMfaPolicy', path: { id: organizationId }, options });
  }

  /** setMfaPolicy: require (or stop requiring) a second factor, with a grace period ("168h") to set one up. */
  setMfaPolicy(organizationId: string, body: MFAPolicyRequest, options?: RequestOptions): APIPromise<MFAPolicy> {
    return this.#t.request({ operationId: 'setMfaPolicy', path: { id: organizationId }, body, options });
  }
}
